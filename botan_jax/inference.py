"""Prediction and evaluation from a checkpoint or from the authors' weights.

`predict` writes, per input configuration, an npz with `node_pred` (N,),
`edge_index` (2, E: senders then receivers), `edge_pred` (E,) and
`model_digest` (a fingerprint of the model that wrote it), `source_stamp`
(that digest with the input file's fingerprint), and, when
the input holds trajectories, `node_target`, `edge_target`, `node_mask`,
`edge_mask`, `pearson_node` and `pearson_edge` (on the evaluation masks).
`evaluate` writes `evaluation.json` with the Pearson values per test file and
their means.
"""

import dataclasses
import hashlib
import json
import os
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from botan_jax import checkpoints
from botan_jax import graphs
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import metrics
from botan_jax import train


def load_params(config: ml_collections.ConfigDict, workdir: str | None) -> Any:
  """Parameters from `config.init_from` when set, else from the workdir's best (or latest)."""
  if config.init_from:
    if workdir:
      logging.warning('Predicting with init_from %s, not with the checkpoints of --workdir %s.',
                      config.init_from, workdir)
    checkpoints.check_init_source(config.init_from)
    return checkpoints.load_params(config.init_from)
  if not workdir:
    raise ValueError('Give --workdir (a training run) or --config.init_from.')
  return checkpoints.load_params(workdir)


def prediction_record(graph: Any, node_pred: np.ndarray, edge_pred: np.ndarray) -> dict:
  """The arrays written for one configuration (see the module docstring); `graph` unpadded."""
  num_nodes, num_edges = len(graph.nodes['valid']), len(graph.senders)
  record = dict(node_pred=np.asarray(node_pred[:num_nodes], np.float32),
                edge_index=np.stack([graph.senders, graph.receivers]).astype(np.int64),
                edge_pred=np.asarray(edge_pred[:num_edges], np.float32))
  if 'target' in graph.nodes:
    record.update(
        node_target=graph.nodes['target'], edge_target=graph.edges['target'],
        node_mask=graph.nodes['eval_mask'], edge_mask=graph.edges['eval_mask'],
        pearson_node=np.float64(metrics.pearson(record['node_pred'], graph.nodes['target'],
                                                graph.nodes['eval_mask'])),
        pearson_edge=np.float64(metrics.pearson(record['edge_pred'], graph.edges['target'],
                                                graph.edges['eval_mask'])))
  return record


def output_paths(inputs: list[str], output: str) -> list[str]:
  """Where predictions go: `output` itself when it names an .npz file and there is one
  input; otherwise the directory `output`, as `{input stem}_pred.npz`.

  Raises:
    ValueError: for several inputs and an .npz `output`, an existing file as
      the directory, or inputs whose output names clash.
  """
  if os.path.isfile(output) and not output.endswith('.npz'):
    raise ValueError(f'--output {output}: an existing file not ending in .npz; give a '
                     'directory, or an .npz path for a single input.')
  if output.endswith('.npz') and not os.path.isdir(output):
    if len(inputs) > 1:
      raise ValueError(f'--output {output} names one file, but {len(inputs)} inputs match; '
                       'give a directory.')
    return [output]
  destinations = [os.path.join(output, os.path.splitext(os.path.basename(p))[0] + '_pred.npz')
                  for p in inputs]
  first_input = {}
  for path, destination in zip(inputs, destinations):
    if destination in first_input:
      raise ValueError(f'{first_input[destination]} and {path} would both be written to '
                       f'{destination}; predict them into separate --output directories.')
    first_input[destination] = path
  return destinations


def model_digest(params: Any, config: ml_collections.ConfigDict) -> str:
  """A fingerprint of what predictions depend on: parameters, model, graphs and time index."""
  digest = hashlib.sha1(json.dumps([config.model.to_dict(), dataclasses.asdict(
      train.graph_spec(config)), config.data.pickle_time_index], sort_keys=True).encode())
  for leaf in jax.tree.leaves(params):
    digest.update(np.ascontiguousarray(leaf, np.float32).tobytes())
  return digest.hexdigest()


def _source_stamp(input_path: str, digest: str) -> str:
  """The model digest and the input file's fingerprint, as stored in each prediction."""
  return json.dumps([digest, io.file_fingerprint(input_path)])


def predicted_from(prediction: dict[str, np.ndarray]) -> str | None:
  """The input file a prediction's `source_stamp` names (None for older predictions)."""
  if 'source_stamp' not in prediction:
    return None
  _, (input_path, *_) = json.loads(str(prediction['source_stamp']))
  return input_path


def _written_by(path: str, stamp: str) -> bool:
  """Whether `path` holds a complete prediction with this `stamp` (same model, same input)."""
  if not os.path.exists(path):
    return False
  try:
    with np.load(path) as existing:
      return 'source_stamp' in existing.files and str(existing['source_stamp']) == stamp
  except io.NPZ_READ_ERRORS as err:
    logging.warning('%s: unreadable (%s); predicting it again.', path, err)
    return False


def predict(config: ml_collections.ConfigDict, workdir: str | None, input_pattern: str,
            output: str) -> list[str]:
  """Predicts every configuration matching `input_pattern`; returns the files written.

  A rerun skips the outputs that the same model wrote from the same, unchanged
  input (writes are atomic, so an existing file is complete); any other output
  is replaced. Inputs with and without trajectories may be mixed.
  """
  inputs = io.find_files(input_pattern)
  destinations = output_paths(inputs, output)
  params = load_params(config, workdir)
  digest = model_digest(params, config)
  todo = [(p, d) for p, d in zip(inputs, destinations)
          if not _written_by(d, _source_stamp(p, digest))]
  if len(todo) < len(inputs):
    logging.info('Skipping %d inputs whose predictions by this model exist.',
                 len(inputs) - len(todo))
  if not todo:
    return destinations
  loaded = [input_pipeline.load_graph(p, train.graph_spec(config), train.cache_dir(config),
                                      config.data.pickle_time_index) for p, _ in todo]
  budget = input_pipeline.padding_budget_of(loaded)
  predict_fn = train.make_predict_fn(train.create_model(config))
  for k, ((path, destination), graph) in enumerate(zip(todo, loaded)):
    node_pred, edge_pred = jax.device_get(predict_fn(params, graphs.pad(graph, *budget)))
    record = prediction_record(graph, node_pred, edge_pred)
    io.save_npz(destination, model_digest=np.array(digest),
                source_stamp=np.array(_source_stamp(path, digest)), **record)
    summary = (f' Pearson {config.node_target} {record["pearson_node"]:.4f}, '
               f'E {record["pearson_edge"]:.4f}'
               if 'pearson_node' in record else '')
    logging.info('[%d/%d] %s -> %s%s', k + 1, len(todo), path, destination, summary)
  return destinations


def evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Evaluates the workdir's best (or latest) checkpoint on the test files; writes evaluation.json."""
  test_files = io.find_files(config.data.test_pattern, config.data.time_index)
  params = checkpoints.load_params(workdir)
  test_set = input_pipeline.load_graph_set(test_files, train.graph_spec(config),
                                           train.cache_dir(config),
                                           time_index=config.data.pickle_time_index,
                                           require_targets=True)
  evaluation = train.evaluate_graphs(train.make_predict_fn(train.create_model(config)),
                                     params, test_set)
  io.save_json(os.path.join(workdir, 'evaluation.json'), evaluation)
  logging.info('Test Pearson over %d files: %s (type A) %.4f, E (A-A, r<%.2f) %.4f.',
               len(test_files), config.node_target, evaluation['pearson_node'],
               config.data.eval_bond_cutoff,
               evaluation['pearson_edge'])
  return evaluation

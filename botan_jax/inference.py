"""Prediction and evaluation from a checkpoint or from the authors' weights.

Both take the settings that give the parameters their meaning (architecture,
node target, edge cut-off, time index, loss_p, inputs) from the run, not from
the config they are given: see botan_jax/run_settings.py.

`predict` writes, per input configuration, an npz with `node_quantity` (the
node target the model predicts: S, R, D or C), `node_pred` (N,),
`edge_index` (2, E: senders then receivers), `edge_pred` (E,) and
`model_digest` (a fingerprint of the model that wrote it), `source_stamp`
(that digest with the input file's fingerprint), and, when
the input holds trajectories, `node_target`, `edge_target`, `node_mask`,
`edge_mask`, `pearson_node` and `pearson_edge` (on the evaluation masks; where
one is NaN, `pearson_node_undefined` / `pearson_edge_undefined` say why). An
input that cannot be read is reported and skipped; after writing the others,
`predict` raises `PartialFailure` (main.py: exit status 1).
`evaluate` writes `evaluation.json` with the Pearson values per test file and
their means, the checkpoint scored (kind, step, epoch), the test files and the
settings used.
"""

import dataclasses
import glob
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from botan_jax import checkpoints
from botan_jax import errors
from botan_jax import export
from botan_jax import graphs
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import layout
from botan_jax import metrics
from botan_jax import model_setup
from botan_jax import run_settings


class PartialFailure(errors.PartialFailure):
  """Raised by `predict` after it wrote every input it could: some inputs could not be read.

  The command line exits with status 1 on it (user errors exit with 2).

  Attributes:
    failures: input path -> why it was skipped.
    written: the predictions written or kept, one per other input.
  """

  def __init__(self, failures: dict[str, str], written: list[str]):
    self.failures, self.written = failures, written
    super().__init__(
        f'{len(failures)} of {len(failures) + len(written)} inputs could not be predicted and '
        f'were skipped ({", ".join(failures)}); the other {len(written)} predictions are written.')


def model_source(config: ml_collections.ConfigDict, workdir: str | None) -> str:
  """What predict reads: `config.init_from` when set, else the workdir's best (or latest)."""
  if config.init_from:
    if workdir:
      logging.warning('Predicting with init_from %s, not with the checkpoints of --workdir %s.',
                      config.init_from, workdir)
    checkpoints.check_init_source(config.init_from)
    return config.init_from
  if not workdir:
    raise errors.ConfigError('Give --workdir (a training run) or --config.init_from.')
  return workdir


def _model(source: str, config: ml_collections.ConfigDict, overridden: Iterable[str]
           ) -> tuple[run_settings.Loaded, ml_collections.ConfigDict]:
  """The parameters of `source` and the config to use them with (see run_settings)."""
  loaded = run_settings.load(source)
  merged = run_settings.merge_for_inference(loaded.settings, config, overridden, loaded.origin)
  return dataclasses.replace(loaded, params=model_setup.fit_encoder_inputs(loaded.params,
                                                                           merged)), merged


def prediction_record(graph: Any, node_pred: np.ndarray, edge_pred: np.ndarray,
                      node_quantity: str = 'S') -> dict:
  """The arrays written for one configuration (see the module docstring); `graph` unpadded.

  `node_quantity` names what the node outputs predict (the run's node_target: S, R, D or C).
  """
  num_nodes, num_edges = len(graph.nodes['valid']), len(graph.senders)
  record = dict(node_quantity=np.array(node_quantity),
                node_pred=np.asarray(node_pred[:num_nodes], np.float32),
                edge_index=np.stack([graph.senders, graph.receivers]).astype(np.int64),
                edge_pred=np.asarray(edge_pred[:num_edges], np.float32))
  if 'target' in graph.nodes:
    record.update(
        node_target=graph.nodes['target'], edge_target=graph.edges['target'],
        node_mask=graph.nodes['eval_mask'], edge_mask=graph.edges['eval_mask'],
        **metrics.graph_pearson(record['node_pred'], record['edge_pred'], graph.nodes,
                                graph.edges))
  return record


def output_paths(inputs: list[str], output: str) -> list[str]:
  """Where predictions go: `output` itself when it names an .npz file and there is one
  input; otherwise the directory `output`, as `{input stem}_pred.npz`.

  Raises:
    ValueError: for several inputs and an .npz `output`, an existing file as
      the directory, or inputs whose output names clash.
  """
  if os.path.isfile(output) and not output.endswith('.npz'):
    raise errors.ConfigError(f'--output {output}: an existing file not ending in .npz; give a '
                     'directory, or an .npz path for a single input.')
  if output.endswith('.npz') and not os.path.isdir(output):
    if len(inputs) > 1:
      raise errors.ConfigError(f'--output {output} names one file, but {len(inputs)} inputs match; '
                       'give a directory.')
    return [output]
  destinations = [os.path.join(output, layout.prediction_name(p))
                  for p in inputs]
  first_input = {}
  for path, destination in zip(inputs, destinations):
    if destination in first_input:
      raise errors.ConfigError(f'{first_input[destination]} and {path} would both be written to '
                       f'{destination}; predict them into separate --output directories.')
    first_input[destination] = path
  return destinations


def load_prediction(path: str) -> dict[str, np.ndarray]:
  """The arrays of one prediction file that `predict` wrote (keys in the module docstring)."""
  if not os.path.isfile(path):
    raise errors.NotFoundError(f'{path}: no such prediction file (write one with --mode=predict).')
  with np.load(path) as arrays:
    return {k: arrays[k] for k in arrays.files}


def prediction_files(inputs: Sequence[str]) -> list[str]:
  """The predict outputs named by `inputs`: files, directories (their *_pred.npz) or globs.

  Raises:
    FileNotFoundError: if an entry matches no file.
  """
  files = []
  for entry in inputs:
    if os.path.isdir(entry):
      matches = sorted(glob.glob(os.path.join(glob.escape(entry), '*' + layout.PREDICTION_SUFFIX)))
    elif os.path.isfile(entry):
      matches = [entry]
    else:
      matches = sorted(p for p in glob.glob(entry) if os.path.isfile(p))
    if not matches:
      raise errors.NotFoundError(f'{entry}: matches no prediction file (*_pred.npz; write them '
                                 'with --mode=predict).')
    files.extend(matches)
  return files


def model_digest(params: Any, config: ml_collections.ConfigDict) -> str:
  """A fingerprint of what predictions depend on: parameters, model, graphs, and which time and
  positions of an input are read (pickle index, GlassBench's time index and positions)."""
  inputs = dict(pickle_time_index=config.data.pickle_time_index,
                time_index=config.data.get('time_index'),
                glassbench_positions=config.data.get('glassbench_positions', 'initial'))
  digest = hashlib.sha1(json.dumps([config.model.to_dict(), model_setup.graph_spec(config).key(),
                                    inputs], sort_keys=True).encode())
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


def _undefined_pearson(record: dict[str, Any], config: ml_collections.ConfigDict,
                       num_edges: int) -> list[str]:
  """Why the Pearson values of a prediction record (or of a file's evaluation) are NaN, one
  phrase each; `num_edges` is its graph's."""
  reasons = []
  edges = f'A-A pairs with r(0) < {config.data.eval_bond_cutoff:g}'
  for key, name in (('pearson_node', f'{config.node_target} (type A)'),
                    ('pearson_edge', f'E ({edges})')):
    if record.get(f'{key}_undefined') == metrics.NO_TARGETS:
      continue  # Said once by the caller: a property of the files, not of this one.
    if f'{key}_undefined' in record:
      reasons.append(f'Pearson {name} undefined: {record[f"{key}_undefined"]}')
  if reasons and num_edges == 0:
    reasons.append(f'the graph has no edge (no pair within the edge cut-off '
                   f'{config.data.edge_cutoff:g}), so every particle of a type is predicted alike')
  return reasons


def _load_inputs(paths: list[str], config: ml_collections.ConfigDict,
                 read_options: io.ReadOptions | None = None
                 ) -> tuple[dict[str, Any], dict[str, str]]:
  """The graphs of the readable `paths`, and path -> why for the others."""
  loaded, failures = {}, {}
  for path in paths:
    try:
      loaded[path] = input_pipeline.load_graph(path, model_setup.graph_spec(config),
                                               model_setup.cache_dir(config),
                                               config.data.pickle_time_index, read_options,
                                               config.data.time_index,
                                               config.data.get('glassbench_positions', 'initial'))
    except io.DataError as err:
      failures[path] = str(err)  # The message starts with the path.
  return loaded, failures


def predict(config: ml_collections.ConfigDict, workdir: str | None, input_pattern: str,
            output: str, overridden: Iterable[str] = (),
            read_options: io.ReadOptions | None = None, write_extxyz: bool = False) -> list[str]:
  """Predicts every configuration matching `input_pattern`; returns the files written.

  The model is `config.init_from` when set, else the workdir's best (or
  latest) checkpoint, with its own settings (see run_settings; `overridden`:
  the fields the user set explicitly). A rerun skips the outputs that the same
  model wrote from the same, unchanged input (writes are atomic, so an
  existing file is complete); any other output is replaced. Inputs with and
  without trajectories may be mixed. `read_options` say how to read structure
  files (format, type map, frame, strict density; `io.load_sample`).
  `write_extxyz` also writes, beside each prediction, the extxyz and bond
  files of `export.write_for_ovito` (for OVITO).

  Raises:
    PartialFailure: after writing the others, when some inputs could not be read.
    io.DataError: when none could.
  """
  inputs = io.find_files(input_pattern)
  destinations = output_paths(inputs, output)
  loaded_model, config = _model(model_source(config, workdir), config, overridden)
  params = loaded_model.params
  digest = model_digest(params, config)
  todo = [(p, d) for p, d in zip(inputs, destinations)
          if not (_written_by(d, _source_stamp(p, digest))
                  and (not write_extxyz or export.written_for_ovito(d)))]
  if len(todo) < len(inputs):
    logging.info('Skipping %d inputs whose predictions by this model exist.',
                 len(inputs) - len(todo))
  if not todo:
    return destinations
  loaded, failures = _load_inputs([p for p, _ in todo], config, read_options)
  if len(inputs) == 1 and failures:
    raise io.DataError(failures[inputs[0]])
  for why in failures.values():
    logging.error('Skipped %s', why)
  if not loaded and len(todo) == len(inputs):
    raise io.DataError(f'{input_pattern}: none of the {len(inputs)} inputs could be read (each '
                       'is named above); nothing was predicted.')
  budget = graphs.budget_for(list(loaded.values())) if loaded else None
  predict_fn = model_setup.make_predict_fn(model_setup.create_model(config))
  for k, (path, destination) in enumerate([(p, d) for p, d in todo if p in loaded]):
    graph = loaded[path]
    node_pred, edge_pred = jax.device_get(predict_fn(params, graphs.pad(graph, *budget)))
    record = prediction_record(graph, node_pred, edge_pred, config.node_target)
    io.save_npz(destination, model_digest=np.array(digest),
                source_stamp=np.array(_source_stamp(path, digest)), **record)
    summary = (f' Pearson {config.node_target} {record["pearson_node"]:.4f}, '
               f'E {record["pearson_edge"]:.4f}'
               if 'pearson_node' in record else '')
    if write_extxyz:
      summary += ', ' + ', '.join(export.write_for_ovito(
          destination, io.load_sample(path, config.data.pickle_time_index,
                                      read_options=read_options), record))
    logging.info('[%d/%d] %s -> %s%s', k + 1, len(loaded), path, destination, summary)
    for reason in _undefined_pearson(record, config, len(graph.senders)):
      logging.warning('%s: %s.', path, reason)
  if failures:
    raise PartialFailure(failures, [d for p, d in zip(inputs, destinations) if p not in failures])
  return destinations


def evaluate(config: ml_collections.ConfigDict, workdir: str,
             overridden: Iterable[str] = ()) -> dict[str, Any]:
  """Evaluates the run's best (or latest) checkpoint on the test files; writes evaluation.json.

  The run's own settings are used (see run_settings; `overridden`: the fields
  the user set explicitly), its test pattern too unless data.test_pattern is
  among them.

  Returns:
    `model_setup.evaluate_graphs`'s metrics, with `checkpoint` (kind, step, epoch,
    directory), `test_files`, `settings` (those used) and `settings_from`.
  """
  loaded, config = _model(workdir, config, overridden)
  test_files = io.find_files(config.data.test_pattern, config.data.time_index)
  test_set = input_pipeline.load_graph_set(
      test_files, model_setup.graph_spec(config), model_setup.cache_dir(config),
      pickle_time_index=config.data.pickle_time_index, require_targets=True,
      time_index=config.data.time_index,
      glassbench_positions=config.data.get('glassbench_positions', 'initial'))
  predict_fn = model_setup.make_predict_fn(model_setup.create_model(config))
  evaluation = model_setup.evaluate_graphs(predict_fn, loaded.params, test_set)
  ref = loaded.checkpoint
  evaluation.update(
      checkpoint=dict(kind=ref.kind, step=ref.step, epoch=loaded.epoch, directory=ref.directory),
      test_files=list(test_files), settings=run_settings.reported(config),
      settings_from=loaded.origin)
  io.save_json(layout.run_file(workdir, layout.EVALUATION_FILE), evaluation)
  epoch = '' if loaded.epoch is None else f' (epoch {loaded.epoch})'
  logging.info('Evaluated checkpoint %s%s of %s on %d test files: Pearson %s (type A) %.4f, '
               'E (A-A, r(0)<%.2f) %.4f.', ref, epoch, workdir, len(test_files),
               config.node_target, evaluation['pearson_node'], config.data.eval_bond_cutoff,
               evaluation['pearson_edge'])
  if ref.step == 0:
    logging.warning('Checkpoint %s is the starting model, before any training step (untrained, '
                    'or the init_from weights): no later evaluation of the run scored higher. '
                    'Train longer, or check the learning rate.', ref)
  if all(r.get('pearson_edge_undefined') == metrics.NO_TARGETS
         for r in evaluation['per_file'].values()):
    logging.info('E is not scored: the test files hold no trajectories (GlassBench\'s hold S '
                 'only).')
  for k, (path, result) in enumerate(evaluation['per_file'].items()):
    num_edges = int(np.sum(test_set.graphs.edges['valid'][k]))
    for reason in _undefined_pearson(result, config, num_edges):
      logging.warning('%s: %s.', path, reason)
  return evaluation

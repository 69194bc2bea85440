"""Prediction and evaluation from a checkpoint or from the authors' weights.

`predict` writes, per input configuration, an npz with `node_pred` (N,),
`edge_index` (2, E: senders then receivers) and `edge_pred` (E,), and, when
the input holds trajectories, `node_target`, `edge_target`, `node_mask`,
`edge_mask`, `pearson_node` and `pearson_edge` (on the evaluation masks).
`evaluate` writes `evaluation.json` with the Pearson values per test file and
their means.
"""

import os
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from botan_jax import checkpoints
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import metrics
from botan_jax import train


def load_params(config: ml_collections.ConfigDict, workdir: str | None) -> Any:
  """Parameters from `config.init_from` when set, else from the workdir's best (or latest) checkpoint."""
  if config.init_from:
    return checkpoints.load_params(config.init_from)
  if not workdir:
    raise ValueError('Give --workdir (a training run) or --config.init_from.')
  return checkpoints.load_params(workdir)


def _unpad(graph_set: input_pipeline.GraphSet, k: int) -> Any:
  """The k-th graph of a set on the host, without its padding."""
  graph = jax.tree.map(lambda x: x[k], graph_set.graphs)
  nodes, edges = int(graph.n_node[0]), int(graph.n_edge[0])
  return graph._replace(
      nodes={key: v[:nodes] for key, v in graph.nodes.items()},
      edges={key: v[:edges] for key, v in graph.edges.items()},
      senders=graph.senders[:edges], receivers=graph.receivers[:edges])


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
  """One output file: `output` itself; several: `output/{input stem}_pred.npz`."""
  if len(inputs) == 1 and not os.path.isdir(output):
    return [output]
  return [os.path.join(output, os.path.splitext(os.path.basename(p))[0] + '_pred.npz')
          for p in inputs]


def predict(config: ml_collections.ConfigDict, workdir: str | None, input_pattern: str,
            output: str) -> list[str]:
  """Predicts every configuration matching `input_pattern`; returns the files written.

  A rerun skips outputs that already exist (writes are atomic).
  """
  inputs = io.find_files(input_pattern)
  params = load_params(config, workdir)
  destinations = output_paths(inputs, output)
  todo = [(p, d) for p, d in zip(inputs, destinations) if not os.path.exists(d)]
  if len(todo) < len(inputs):
    logging.info('Skipping %d inputs whose predictions exist.', len(inputs) - len(todo))
  if not todo:
    return destinations
  graph_set = input_pipeline.load_graph_set(
      [p for p, _ in todo], train.graph_spec(config), train.cache_dir(config),
      time_index=config.data.pickle_time_index)
  predict_fn = train.make_predict_fn(train.create_model(config))
  for k, (path, destination) in enumerate(todo):
    node_pred, edge_pred = jax.device_get(
        predict_fn(params, jax.tree.map(lambda x, k=k: x[k], graph_set.graphs)))
    record = prediction_record(_unpad(graph_set, k), node_pred, edge_pred)
    io.save_npz(destination, **record)
    summary = (f' Pearson S {record["pearson_node"]:.4f}, E {record["pearson_edge"]:.4f}'
               if 'pearson_node' in record else '')
    logging.info('[%d/%d] %s -> %s%s', k + 1, len(todo), path, destination, summary)
  return destinations


def evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Evaluates the workdir's best (or latest) checkpoint on the test files; writes evaluation.json."""
  test_files = io.find_files(config.data.test_pattern, config.data.time_index)
  params = checkpoints.load_params(workdir)
  test_set = input_pipeline.load_graph_set(test_files, train.graph_spec(config),
                                           train.cache_dir(config))
  evaluation = train.evaluate_graphs(train.make_predict_fn(train.create_model(config)),
                                     params, test_set)
  io.save_json(os.path.join(workdir, 'evaluation.json'), evaluation)
  logging.info('Test Pearson over %d files: S (type A) %.4f, E (A-A, r<%.2f) %.4f.',
               len(test_files), evaluation['pearson_node'], config.data.eval_bond_cutoff,
               evaluation['pearson_edge'])
  return evaluation

"""From a config to the objects that training, evaluation and prediction share.

The model of `config.model`, the graph definition of `config.data` and
`config.node_target`, the graph cache, the jitted forward pass, and the test
metrics of a padded graph set. train.py, inference.py and the Python API
(api.py) all build them here, so that a model trained by one is read the same
way by the others.
"""

from typing import Any

import jax
import jraph
import ml_collections
import numpy as np

from botan_jax import inherent
from botan_jax import input_pipeline
from botan_jax import metrics
from botan_jax import models

MODEL_DTYPES = ('float32', 'bfloat16')


def create_model(config: ml_collections.ConfigDict) -> models.Botan:
  """The BOTAN network of `config.model` (architecture, matmul precision, computation dtype)."""
  m = config.model
  return models.Botan(
      latent_size=m.latent_size, num_layers=m.num_layers,
      num_message_passing_steps=m.num_message_passing_steps,
      share_step_weights=m.share_step_weights, share_decoder=m.share_decoder,
      precision=m.precision or None, dtype=m.dtype)


def graphs_per_step(config: ml_collections.ConfigDict) -> int:
  """The global batch: `batch_size`, or 1 for BOTAN and 5 for NT-GNN (loss_p == 1)."""
  if config.batch_size > 0:
    return int(config.batch_size)
  return 5 if config.loss_p == 1.0 else 1


def minimizer_settings(config: ml_collections.ConfigDict) -> inherent.MinimizerSettings:
  """The inherent-structure minimiser of `config.data.inherent` (defaults where absent)."""
  given = config.data.get('inherent')
  settings = inherent.MinimizerSettings(**(given.to_dict() if given is not None else {}))
  settings.check()
  return settings


def graph_spec(config: ml_collections.ConfigDict) -> input_pipeline.GraphSpec:
  """How graphs are built: edge cut-off, evaluation bond cut-off (sigma_AA), node target and
  structure (thermal without a `data.structure`).

  Raises:
    errors.ConfigError: for an unknown structure or a minimiser setting out of range.
  """
  structure = config.data.get('structure', 'thermal')
  inherent.check_structure(structure)
  minimizer = minimizer_settings(config)  # Checked even where unused: a typo is a typo.
  return input_pipeline.GraphSpec(
      edge_cutoff=config.data.edge_cutoff, eval_bond_cutoff=config.data.eval_bond_cutoff,
      node_target=config.node_target, structure=structure,
      minimizer=None if structure == 'thermal' else minimizer)


def fit_encoder_inputs(params: Any, config: ml_collections.ConfigDict) -> Any:
  """`params` with the encoders' first layers widened to `config`'s structure by zero rows.

  A model trained on the paper's inputs (type; r_j - r_i) takes the wider
  inputs of structure 'both' with the new input columns' weights zero, so it
  predicts exactly what it predicts on thermal inputs, and a fine-tune starts
  from it. Parameters already as wide are returned unchanged.
  """
  widths = dict(zip(('node_encoder', 'edge_encoder'),
                    inherent.input_widths(config.data.get('structure', 'thermal'))))
  fitted = dict(params)
  for encoder, width in widths.items():
    if encoder not in params or 'layers_0' not in params[encoder]:
      continue
    kernel = np.asarray(params[encoder]['layers_0']['kernel'])
    if kernel.shape[0] < width:
      kernel = np.concatenate([kernel, np.zeros((width - kernel.shape[0], kernel.shape[1]),
                                                kernel.dtype)])
      fitted[encoder] = dict(params[encoder], layers_0=dict(params[encoder]['layers_0'],
                                                           kernel=kernel))
  return fitted


def cache_dir(config: ml_collections.ConfigDict) -> str | None:
  """The graph cache directory of `config.data.cache_dir`; None when it is unset or ''."""
  return config.data.get('cache_dir') or None


def make_predict_fn(model: models.Botan):
  """Jitted `predict(params, graph) -> (node_pred (N,), edge_pred (E,))` for one padded graph."""
  def predict(params: Any, graph: jraph.GraphsTuple) -> tuple[jax.Array, jax.Array]:
    return model.apply({'params': params}, graph)
  return jax.jit(predict)


def evaluate_graphs(predict, params: Any, graph_set: input_pipeline.GraphSet,
                    device_graphs: jraph.GraphsTuple | None = None) -> dict[str, Any]:
  """Test metrics of `params` on every graph of `graph_set`.

  Args:
    predict: a function of `make_predict_fn`.
    params: the model parameters.
    graph_set: padded graphs with targets, stacked (G, ...), on the host.
    device_graphs: the same graphs already on the devices (None: `graph_set`'s).

  Returns:
    per_file: Pearson of S (eval nodes) and E (eval edges) per file, with
      `pearson_node_undefined` / `pearson_edge_undefined` saying why where NaN;
    pearson_node, pearson_edge: their means over files (the paper's average);
    node_mse, edge_mse: mean squared errors over all valid nodes and edges of
      the set (the loss terms, for test-loss curves), in sigma_AA^2.
  """
  stacked = graph_set.graphs if device_graphs is None else device_graphs
  per_file = {}
  squared_errors_sum = np.zeros(2)
  for k, path in enumerate(graph_set.files):
    graph = jax.tree.map(lambda x, k=k: x[k], stacked)
    node_pred, edge_pred = jax.device_get(predict(params, graph))
    host = jax.tree.map(lambda x, k=k: x[k], graph_set.graphs)
    per_file[path] = metrics.graph_pearson(node_pred, edge_pred, host.nodes, host.edges)
    squared_errors_sum += [
        np.sum((node_pred - host.nodes['target'])[host.nodes['valid']] ** 2, dtype=np.float64),
        np.sum((edge_pred - host.edges['target'])[host.edges['valid']] ** 2, dtype=np.float64)]
  mean = {k: float(np.mean([v[k] for v in per_file.values()]))
          for k in ('pearson_node', 'pearson_edge')}
  counts = [np.sum(graph_set.graphs.nodes['valid']), np.sum(graph_set.graphs.edges['valid'])]
  node_mse, edge_mse = [float(total / count) if count else float('nan')
                        for total, count in zip(squared_errors_sum, counts)]
  return dict(per_file=per_file, node_mse=node_mse, edge_mse=edge_mse, **mean)

"""The Python API: a model with its settings, predictions from arrays or files, evaluation.

  model = botan_jax.load_model('runs/T044_t130')        # or a checkpoint, or 'pyg:model1.npz'
  prediction = model.predict(positions, types, box)     # (N, 3), (N,), L or (3,)
  prediction.node, prediction.edge, prediction.edge_index   # S_i (N,), E_ij (E,), (2, E)
  sample = botan_jax.read('isoconfig_N4096T0.44_401_tc07.npz')
  model.evaluate(sample).pearson_edge                   # on the paper's masks

A model carries the settings it was trained with (architecture, node target,
edge cut-off, inputs; run_settings.py), so nothing needs restating. Inputs are
checked as the file readers check them (`io.validate`), and a bad one raises
`io.DataError` naming the problem. The forward pass is jit-compiled once per
padding budget: configurations of one size and density share a budget, with
headroom for their differing numbers of edges (`graphs.choose_budget`); a new
budget logs a line. Graphs are built in memory: nothing is written.

Lengths are in units of sigma_AA.
"""

import dataclasses
import os
from typing import Any

import jax
import jraph
import ml_collections
import numpy as np
from absl import logging

from botan_jax import errors
from botan_jax import graphs
from botan_jax import inference
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import model_setup
from botan_jax import run_settings

BUDGET_HEADROOM = 0.05  # The fraction of nodes and edges a new padding budget leaves free.
_ARRAYS = 'model.predict'  # The source named in errors about predict's arrays.


@dataclasses.dataclass(frozen=True)
class Prediction:
  """A model's predictions for one configuration.

  Attributes:
    node: (N,) float32 node predictions of `node_target` (S_i: the propensity,
      the mean distance particle i travels in the isoconfigurational ensemble),
      in sigma_AA.
    edge: (E,) float32 predicted E_ij, the mean change of the distance of
      edge k's particles, from edge_index[0, k] to edge_index[1, k], in sigma_AA.
    edge_index: (2, E) int64 senders i, then receivers j: both directions of
      every pair closer than the edge cut-off at t=0, in (i, j) order.
    node_target: what `node` predicts: 'S', 'R', 'D' or 'C' (targets.NODE_TARGETS).
  """
  node: np.ndarray
  edge: np.ndarray
  edge_index: np.ndarray
  node_target: str


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """Pearson correlations of a model's predictions with one sample's targets (paper's masks).

  Attributes:
    pearson_node: Pearson r of the node target over the type-A particles;
      NaN where undefined.
    pearson_edge: Pearson r of E over the A-A pairs closer than the evaluation
      bond cut-off (1.35 sigma_AA) at t=0; NaN where undefined.
    node_target: the node target: 'S', 'R', 'D' or 'C'.
    pearson_node_undefined, pearson_edge_undefined: why the value is NaN
      (`metrics.pearson_with_reason`), None where it is defined.
  """
  pearson_node: float
  pearson_edge: float
  node_target: str
  pearson_node_undefined: str | None = None
  pearson_edge_undefined: str | None = None


def _network_inputs(graph: jraph.GraphsTuple) -> jraph.GraphsTuple:
  """The leaves the network reads (features, senders, receivers), so that graphs with and
  without targets share one compilation."""
  return graph._replace(nodes={'features': graph.nodes['features']},
                        edges={'features': graph.edges['features']})


class Model:
  """A BOTAN model: parameters and the settings that give them their meaning (`load_model`).

  Attributes:
    config: the config it infers with (`run_settings.merge_for_inference`):
      model (architecture, dtype, precision), node_target, loss_p and data
      (edge_cutoff, eval_bond_cutoff, time_index, ...).
    source: where it was loaded from.
    origin: where its settings came from.
  """

  def __init__(self, params: Any, config: ml_collections.ConfigDict, source: str, origin: str):
    self.config, self.source, self.origin = config, source, origin
    self._params = jax.device_put(params)
    self._spec = model_setup.graph_spec(config)
    self._forward = model_setup.make_predict_fn(model_setup.create_model(config))
    self._budgets: list[tuple[int, int]] = []

  @property
  def node_target(self) -> str:
    """What the node output predicts: 'S', 'R', 'D' or 'C'."""
    return self.config.node_target

  def __repr__(self) -> str:
    m = self.config.model
    return (f'Model({self.source!r}: node target {self.node_target}, latent '
            f'{m.latent_size}, {m.num_message_passing_steps} message-passing steps, edge '
            f'cut-off {self.config.data.edge_cutoff:g})')

  def predict(self, positions: np.ndarray, types: np.ndarray,
              box: float | np.ndarray) -> Prediction:
    """Predicts one configuration given as arrays.

    Args:
      positions: (N, 3) positions at t=0, in sigma_AA (wrapped into the box here).
      types: (N,) particle types, 0 (A) or 1 (B).
      box: the periodic box: a cubic edge length, or (3,) edge lengths.

    Raises:
      io.DataError: for wrong shapes, non-finite positions, types other than
        0 and 1, or a box narrower than twice the edge cut-off.
    """
    return self.predict_sample(_sample(positions, types, box))

  def predict_sample(self, sample: io.Sample) -> Prediction:
    """Predicts one configuration (`read`'s sample; its trajectories are not used)."""
    initial_only = dataclasses.replace(io.validate(sample), trajectory_positions=None,
                                       propensity=None)
    graph = input_pipeline.make_graph(initial_only, self._spec)
    record = inference.prediction_record(graph, *self._apply(graph), self.node_target)
    return Prediction(node=record['node_pred'], edge=record['edge_pred'],
                      edge_index=record['edge_index'], node_target=self.node_target)

  def evaluate(self, sample: io.Sample) -> Evaluation:
    """Pearson correlations with the sample's targets, on the paper's masks (see `Evaluation`).

    A sample with a stored propensity but no trajectories (GlassBench's) is
    scored on S alone: pearson_edge is NaN, with `metrics.NO_TARGETS` as why.

    Raises:
      io.DataError: if the sample has neither trajectories nor a propensity, so no targets.
    """
    io.validate(sample)
    if sample.trajectory_positions is None and sample.propensity is None:
      raise io.DataError(f'{sample.source}: no trajectories (positions), so no targets; '
                         'evaluate needs them (predict_sample does not).')
    graph = input_pipeline.make_graph(sample, self._spec)
    record = inference.prediction_record(graph, *self._apply(graph), self.node_target)
    return Evaluation(pearson_node=record['pearson_node'], pearson_edge=record['pearson_edge'],
                      node_target=self.node_target,
                      pearson_node_undefined=record.get('pearson_node_undefined'),
                      pearson_edge_undefined=record.get('pearson_edge_undefined'))

  def _apply(self, graph: jraph.GraphsTuple) -> tuple[np.ndarray, np.ndarray]:
    """The padded forward pass of one unpadded graph: node (>= N,) and edge (>= E,) outputs."""
    num_nodes, num_edges = int(graph.n_node[0]), int(graph.n_edge[0])
    budget = graphs.choose_budget(num_nodes, num_edges, self._budgets, BUDGET_HEADROOM)
    if budget not in self._budgets:
      logging.info('Compiling for budget (%d nodes, %d edges): a graph of %d nodes and %d '
                   'edges.', *budget, num_nodes, num_edges)
      self._budgets.append(budget)
    padded = graphs.pad(_network_inputs(graph), *budget)
    return jax.device_get(self._forward(self._params, padded))


def _sample(positions: Any, types: Any, box: Any) -> io.Sample:
  """A validated sample of predict's arrays, positions wrapped into the box."""
  try:
    positions = np.asarray(positions, np.float64)
    box = np.asarray(box, np.float64)
  except (TypeError, ValueError) as err:
    raise io.DataError(f'{_ARRAYS}: positions and box must be arrays of numbers ({err}).'
                       ) from None
  if box.ndim == 0:
    box = np.full(3, float(box))
  sample = io.validate(io.Sample(
      initial_positions=positions, types=io.particle_types(types, _ARRAYS), box=box,
      trajectory_positions=None, temperature=None, time=None, source=_ARRAYS))
  return dataclasses.replace(sample, initial_positions=graphs.wrap(positions, box))


def _check_precision(precision: str) -> None:
  try:
    jax.lax.Precision(precision)
  except ValueError:
    raise errors.ConfigError(f'precision {precision!r}: not a matmul precision; give '
                             "'highest', 'high' or 'default'.") from None


def load_model(source: str | os.PathLike, *, dtype: str | None = None, precision: str | None = None,
               eval_bond_cutoff: float | None = None) -> Model:
  """A model with the settings of its run.

  Args:
    source: a run directory (its best checkpoint, else its latest), an Orbax
      checkpoint directory or one of its steps, or 'pyg:PATH' (the authors'
      weights, with the paper's settings).
    dtype: the layers' computation dtype, 'float32' (default) or 'bfloat16'.
    precision: the matmul precision, 'highest' (default), 'high' or 'default'.
    eval_bond_cutoff: the A-A pair length (sigma_AA) below which `evaluate`
      scores E; default the paper's 1.35.

  Raises:
    errors.NotFoundError: if `source` holds no checkpoint or weight file.
    errors.ConfigError: for an unknown dtype or precision, or a source that
      stores no settings (its architecture would be a guess).
  """
  if dtype is not None and dtype not in model_setup.MODEL_DTYPES:
    raise errors.ConfigError(
        f'dtype {dtype!r}: give one of {", ".join(model_setup.MODEL_DTYPES)}.')
  if precision is not None:
    _check_precision(precision)
  source = os.fspath(source)
  with errors.as_user_errors(FileNotFoundError):
    loaded = run_settings.load(source)
  if loaded.settings is None:
    raise errors.ConfigError(
        f'{source}: its checkpoints store no settings and no config.json lies beside them, so '
        'its architecture and node target are unknown; use the command line with the config it '
        'was trained with (--mode=predict).')
  given = run_settings.inference_config(dtype=dtype, precision=precision,
                                        eval_bond_cutoff=eval_bond_cutoff)
  config = run_settings.merge_for_inference(loaded.settings, given, origin=loaded.origin)
  return Model(model_setup.fit_encoder_inputs(loaded.params, config), config, source,
               loaded.origin)


def read(path: str | os.PathLike, *, pickle_time_index: int = 0, time_index: int | None = None,
         glassbench_positions: str = 'initial', format: str | None = None,  # pylint: disable=redefined-builtin
         type_map: str | None = None, frame: int = 0, strict: bool = False) -> io.Sample:
  """One configuration from a file, checked (`io.load_sample`).

  Args:
    path: a BOTAN npz, a DeepMind pickle, a LAMMPS data file (.data, .lmp) or
      text dump (.lammpstrj, .dump), an extxyz (.extxyz, .xyz) or a GSD file.
    pickle_time_index: the 0-based time index of a DeepMind pickle (an npz
      holds one time, named in its file name).
    time_index: the 1-based index into a GlassBench file's ten times (its
      `propensity` is S there); required for those files.
    glassbench_positions: which of a GlassBench file's positions are the
      configuration: 'initial' (default), 'inherent' or 'cage'.
    format: the format when the suffix does not say it: 'npz', 'pickle',
      'lammps-data', 'lammps-dump', 'extxyz' or 'gsd'.
    type_map: a structure file's types to A and B, e.g. '1:A,2:B' (the
      default, with names A and B) or 'Ar:A,Ne:B'.
    frame: the 0-based frame of a dump, extxyz or GSD with several (default 0).
    strict: refuse a number density more than 1% off 1.2 (default: a warning).

  Raises:
    io.DataError: naming the file, if it is missing, unreadable or inconsistent
      (a third atom type, a box that is not cubic and periodic, ...).
  """
  return io.load_sample(os.fspath(path), pickle_time_index, read_options=io.ReadOptions(
      format=format, type_map=type_map, frame=frame, strict=strict), time_index=time_index,
                        glassbench_positions=glassbench_positions)

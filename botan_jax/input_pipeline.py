"""From dataset files to padded, stacked graphs on the device, and augmentation.

One example is a `jraph.GraphsTuple` (numpy leaves) holding
  nodes: features (N, 1) float32 (the type; (N, 3) with the inherent
         structure's columns for structure 'both'), eval_mask (N,) bool, valid (N,) bool,
         target (N,) float32 when the sample has trajectories (S, or the
         node target that GraphSpec.node_target names) or a stored propensity
         (GlassBench: S only);
  edges: features (E, 3) float32 (r_j - r_i; (E, 6) for 'both'), eval_mask (E,) bool,
         valid (E,) bool,
         target (E,) float32 when the sample has trajectories; NaN for a sample
         with a stored propensity but no trajectories (no E: train it with
         loss_p = 1, where the edge term is never computed).
`valid` is False on padding only, so padding never enters a loss, a mean or a
Pearson value; `eval_mask` selects the paper's evaluation subsets.
"""

import dataclasses
import hashlib
import json
import os

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from absl import logging

from botan_jax import glassbench
from botan_jax import graphs
from botan_jax import inherent
from botan_jax import io
from botan_jax import layout
from botan_jax import targets

# Bump when the content of cached graphs, or the checks their files pass, change
# (2: stored times checked against the corrected Table I; 3: GlassBench files, keyed by
# time index and structure).
_CACHE_VERSION = 3


@dataclasses.dataclass(frozen=True)
class GraphSpec:
  """What defines a graph built from a sample (the cache key besides the file).

  `structure` picks the network's inputs (`inherent.STRUCTURES`: thermal, the
  paper's; inherent; both) and `minimizer` how inherent structures are made
  (None for thermal).
  """
  edge_cutoff: float = 2.0
  eval_bond_cutoff: float = 1.35
  node_target: str = 'S'  # One of targets.NODE_TARGETS.
  structure: str = 'thermal'
  minimizer: inherent.MinimizerSettings | None = None

  def key(self) -> dict:
    """The spec as the cache key and model digest see it: thermal graphs keep their old key."""
    fields = dataclasses.asdict(self)
    if self.structure == 'thermal':
      del fields['structure'], fields['minimizer']
    return fields


def _pair_geometry(positions: np.ndarray, box: np.ndarray, cutoff: float):
  """Directed edges of the pairs of `positions` closer than `cutoff`, and their pairs' vectors.

  Returns (pairs (P, 2), senders, receivers, pair_index, orientation) as graphs.directed_edges.
  """
  pairs = graphs.neighbor_pairs(positions, box, cutoff)
  return (pairs, *graphs.directed_edges(pairs))


def _pair_vectors(positions: np.ndarray, pairs: np.ndarray, box: np.ndarray) -> np.ndarray:
  """(P, 3) minimum-image r_j - r_i of each pair (i, j)."""
  return graphs.minimum_image(positions[pairs[:, 1]] - positions[pairs[:, 0]], box)


def make_graph(sample: io.Sample, spec: GraphSpec = GraphSpec(),
               inherent_structure: tuple[np.ndarray, np.ndarray] | None = None
               ) -> jraph.GraphsTuple:
  """Builds the unpadded example graph of one sample (see the module docstring).

  Args:
    sample: the configuration (and its runs, for targets).
    spec: the graph definition.
    inherent_structure: (positions (N, 3), per-particle energies (N,)) of the
      sample's inherent structure, for spec.structure inherent or both; made
      here (`inherent.inherent_structure`, uncached) when None.

  Raises:
    io.DataError: naming the sample's file, if its box is narrower than twice
      the edge cut-off (periodic images would repeat).
  """
  if spec.edge_cutoff > 0.5 * float(np.min(sample.box)):
    raise io.DataError(f'{sample.source}: the box {sample.box.tolist()} is too small for the '
                       f'edge cut-off {spec.edge_cutoff}: each length must be at least twice it.')
  if spec.structure != 'thermal' and inherent_structure is None:
    inherent_structure = inherent.inherent_structure(
        sample, spec.minimizer or inherent.MinimizerSettings())
  box, thermal = sample.box, sample.initial_positions
  # The edges: pairs within the cut-off in the thermal configuration, or in the inherent one.
  edge_positions = inherent_structure[0] if spec.structure == 'inherent' else thermal
  pairs, senders, receivers, pair_index, orientation = _pair_geometry(
      edge_positions, box, spec.edge_cutoff)
  directed = lambda pair_vectors: orientation[:, None] * pair_vectors[pair_index]
  thermal_vectors = _pair_vectors(thermal, pairs, box)
  edge_features = directed(_pair_vectors(edge_positions, pairs, box))
  node_features = sample.types.astype(np.float64)[:, None]
  if spec.structure == 'both':
    inherent_positions, inherent_energies = inherent_structure
    edge_features = np.concatenate(
        [edge_features, directed(_pair_vectors(inherent_positions, pairs, box))], axis=1)
    vibration = np.linalg.norm(graphs.minimum_image(thermal - inherent_positions, box), axis=1)
    node_features = np.concatenate(
        [node_features, vibration[:, None], inherent_energies[:, None]], axis=1)
  # Targets and masks are the thermal configuration's, whatever the inputs.
  node_mask, edge_mask = targets.evaluation_masks(
      sample.types, senders, receivers,
      np.linalg.norm(thermal_vectors, axis=1)[pair_index], spec.eval_bond_cutoff)
  num_nodes, num_edges = sample.num_particles, senders.shape[0]
  nodes = dict(features=node_features.astype(np.float32), eval_mask=node_mask,
               valid=np.ones(num_nodes, bool))
  edges = dict(features=edge_features.astype(np.float32), eval_mask=edge_mask,
               valid=np.ones(num_edges, bool))
  if sample.trajectory_positions is not None:
    nodes['target'] = targets.node_target(
        spec.node_target, thermal, sample.trajectory_positions, box).astype(np.float32)
    edges['target'] = targets.pair_distance_change(
        thermal, sample.trajectory_positions, pairs, box)[pair_index].astype(np.float32)
  elif sample.propensity is not None:
    if spec.node_target != 'S':
      raise io.DataError(f'{sample.source}: holds the propensity S only, no trajectories, so '
                         f'no node target {spec.node_target}; use node_target S.')
    nodes['target'] = sample.propensity.astype(np.float32)
    edges['target'] = np.full(num_edges, np.nan, np.float32)
  return jraph.GraphsTuple(
      nodes=nodes, edges=edges, senders=senders.astype(np.int32),
      receivers=receivers.astype(np.int32), n_node=np.array([num_nodes], np.int32),
      n_edge=np.array([num_edges], np.int32), globals=None)


def _cache_path(path: str, spec: GraphSpec, cache_dir: str, pickle_time_index: int | None,
                read_options: io.ReadOptions | None = None,
                glassbench: dict | None = None) -> str:
  options = [] if read_options in (None, io.ReadOptions()) else dataclasses.asdict(read_options)
  key = json.dumps([io.file_fingerprint(path), spec.key(), pickle_time_index,
                    _CACHE_VERSION] + ([options] if options else [])
                   + ([glassbench] if glassbench else []))
  digest = hashlib.sha1(key.encode()).hexdigest()[:16]
  return layout.cache_entry(cache_dir, path, digest, 'graph')


def _save_graph(path: str, graph: jraph.GraphsTuple) -> None:
  io.save_npz(path, senders=graph.senders, receivers=graph.receivers,
              **{f'nodes/{k}': v for k, v in graph.nodes.items()},
              **{f'edges/{k}': v for k, v in graph.edges.items()})


def _load_graph(path: str) -> jraph.GraphsTuple:
  with np.load(path) as arrays:
    data = {k: arrays[k] for k in arrays.files}
  nodes = {k.split('/', 1)[1]: v for k, v in data.items() if k.startswith('nodes/')}
  edges = {k.split('/', 1)[1]: v for k, v in data.items() if k.startswith('edges/')}
  return jraph.GraphsTuple(
      nodes=nodes, edges=edges, senders=data['senders'], receivers=data['receivers'],
      n_node=np.array([len(nodes['valid'])], np.int32),
      n_edge=np.array([len(edges['valid'])], np.int32), globals=None)


def load_graph(path: str, spec: GraphSpec = GraphSpec(), cache_dir: str | None = None,
               pickle_time_index: int | None = None,
               read_options: io.ReadOptions | None = None, time_index: int | None = None,
               glassbench_positions: str = 'initial') -> jraph.GraphsTuple:
  """The example graph of one dataset file, from the cache when it holds it.

  Args:
    path: a BOTAN npz or DeepMind pickle.
    spec: graph definition.
    cache_dir: where built graphs are kept (None: no cache). Entries are keyed
      by the file's `io.file_fingerprint`, by `spec` and, for pickles, by
      `pickle_time_index`; an unreadable entry is rebuilt.
    pickle_time_index: 0-based time index for DeepMind pickles.
    read_options: format, type map, frame and strictness for files that need
      them (LAMMPS, extxyz, GSD; `io.load_sample`), part of the cache key.
    time_index, glassbench_positions: the 1-based time index and the positions
      read of a GlassBench file (`io.load_sample`), part of its cache key.
  """
  cached = None
  if cache_dir is not None:
    # Only pickles hold several times; an npz is one graph whatever the index.
    key_index = pickle_time_index if path.endswith(('.pickle', '.pkl')) else None
    glassbench_options = (dict(time_index=time_index, positions=glassbench_positions)
                          if glassbench.is_glassbench(path) else None)
    cached = _cache_path(path, spec, cache_dir, key_index, read_options, glassbench_options)
    if os.path.exists(cached):
      try:
        return _load_graph(cached)
      except (*io.NPZ_READ_ERRORS, KeyError) as err:
        logging.warning('%s: unreadable cache entry (%s); rebuilding it.', cached, err)
  sample = io.load_sample(path, pickle_time_index, read_options=read_options,
                          time_index=time_index, glassbench_positions=glassbench_positions)
  structure = (None if spec.structure == 'thermal' else inherent.inherent_structure(
      sample, spec.minimizer or inherent.MinimizerSettings(), cache_dir))
  graph = make_graph(sample, spec, structure)
  if cached is not None:
    _save_graph(cached, graph)
  return graph


@dataclasses.dataclass(frozen=True)
class GraphSet:
  """Equally padded graphs stacked along axis 0, with the files they came from.

  Attributes:
    graphs: leaves of shape (G, num_nodes_padded, ...) and (G, num_edges_padded, ...).
    files: the G source files, in order.
  """
  graphs: jraph.GraphsTuple
  files: tuple[str, ...]

  def __len__(self) -> int:
    return len(self.files)


def load_graph_set(files: list[str], spec: GraphSpec = GraphSpec(),
                   cache_dir: str | None = None, budget: tuple[int, int] | None = None,
                   pickle_time_index: int | None = None, require_targets: bool = False,
                   time_index: int | None = None, glassbench_positions: str = 'initial',
                   require_edge_targets: bool = False) -> GraphSet:
  """Loads, pads to one budget and stacks the graphs of `files`.

  Args:
    budget: (nodes, edges) after padding; by default the smallest multiple of
      256 above the largest graph.
    require_targets: fail unless every file holds targets (training and
      evaluation); otherwise the files must agree on having them.
    time_index, glassbench_positions: for GlassBench files (`load_graph`).
    require_edge_targets: fail for a file without bond targets E (GlassBench's
      propensities only), when a loss on E is asked for (loss_p < 1).

  Raises:
    io.DataError: naming the file, where targets are missing as described.
  """
  loaded = []
  for k, path in enumerate(files):
    loaded.append(load_graph(path, spec, cache_dir, pickle_time_index, time_index=time_index,
                             glassbench_positions=glassbench_positions))
    if (k + 1) % 50 == 0 or k + 1 == len(files):
      logging.info('Graphs: %d/%d loaded.', k + 1, len(files))
  with_targets = ['target' in g.nodes for g in loaded]
  if require_targets and not all(with_targets):
    raise io.DataError(f'{files[with_targets.index(False)]}: no trajectories (positions), so no '
                       'targets; training and evaluation need them.')
  if require_edge_targets:
    for path, graph in zip(files, loaded):
      edge_targets = graph.edges.get('target')
      if edge_targets is not None and edge_targets.size and np.isnan(edge_targets).all():
        raise io.DataError(f'{path}: a propensity but no trajectories, so no bond targets E; '
                           'train on it with loss_p 1, S only (--config.loss_p=1; in a '
                           'sweep --config.train.loss_p=1).')
  if len(set(with_targets)) > 1:
    raise io.DataError(f'{files[with_targets.index(False)]} has no trajectories but '
                       f'{files[with_targets.index(True)]} has: one set cannot mix the two.')
  if budget is None:
    budget = graphs.budget_for(loaded)
  padded = [graphs.pad(g, *budget) for g in loaded]
  return GraphSet(graphs=graphs.stack(padded), files=tuple(files))


def random_axis_transform(key: jax.Array) -> jax.Array:
  """A random permutation of the axes with random reflections, as a (3, 3) matrix.

  The authors' augmentation: one of the 48 symmetries of the cube.
  """
  permutation_key, sign_key = jax.random.split(key)
  permutation = jax.random.permutation(permutation_key, jnp.eye(3))
  signs = jax.random.rademacher(sign_key, (3,), dtype=jnp.float32)
  return permutation * signs[None, :]


def random_rotation(key: jax.Array) -> jax.Array:
  """A uniformly random proper rotation (3, 3), from a normalised random quaternion."""
  q = jax.random.normal(key, (4,))
  w, x, y, z = q / jnp.linalg.norm(q)
  return jnp.array([
      [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
      [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
      [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


AUGMENTATIONS = {'axes': random_axis_transform, 'rotation': random_rotation}


def augment(graph: jraph.GraphsTuple, key: jax.Array, kind: str) -> jraph.GraphsTuple:
  """Applies one random transform of `kind` ('axes', 'rotation' or 'none') to the edge vectors.

  Targets are invariant: distances and their changes do not depend on the frame.
  """
  if kind == 'none':
    return graph
  transform = AUGMENTATIONS[kind](key)
  features = graph.edges['features']  # (E, 3k): k vectors, e.g. r_ij(0) and r_ij of the IS.
  rotated = (features.reshape(features.shape[0], -1, 3) @ transform.T).reshape(features.shape)
  edges = dict(graph.edges, features=rotated)
  return graph._replace(edges=edges)

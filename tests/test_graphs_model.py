"""Graphs, targets, padding and model options on small synthetic configurations."""

import os

import jax
import jax.numpy as jnp
import jraph
import numpy as np
import pytest

from botan_jax import graphs
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import models
from botan_jax import targets
from tests import synthetic


def brute_force_pairs(positions, box, cutoff):
  d = graphs.minimum_image(positions[None, :, :] - positions[:, None, :], box)
  dist = np.linalg.norm(d, axis=-1)
  i, j = np.nonzero(np.triu(dist < cutoff, k=1))
  return set(zip(i.tolist(), j.tolist()))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_neighbor_pairs_equal_brute_force_under_periodic_boundaries(seed):
  sample = synthetic.random_sample(300, seed=seed)
  shifted = sample.initial_positions + sample.box * np.random.default_rng(seed).integers(
      -2, 3, size=sample.initial_positions.shape)  # Unwrapped input is wrapped first.
  pairs = graphs.neighbor_pairs(shifted, sample.box, 2.0)
  assert set(map(tuple, pairs.tolist())) == brute_force_pairs(sample.initial_positions,
                                                              sample.box, 2.0)
  assert np.all(pairs[:, 0] < pairs[:, 1])


def test_cutoff_is_strict_and_no_self_edges():
  box = np.full(3, 6.0)
  positions = np.array([[0.5, 0.5, 0.5], [2.5, 0.5, 0.5], [5.5, 0.5, 0.5], [0.5, 3.0, 0.5]])
  pairs = {tuple(p) for p in graphs.neighbor_pairs(positions, box, 2.0).tolist()}
  assert pairs == {(0, 2)}  # 0-1 at exactly 2.0 is out; 0-2 at 1.0 across the boundary is in.
  with pytest.raises(ValueError, match='exceeds half the box'):
    graphs.neighbor_pairs(positions, box, 3.5)


def test_directed_edges_are_lexicographic_and_features_antisymmetric():
  graph = input_pipeline.make_graph(synthetic.random_sample(200))
  keys = graph.senders.astype(np.int64) * 1000 + graph.receivers
  assert np.all(np.diff(keys) > 0) and np.all(graph.senders != graph.receivers)
  index = {(s, r): k for k, (s, r) in enumerate(zip(graph.senders, graph.receivers))}
  reverse = np.array([index[(r, s)] for s, r in zip(graph.senders, graph.receivers)])
  np.testing.assert_allclose(graph.edges['features'][reverse], -graph.edges['features'])
  np.testing.assert_allclose(graph.edges['target'][reverse], graph.edges['target'])
  assert graph.edges['features'].dtype == np.float32 and graph.nodes['features'].shape == (200, 1)


def test_targets_of_a_translation_and_of_one_displaced_particle():
  sample = synthetic.random_sample(100)
  shift = np.array([0.3, -0.2, 7.0])  # Crosses the box: unwrapped S, minimum-image E.
  runs = np.stack([sample.initial_positions + shift] * 3)
  np.testing.assert_allclose(targets.displacement(sample.initial_positions, runs),
                             np.linalg.norm(shift))
  pairs = graphs.neighbor_pairs(sample.initial_positions, sample.box, 2.0)
  np.testing.assert_allclose(
      targets.pair_distance_change(sample.initial_positions, runs, pairs, sample.box), 0,
      atol=1e-12)
  moved = sample.initial_positions.copy()[None]
  moved[0, 0] += np.array([0.1, 0.0, 0.0])
  change = targets.pair_distance_change(sample.initial_positions, moved, pairs, sample.box)
  touching = np.any(pairs == 0, axis=1)
  np.testing.assert_allclose(change[~touching], 0, atol=1e-12)
  assert np.all(np.abs(change[touching]) > 1e-6)
  for (i, j), value in zip(pairs[touching], change[touching]):
    before = np.linalg.norm(graphs.minimum_image(
        sample.initial_positions[j] - sample.initial_positions[i], sample.box))
    after = np.linalg.norm(graphs.minimum_image(moved[0, j] - moved[0, i], sample.box))
    assert value == pytest.approx(after - before)


def test_evaluation_masks_select_type_a_and_short_a_a_bonds():
  types = np.array([0, 0, 1])
  senders, receivers = np.array([0, 1, 0, 2]), np.array([1, 0, 2, 0])
  node_mask, edge_mask = targets.evaluation_masks(types, senders, receivers,
                                                  np.array([1.0, 1.4, 1.0, 1.0]))
  assert node_mask.tolist() == [True, True, False]
  assert edge_mask.tolist() == [True, False, False, False]


@pytest.fixture(scope='module')
def small_graphs():
  return [input_pipeline.make_graph(synthetic.random_sample(n, seed=n)) for n in (150, 170)]


def test_padding_and_merging_do_not_change_predictions(small_graphs):
  model = models.Botan(latent_size=16)
  params = model.init(jax.random.PRNGKey(0), small_graphs[0])['params']
  apply = jax.jit(model.apply)
  unpadded = [apply({'params': params}, g) for g in small_graphs]
  budget = graphs.padding_budget(170, max(len(g.senders) for g in small_graphs))
  stacked = graphs.stack([graphs.pad(g, *budget) for g in small_graphs])
  merged_nodes, merged_edges = apply({'params': params}, graphs.merge(stacked))
  for k, (g, (node_pred, edge_pred)) in enumerate(zip(small_graphs, unpadded)):
    n, e = len(g.nodes['valid']), len(g.senders)
    np.testing.assert_allclose(merged_nodes[k * budget[0]:k * budget[0] + n], node_pred,
                               atol=1e-5)
    np.testing.assert_allclose(merged_edges[k * budget[1]:k * budget[1] + e], edge_pred,
                               atol=1e-5)
  assert not stacked.nodes['valid'][:, 170:].any() and not stacked.edges['valid'][0, e:].any()


def test_merge_matches_jraph_batch(small_graphs):
  budget = graphs.padding_budget(170, max(len(g.senders) for g in small_graphs))
  padded = [graphs.pad(g, *budget) for g in small_graphs]
  merged = graphs.merge(graphs.stack(padded))
  batched = jraph.batch(padded)
  np.testing.assert_array_equal(merged.senders, batched.senders)
  np.testing.assert_array_equal(merged.receivers, batched.receivers)
  np.testing.assert_array_equal(merged.edges['features'], batched.edges['features'])


@pytest.mark.parametrize('share_step_weights,share_decoder', [(False, True), (True, False)])
def test_model_options(small_graphs, share_step_weights, share_decoder):
  model = models.Botan(latent_size=8, num_layers=3, num_message_passing_steps=3,
                       share_step_weights=share_step_weights, share_decoder=share_decoder)
  params = model.init(jax.random.PRNGKey(0), small_graphs[0])['params']
  names = set(params)
  if share_step_weights:
    assert {'edge_update', 'node_update'} <= names
  else:
    assert {f'edge_update_{k}' for k in range(3)} <= names and 'edge_update' not in names
  assert ('decoder' in names) == share_decoder
  assert ({'node_decoder', 'edge_decoder'} <= names) == (not share_decoder)
  assert set(params['node_encoder']) == {'layers_0', 'layers_1', 'layers_2'}
  node_pred, edge_pred = model.apply({'params': params}, small_graphs[0])
  assert node_pred.shape == (150,) and edge_pred.shape == (len(small_graphs[0].senders),)
  assert np.isfinite(node_pred).all() and np.isfinite(edge_pred).all()


def test_augmentations_are_orthogonal_and_keep_targets(small_graphs):
  for kind in ('axes', 'rotation'):
    for seed in range(5):
      matrix = np.asarray(input_pipeline.AUGMENTATIONS[kind](jax.random.PRNGKey(seed)))
      np.testing.assert_allclose(matrix @ matrix.T, np.eye(3), atol=1e-5)
      if kind == 'axes':
        assert set(np.abs(matrix).sum(axis=0).tolist()) == {1.0}
      else:
        assert np.linalg.det(matrix) == pytest.approx(1.0, abs=1e-5)
    graph = jax.tree.map(jnp.asarray, small_graphs[0])
    moved = input_pipeline.augment(graph, jax.random.PRNGKey(1), kind)
    np.testing.assert_allclose(np.linalg.norm(moved.edges['features'], axis=1),
                               np.linalg.norm(graph.edges['features'], axis=1), rtol=1e-5)
    np.testing.assert_array_equal(moved.edges['target'], graph.edges['target'])


def test_graph_cache_returns_the_built_graph_and_follows_file_changes(tmp_path):
  path, = synthetic.write_botan_files(tmp_path / 'data', 1)
  cache = str(tmp_path / 'cache')
  built = input_pipeline.load_graph(path, cache_dir=cache)
  assert len(os.listdir(cache)) == 1
  cached = input_pipeline.load_graph(path, cache_dir=cache)
  for a, b in zip(jax.tree.leaves(built), jax.tree.leaves(cached)):
    np.testing.assert_array_equal(a, b)
  other = synthetic.random_sample(160, seed=7)
  np.savez(path, types=other.types.astype(np.int8), initial_positions=other.initial_positions,
           positions=other.trajectory_positions)
  rebuilt = input_pipeline.load_graph(path, cache_dir=cache)
  assert len(os.listdir(cache)) == 2
  np.testing.assert_allclose(rebuilt.nodes['target'],
                             input_pipeline.make_graph(other).nodes['target'])
  spec = input_pipeline.GraphSpec(edge_cutoff=1.5)
  assert len(input_pipeline.load_graph(path, spec, cache).senders) < len(rebuilt.senders)


def test_graph_cache_sees_copies_that_keep_the_modification_time(tmp_path):
  """A same-size file restored with its old mtime (cp -p, rsync -a) is not the cached one."""
  path, = synthetic.write_botan_files(tmp_path / 'data', 1)
  cache = str(tmp_path / 'cache')
  input_pipeline.load_graph(path, cache_dir=cache)
  stat = os.stat(path)
  other = synthetic.random_sample(160, seed=7)
  np.savez(path, types=other.types.astype(np.int8), initial_positions=other.initial_positions,
           positions=other.trajectory_positions)
  os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
  assert os.stat(path).st_size == stat.st_size
  np.testing.assert_allclose(input_pipeline.load_graph(path, cache_dir=cache).nodes['target'],
                             input_pipeline.make_graph(other).nodes['target'])


def test_damaged_cache_entries_are_rebuilt(tmp_path):
  path, = synthetic.write_botan_files(tmp_path / 'data', 1)
  cache = tmp_path / 'cache'
  built = input_pipeline.load_graph(path, cache_dir=str(cache))
  entry, = cache.iterdir()
  entry.write_bytes(entry.read_bytes()[:100])
  rebuilt = input_pipeline.load_graph(path, cache_dir=str(cache))
  np.testing.assert_array_equal(rebuilt.senders, built.senders)
  assert input_pipeline.load_graph(path, cache_dir=str(cache)).senders.shape == built.senders.shape


def test_a_box_too_small_for_the_cut_off_names_the_file(tmp_path):
  path, = synthetic.write_botan_files(tmp_path / 'data', 1, num_particles=20)  # L = 2.55.
  with pytest.raises(io.DataError, match=f'{path}: the box .* too small for the edge cut-off 2.0'):
    input_pipeline.load_graph(path)


def test_one_compilation_per_padding_budget():
  built = [input_pipeline.make_graph(synthetic.random_sample(n, seed=n)) for n in (150, 160, 170)]
  budget = graphs.padding_budget(170, max(len(g.senders) for g in built))
  model = models.Botan(latent_size=8, num_message_passing_steps=2)
  params = model.init(jax.random.PRNGKey(0), built[0])['params']
  apply = jax.jit(model.apply)
  for graph in built:
    apply({'params': params}, graphs.pad(graph, *budget))
  assert apply._cache_size() == 1

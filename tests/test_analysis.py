"""Neighbor-relative targets against closed forms, and their wiring into graphs and configs."""

import os

import numpy as np
import pytest

from botan_jax import graphs
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import model_setup
from botan_jax import targets
from botan_jax import train
from tests import conftest
from tests import synthetic
from tests import test_train

NODE_FUNCTIONS = dict(R=targets.strain_relative_displacement,
                      D=targets.nonaffine_displacement,
                      C=targets.cage_relative_displacement)


def cubic_lattice(cells: int, offset: float = 0.0) -> np.ndarray:
  """(cells^3, 3) sites of a simple cubic lattice of spacing 1, shifted by `offset`."""
  axis = np.arange(cells, dtype=np.float64) + offset
  return np.stack(np.meshgrid(axis, axis, axis, indexing='ij'), axis=-1).reshape(-1, 3)


def test_affine_deformation_gives_zero_d_and_r_and_the_affine_stretch_as_e():
  # A lattice cluster in the middle of a large box: no pair crosses the boundary, so
  # a global affine map is a local one for every particle, surface particles included.
  box = np.full(3, 16.0)
  initial = cubic_lattice(5, offset=6.0)
  centre = initial.mean(axis=0)
  rng = np.random.default_rng(0)
  gradients = np.eye(3) + 0.08 * rng.normal(size=(4, 3, 3))  # Strain and rotation, one per run.
  trajectory = np.stack([(initial - centre) @ f.T + centre + rng.normal(size=3)
                         for f in gradients])
  for kind in ('R', 'D'):
    np.testing.assert_allclose(NODE_FUNCTIONS[kind](initial, trajectory, box), 0.0, atol=1e-6,
                               err_msg=kind)
  pairs = graphs.neighbor_pairs(initial, box, 2.0)
  d = initial[pairs[:, 1]] - initial[pairs[:, 0]]
  stretch = np.mean([np.linalg.norm(d @ f.T, axis=1) - np.linalg.norm(d, axis=1)
                     for f in gradients], axis=0)
  np.testing.assert_allclose(targets.pair_distance_change(initial, trajectory, pairs, box),
                             stretch, atol=1e-12)
  # The neighbor-mean displacement of an interior site (symmetric shell) is its own.
  interior = np.all((initial > 6.5) & (initial < 9.5), axis=1)
  np.testing.assert_allclose(
      targets.cage_relative_displacement(initial, trajectory, box)[interior], 0.0, atol=1e-12)


def test_uniform_stretch_gives_the_closed_form_e():
  box = np.full(3, 16.0)
  initial = cubic_lattice(4, offset=6.0)
  strain = 0.05
  trajectory = (initial * np.array([1.0 + strain, 1.0, 1.0]))[None]
  pairs = graphs.neighbor_pairs(initial, box, 2.0)
  d = initial[pairs[:, 1]] - initial[pairs[:, 0]]
  expected = np.sqrt(((1 + strain) * d[:, 0]) ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2) - np.linalg.norm(
      d, axis=1)
  np.testing.assert_allclose(targets.pair_distance_change(initial, trajectory, pairs, box),
                             expected, atol=1e-12)
  axial = (np.abs(d[:, 0]) == 1.0) & (d[:, 1] == 0.0) & (d[:, 2] == 0.0)
  np.testing.assert_allclose(
      targets.pair_distance_change(initial, trajectory, pairs, box)[axial], strain, atol=1e-12)


def test_uniform_translation_gives_zero_c_r_d_and_e():
  sample = synthetic.random_sample(200, num_runs=3, seed=5)
  shifts = np.array([[7.3, -2.1, 0.4], [-11.0, 5.5, 9.9], [0.2, 0.2, -30.0]])  # Across images.
  trajectory = sample.initial_positions[None] + shifts[:, None, :]
  args = (sample.initial_positions, trajectory, sample.box)
  for kind, function in NODE_FUNCTIONS.items():
    np.testing.assert_allclose(function(*args), 0.0, atol=1e-9, err_msg=kind)
  pairs = graphs.neighbor_pairs(sample.initial_positions, sample.box, 2.0)
  np.testing.assert_allclose(targets.pair_distance_change(*args[:2], pairs, sample.box), 0.0,
                             atol=1e-12)
  np.testing.assert_allclose(targets.displacement(*args[:2]),
                             np.linalg.norm(shifts, axis=1).mean())
  np.testing.assert_allclose(targets.local_average_displacement(*args),
                             np.broadcast_to(shifts[:, None, :], trajectory.shape), atol=1e-12)


def test_one_displaced_particle_gives_the_expected_c_d_and_r():
  # Periodic simple cubic lattice, spacing 1: within 1.6 every site has 6 neighbors at 1
  # and 12 at sqrt(2), a symmetric shell with sum_j d d^T = 10 I.
  box = np.full(3, 6.0)
  initial = cubic_lattice(6, offset=0.5)
  moved = 100  # Site (2, 4, 4).
  delta = np.array([0.12, -0.2, 0.05])
  trajectory = initial[None].copy()
  trajectory[0, moved] += delta
  size = np.linalg.norm(delta)
  offsets = graphs.minimum_image(initial - initial[moved], box)
  distance = np.linalg.norm(offsets, axis=1)
  nearest, second = np.isclose(distance, 1.0), np.isclose(distance, np.sqrt(2.0))
  others = ~(nearest | second)
  others[moved] = False
  args = (initial, trajectory, box)

  c = targets.cage_relative_displacement(*args)
  assert c[moved] == pytest.approx(size)
  np.testing.assert_allclose(c[nearest | second], size / 18)
  np.testing.assert_allclose(c[others], 0.0, atol=1e-15)
  # R: the cage of `moved` stays put; a neighbor's symmetric cage moves by delta / 18.
  np.testing.assert_allclose(targets.strain_relative_displacement(*args), c, atol=1e-12)
  # D^2_min of `moved`: all 18 neighbors move by -delta relative to it, and no strain fits
  # a uniform shift of a symmetric shell. A neighbor at offset d sees one neighbor move by
  # delta; the best strain, G = delta d^T / 10, leaves |delta|^2 (1 - |d|^2 / 10).
  d = targets.nonaffine_displacement(*args)
  assert d[moved] == pytest.approx(np.sqrt(18) * size)
  np.testing.assert_allclose(d[nearest], np.sqrt(0.9) * size)
  np.testing.assert_allclose(d[second], np.sqrt(0.8) * size)
  np.testing.assert_allclose(d[others], 0.0, atol=1e-12)
  # Eq. 16 with r_f = 1.35: the sphere around a site holds it and its 6 nearest neighbors.
  field = targets.local_average_displacement(*args)[0]
  np.testing.assert_allclose(field[moved], delta / 7)
  np.testing.assert_allclose(field[nearest], np.broadcast_to(delta / 7, (6, 3)))
  np.testing.assert_allclose(field[second | others], 0.0, atol=1e-15)


def test_isolated_particles_keep_their_own_displacement():
  box = np.full(3, 10.0)
  initial = np.array([[1.0, 1.0, 1.0], [5.0, 5.0, 5.0]])
  trajectory = initial[None] + np.array([[0.3, 0.0, 0.0], [0.0, 0.0, -0.5]])[None]
  np.testing.assert_allclose(targets.cage_relative_displacement(initial, trajectory, box), [0.3, 0.5])
  np.testing.assert_allclose(targets.strain_relative_displacement(initial, trajectory, box),
                             [0.3, 0.5])
  np.testing.assert_allclose(targets.nonaffine_displacement(initial, trajectory, box), 0.0)


@pytest.mark.parametrize('kind', ['S', 'R', 'D', 'C'])
def test_graph_node_target_follows_the_spec_and_keys_the_cache(tmp_path, kind):
  (path,) = synthetic.write_botan_files(tmp_path / 'data', 1)
  sample = io.load_sample(path)
  spec = input_pipeline.GraphSpec(node_target=kind)
  graph = input_pipeline.load_graph(path, spec, cache_dir=str(tmp_path / 'cache'))
  expected = targets.node_target(kind, sample.initial_positions, sample.trajectory_positions,
                                 sample.box).astype(np.float32)
  np.testing.assert_array_equal(graph.nodes['target'], expected)
  np.testing.assert_array_equal(  # From the cache, which S and `kind` do not share.
      input_pipeline.load_graph(path, spec, cache_dir=str(tmp_path / 'cache')).nodes['target'],
      expected)
  input_pipeline.load_graph(path, input_pipeline.GraphSpec(), cache_dir=str(tmp_path / 'cache'))
  assert len(os.listdir(tmp_path / 'cache')) == (1 if kind == 'S' else 2)
  assert np.all(graph.nodes['target'] >= 0.0)


def test_config_selects_the_node_target():
  config = test_train.botan.get_config('T044_t130')
  assert model_setup.graph_spec(config).node_target == 'S'
  config.node_target = 'C'
  assert model_setup.graph_spec(config) == input_pipeline.GraphSpec(node_target='C')


def test_unknown_node_target_fails_before_any_work(tmp_path):
  with pytest.raises(ValueError, match='Unknown node target'):
    targets.node_target('X', np.zeros((2, 3)), np.zeros((1, 2, 3)), np.ones(3))
  config = test_train.small_config(tmp_path, num_epochs=1)
  assert config.node_target == 'S'
  config.node_target = 'X'
  with pytest.raises(ValueError, match='node_target must be one of S, R, D, C'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()


def test_targets_on_the_authors_sample():
  sample = io.load_sample(conftest.test_file(401))
  values = {kind: targets.node_target(kind, sample.initial_positions,
                                      sample.trajectory_positions, sample.box)
            for kind in targets.NODE_TARGETS}
  for kind, value in values.items():
    assert value.shape == (4096,) and np.all(np.isfinite(value)) and np.all(value >= 0), kind
  # Relative to the neighbors, a particle moves less than in the lab frame on average.
  assert values['C'].mean() < values['S'].mean() and values['R'].mean() < values['S'].mean()
  assert np.corrcoef(values['S'], values['C'])[0, 1] > 0.5

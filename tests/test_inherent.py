"""Inherent structures (FIRE on the generator's potential) and the BOTAN+IS inputs."""

import dataclasses
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from botan_jax import errors
from botan_jax import graphs
from botan_jax import inference
from botan_jax import inherent
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import model_setup
from botan_jax import train
from botan_jax.md import minimize
from botan_jax.presets import botan
from tests import conftest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def jittered_lattice(cells: int = 6, jitter: float = 0.15, seed: int = 0):
  """A simple cubic lattice at density 1.2 with random displacements, 80:20 types, and its box."""
  box = cells * (1 / 1.2) ** (1 / 3)
  grid = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing='ij'), -1).reshape(-1, 3)
  rng = np.random.default_rng(seed)
  positions = (grid + 0.5) * box / cells + jitter * rng.normal(size=grid.shape)
  types = (rng.permutation(len(grid)) >= int(0.8 * len(grid))).astype(np.int32)
  return positions, types, box


def fcc(cells: int, spacing: float) -> tuple[np.ndarray, float]:
  """A face-centred cubic crystal of cells^3 cubic cells of side `spacing`, and its box."""
  basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
  grid = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing='ij'), -1).reshape(-1, 1, 3)
  return ((grid + basis).reshape(-1, 3) * spacing), cells * spacing


def test_fire_lowers_the_energy_to_a_minimum_below_the_force_tolerance():
  positions, types, box = jittered_lattice()
  settings = inherent.MinimizerSettings(force_tolerance=1e-6)
  result = minimize.inherent_structures(positions, types, box, settings)
  before = minimize.particle_energies(positions, types, box).sum()
  assert result.particle_energies.sum() < before - 1.0
  assert result.max_force < 1e-6 and 0 < result.steps < settings.max_steps
  assert result.positions.min() >= 0 and result.positions.max() < box
  # Minimising the minimum again moves nothing.
  again = minimize.inherent_structures(result.positions, types, box, settings)
  moved = graphs.minimum_image(again.positions - result.positions, np.full(3, box))
  assert np.abs(moved).max() < 1e-6
  # A batch gives each configuration's own minimum.
  second, _, _ = jittered_lattice(seed=1)
  batch = minimize.inherent_structures(np.stack([positions, second]), np.stack([types, types]),
                                       box, settings)
  np.testing.assert_allclose(batch.particle_energies[0].sum(), result.particle_energies.sum(),
                             atol=1e-6)
  assert batch.particle_energies.shape == (2, len(types)) and np.all(batch.max_force < 1e-6)


def test_a_displaced_crystal_returns_to_its_lattice():
  # The A-A crystal at the spacing of lowest energy (scanned), displaced by 0.05 at random.
  spacings = np.linspace(1.45, 1.65, 41)
  energies = [minimize.particle_energies(fcc(4, a)[0], np.zeros(256, np.int32), 4 * a).sum()
              for a in spacings]
  spacing = spacings[int(np.argmin(energies))]
  assert 1.47 < spacing < 1.62  # About 2^(1/6) sqrt(2) = 1.587 for the full potential.
  lattice, box = fcc(4, spacing)
  displaced = lattice + 0.05 * np.random.default_rng(2).normal(size=lattice.shape)
  result = minimize.inherent_structures(displaced, np.zeros(256, np.int32), box)
  offset = graphs.minimum_image(result.positions - lattice, np.full(3, box))
  offset -= offset.mean(axis=0)  # FIRE keeps the centre of mass; the lattice may shift with it.
  assert np.abs(offset).max() < 1e-4
  assert np.abs(graphs.minimum_image(displaced - lattice, np.full(3, box))).max() > 0.1


def test_a_files_own_inherent_positions_are_used_without_minimising(monkeypatch):
  positions, types, box = jittered_lattice()
  given = minimize.inherent_structures(positions, types, box).positions
  sample = io.Sample(positions, types, np.full(3, box), None, None, None, 'mine.npz',
                     inherent_positions=given)
  monkeypatch.setattr(inherent, 'minimise', lambda *a: pytest.fail('minimised anyway'))
  used, energies = inherent.inherent_structure(sample)
  np.testing.assert_array_equal(used, given)
  np.testing.assert_allclose(energies, minimize.particle_energies(given, types, box))


def test_inherent_structures_are_cached_by_file_and_settings(tmp_path, monkeypatch):
  positions, types, box = jittered_lattice()
  path = str(tmp_path / 'isoconfig_N216T0.44_1_tc07.npz')
  io.save_npz(path, types=types.astype(np.int8), initial_positions=positions, box=np.full(3, box))
  sample = io.read_botan_npz(path)
  calls = []
  real = inherent.minimise
  monkeypatch.setattr(inherent, 'minimise', lambda *a: calls.append(a[1]) or real(*a))
  cache = str(tmp_path / 'cache')
  first = inherent.inherent_structure(sample, inherent.MinimizerSettings(), cache)
  second = inherent.inherent_structure(sample, inherent.MinimizerSettings(), cache)
  np.testing.assert_array_equal(first[0], second[0])
  assert len(calls) == 1
  inherent.inherent_structure(sample, inherent.MinimizerSettings(force_tolerance=1e-6), cache)
  assert len(calls) == 2 and len(os.listdir(cache)) == 2


def test_structure_options_key_the_graph_cache():
  thermal = input_pipeline.GraphSpec()
  both = input_pipeline.GraphSpec(structure='both', minimizer=inherent.MinimizerSettings())
  tighter = dataclasses.replace(both, minimizer=inherent.MinimizerSettings(force_tolerance=1e-7))
  keys = [spec.key() for spec in (thermal, both, tighter,
                                  dataclasses.replace(both, structure='inherent'))]
  assert len({str(k) for k in keys}) == 4
  # Thermal graphs keep the key they had before structures existed.
  assert keys[0] == dict(edge_cutoff=2.0, eval_bond_cutoff=1.35, node_target='S')


def test_both_gives_the_graph_its_inherent_columns_and_keeps_thermal_targets():
  positions, types, box = jittered_lattice()
  trajectory = positions + 0.1 * np.random.default_rng(3).normal(size=(2, *positions.shape))
  sample = io.Sample(positions, types, np.full(3, box), trajectory, 0.44, 1.0, 'x')
  structure = inherent.inherent_structure(sample)
  thermal = input_pipeline.make_graph(sample)
  both = input_pipeline.make_graph(sample, input_pipeline.GraphSpec(structure='both'), structure)
  inherent_only = input_pipeline.make_graph(sample, input_pipeline.GraphSpec(structure='inherent'),
                                            structure)
  np.testing.assert_array_equal(both.senders, thermal.senders)
  np.testing.assert_array_equal(both.edges['features'][:, :3], thermal.edges['features'])
  np.testing.assert_array_equal(both.nodes['features'][:, 0], thermal.nodes['features'][:, 0])
  vibration = np.linalg.norm(graphs.minimum_image(positions - structure[0], np.full(3, box)),
                             axis=1)
  np.testing.assert_allclose(both.nodes['features'][:, 1], vibration, rtol=1e-6)
  np.testing.assert_allclose(both.nodes['features'][:, 2], structure[1], rtol=1e-6)
  for graph in (both, inherent_only):
    np.testing.assert_array_equal(graph.nodes['target'], thermal.nodes['target'])
  # Inherent edges are the minimum's pairs; their E targets and masks use r(0).
  expected = graphs.minimum_image(structure[0][inherent_only.receivers]
                                  - structure[0][inherent_only.senders], np.full(3, box))
  np.testing.assert_allclose(inherent_only.edges['features'], expected, atol=1e-5)
  augmented = input_pipeline.augment(both, jax.random.PRNGKey(0), 'rotation')
  lengths = lambda f: np.linalg.norm(np.asarray(f).reshape(-1, 2, 3), axis=-1)
  np.testing.assert_allclose(lengths(augmented.edges['features']),
                             lengths(both.edges['features']), rtol=1e-5)


@pytest.mark.parametrize('field,value,message', [
    ('structure', 'cage', "config.data.structure='cage': give one of thermal, inherent, both"),
    ('inherent.force_tolerance', -1e-5, 'force_tolerance=-1e-05: must be > 0'),
    ('inherent.max_steps', 0, 'max_steps=0: must be an integer >= 1'),
])
def test_bad_structure_options_are_refused_before_any_work(tmp_path, field, value, message):
  config = botan.get_config('T044_t4120')
  config.data.train_pattern = str(tmp_path / 'nothing' / '*.npz')  # Never reached.
  parent, _, name = f'data.{field}'.rpartition('.')
  node = config
  for part in parent.split('.'):
    node = node[part]
  node[name] = value
  with pytest.raises(errors.ConfigError, match=message.replace('(', r'\(').replace(')', r'\)')):
    train.validate_config(config)
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'main.py'), '--config=botan:T044_t4120',
       f'--workdir={tmp_path / "run"}', f'--config.data.{field}={value}'],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 2 and 'Traceback' not in result.stderr
  assert message in result.stderr.splitlines()[-1]


def test_the_authors_model_predicts_on_both_exactly_as_on_thermal(tmp_path):
  path = conftest.test_file(401)
  predictions = {}
  for structure in ('thermal', 'both'):
    config = botan.get_config('T044_t4120')
    config.init_from = 'pyg:' + conftest.model1()
    config.data.structure = structure
    loaded, merged = inference._model(config.init_from, config, ())  # pylint: disable=protected-access
    graph = input_pipeline.load_graph(path, model_setup.graph_spec(merged), str(tmp_path))
    predict = model_setup.make_predict_fn(model_setup.create_model(merged))
    predictions[structure] = jax.device_get(
        predict(loaded.params, graphs.pad(graph, *graphs.budget_for([graph]))))
    if structure == 'both':
      assert graph.nodes['features'].shape == (4096, 3)
      assert loaded.params['node_encoder']['layers_0']['kernel'].shape[0] == 3
      assert not np.any(loaded.params['edge_encoder']['layers_0']['kernel'][3:])
  for thermal, both in zip(predictions['thermal'], predictions['both']):
    np.testing.assert_array_equal(both, thermal)


def test_the_generator_stores_inherent_structures_that_the_readers_use(tmp_path, monkeypatch):
  from botan_jax.md import generate  # pylint: disable=g-import-not-at-top
  from botan_jax.presets import generate as generate_configs  # pylint: disable=g-import-not-at-top
  config = generate_configs.tiny_config()
  config.num_train, config.num_test, config.num_replicas = 1, 0, 2
  config.time_indices = (1, 2)
  config.store_inherent = True
  paths = generate.generate(config, str(tmp_path))
  samples = [io.load_sample(p) for p in paths]
  assert all(s.inherent_positions is not None for s in samples)
  np.testing.assert_array_equal(samples[0].inherent_positions, samples[1].inherent_positions)
  box = float(samples[0].box[0])
  check = minimize.inherent_structures(samples[0].inherent_positions, samples[0].types, box)
  assert check.steps < 50 and check.max_force < 1e-5  # Already a minimum.
  monkeypatch.setattr(inherent, 'minimise', lambda *a: pytest.fail('minimised anyway'))
  graph = input_pipeline.load_graph(paths[0], input_pipeline.GraphSpec(structure='both'))
  assert graph.nodes['features'].shape[1] == 3

"""The dataset driver: parameter checks, the tiny preset's files, resuming."""

import os

import numpy as np
import pytest

from botan_jax import graphs, io, system, targets
from botan_jax.analysis import relaxation
from botan_jax.md import generate, plans, protocol, state
from botan_jax.presets import generate as generate_configs

pytestmark = pytest.mark.filterwarnings('ignore:scatter inputs have incompatible types')


@pytest.mark.parametrize('field, value, message', [
    ('temperature', -0.5, 'temperature must be > 0'),
    ('density', 0.0, 'density must be > 0'),
    ('num_particles', 150, 'too small for the cut-off'),
    ('time_indices', (3, 2), 'must increase'),
    ('time_indices', (0, 11), 'must lie in 1..10'),
    ('num_replicas', 0, 'num_replicas must be >= 1'),
    ('neighbor_format', 'csr', 'neighbor_format must be one of'),
    ('t_hold', float('inf'), 't_hold must be finite'),
])
def test_bad_parameters_are_rejected(tmp_path, field, value, message):
  config = generate_configs.get_config('tiny')
  config[field] = value
  with pytest.raises(ValueError, match=message):
    generate.generate(config, str(tmp_path))
  assert not os.listdir(tmp_path)


def test_unknown_preset_and_temperature_without_table_are_rejected(tmp_path):
  with pytest.raises(ValueError, match='Unknown generate preset'):
    generate_configs.get_config('T070')
  config = generate_configs.get_config('tiny')
  config.temperature = 0.47
  with pytest.raises(ValueError, match='No time table for T=0.47'):
    generate.generate(config, str(tmp_path))


def test_custom_time_tables_are_checked(tmp_path):
  config = generate_configs.get_config('tiny')
  config.temperature, config.time_indices = 0.6, (1, 2, 3)
  config.time_table = (0.1, 0.2, 0.5)
  with pytest.raises(ValueError, match='no tau_alpha at index 7: set config.tau_alpha'):
    generate.generate(config, str(tmp_path))
  config.time_table = (0.1, float('nan'), 0.5)
  with pytest.raises(ValueError, match='must be finite and > 0'):
    generate.generate(config, str(tmp_path))
  config.time_table = (0.5, 0.2, 0.1)
  with pytest.raises(ValueError, match=r'time_table \(0.5, 0.2, 0.1\) must increase'):
    generate.generate(config, str(tmp_path))


def test_files_of_another_config_are_refused_not_reused(tmp_path):
  """A dataset made with other physics (here dt) is never counted as this config's."""
  config = generate_configs.get_config('tiny')
  made_with = config.copy_and_resolve_references()
  made_with.dt = 2e-3
  path = generate.output_path(str(tmp_path), config, 1, config.time_indices[0])
  io.save_npz(path, fingerprint=np.array(plans.make_plan(made_with).fingerprint))
  with pytest.raises(ValueError, match=r"generated with another config \(fields \['dt', 'schedule'\]"):
    generate.generate(config, str(tmp_path))


# The tiny preset's physics fingerprint as every earlier version wrote it: a change
# would make existing datasets and checkpoints refuse to resume.
TINY_FINGERPRINT = (
    '{"density": 1.2, "dt": 0.001, "equilibration_tau_alpha": 0.25, "hold_temperature": 5.0, '
    '"num_particles": 256, "num_replicas": 4, "precision": "float64", "schedule": '
    '{"cool_steps": 2000, "equilibration_steps": 4125, "hold_steps": 2000, '
    '"hold_temperature": 5.0, "temperature": 0.64}, "seed": 0, "t_cool": 2.0, "t_hold": 2.0, '
    '"temperature": 0.64, "thermostat_chain_length": 3, "thermostat_chain_steps": 1, '
    '"thermostat_sy_steps": 1, "thermostat_tau": 0.1, "times": [0.032, 0.1, 0.165, 0.52, '
    '1.65, 5.2, 16.5, 52.0, 165.0, 520.0]}')


def test_physics_fingerprint_is_unchanged():
  assert plans.make_plan(generate_configs.get_config('tiny')).fingerprint == TINY_FINGERPRINT


def test_presets_follow_the_paper():
  for preset, temperature in (('T044', 0.44), ('T050', 0.50), ('T056', 0.56), ('T064', 0.64)):
    plan = plans.make_plan(generate_configs.get_config(preset))
    assert plan.temperature == temperature and plan.time_indices == tuple(range(1, 11))
    tau_alpha = system.time_point(temperature, system.TAU_ALPHA_INDEX)
    assert plan.schedule == protocol.Schedule(
        5.0, temperature, 10_000_000, 20_000, round(40 * tau_alpha / 1e-3))


def _file_identity(path: str) -> tuple[int, int]:
  stat = os.stat(path)
  return stat.st_ino, stat.st_mtime_ns


def test_tiny_preset_resumes_and_writes_loadable_files(tmp_path, monkeypatch):
  """Runs interrupted in NVT, then in NVE, resume without rewriting complete files."""
  config = generate_configs.get_config('tiny')
  config.num_train, config.num_test = 1, 1
  config.checkpoint_every_steps = 3000  # NVT checkpoints at steps 3000 and 6000 of 8125
  workdir = str(tmp_path)
  checkpoint_dir = os.path.join(workdir, 'T0.64', 'checkpoints')

  save = state.save_checkpoint

  def save_then_interrupt(path, checkpoint, *args):
    save(path, checkpoint, *args)
    if checkpoint.step == 6000:
      raise KeyboardInterrupt

  monkeypatch.setattr(state, 'save_checkpoint', save_then_interrupt)
  with pytest.raises(KeyboardInterrupt):
    generate.generate(config, workdir)
  monkeypatch.undo()
  # Configuration 1 was checkpointed at step 6000, 2 (interrupted) at 3000.
  assert _checkpoint_stages(checkpoint_dir, config) == [('nvt', 3000), ('nvt', 6000)]

  written = []
  write = generate._write_output

  def write_then_interrupt(path, *args):
    if len(written) == 3:
      raise KeyboardInterrupt
    write(path, *args)
    written.append(path)

  monkeypatch.setattr(generate, '_write_output', write_then_interrupt)
  with pytest.raises(KeyboardInterrupt):
    generate.generate(config, workdir)
  monkeypatch.undo()
  # Configuration 1 (the furthest) went first and was interrupted writing tc04.
  assert len(os.listdir(os.path.join(workdir, 'T0.64', 'train'))) == 3
  assert not os.path.exists(os.path.join(workdir, 'T0.64', 'test'))
  assert _checkpoint_stages(checkpoint_dir, config) == [('nve', 165), ('nvt', 3000)]
  before = {p: _file_identity(p) for p in _all_files(workdir)}

  paths = generate.generate(config, workdir)
  assert len(paths) == 2 * len(config.time_indices)
  assert {p: _file_identity(p) for p in before} == before  # nothing rewritten
  assert not os.path.exists(checkpoint_dir)  # Emptied, then removed.
  assert paths[0].endswith(os.path.join('T0.64', 'train', 'isoconfig_N256T0.64_1_tc01.npz'))
  assert paths[-1].endswith(os.path.join('T0.64', 'test', 'isoconfig_N256T0.64_2_tc05.npz'))
  assert generate.generate(config, workdir) == paths  # complete: nothing to do
  grown = config.copy_and_resolve_references()
  grown.num_train = 2  # Configuration 2, in test/, would now be a training configuration.
  with pytest.raises(ValueError, match=r'test/isoconfig_N256T0.64_2_tc01.npz: configuration 2 '
                                       r'belongs to train/ with num_train=2'):
    generate.generate(grown, workdir)

  samples = [io.read_botan_npz(p) for p in paths]
  for sample, path in zip(samples, paths):
    assert sample.trajectory_positions.shape == (config.num_replicas, 256, 3)
    assert sample.temperature == pytest.approx(0.64)
    assert np.all((sample.initial_positions >= 0) & (sample.initial_positions < sample.box))
    with np.load(path) as data:
      assert data['types'].dtype == np.int8
      assert data['start_velocities'].shape == (config.num_replicas, 256, 3)
      assert int(data['seed']) == config.seed
    propensity = targets.displacement(sample.initial_positions, sample.trajectory_positions)
    pairs = graphs.neighbor_pairs(sample.initial_positions, sample.box, system.EDGE_CUTOFF)
    bonds = targets.pair_distance_change(sample.initial_positions,
                                         sample.trajectory_positions, pairs, sample.box)
    assert np.isfinite(propensity).all() and propensity.min() > 0
    assert len(pairs) > 1000 and np.isfinite(bonds).all() and np.abs(bonds).max() > 0
  # The resumed times continue the same equilibrated configuration.
  for config_paths in (paths[:5], paths[5:]):
    first_sample, last_sample = io.read_botan_npz(config_paths[0]), io.read_botan_npz(
        config_paths[-1])
    np.testing.assert_array_equal(first_sample.initial_positions, last_sample.initial_positions)
  curves = relaxation.ensemble_relaxation(samples)
  np.testing.assert_allclose(curves['time'], system.TIME_POINTS[0.64][:5])
  assert np.all(np.diff(curves['mean_squared_displacement']) > 0)
  assert np.all(curves['self_intermediate_scattering'] < 1)


def _checkpoint_stages(checkpoint_dir: str, config) -> list[tuple[str, int]]:
  return sorted((c.stage, c.step) for c in (
      state.load_checkpoint(os.path.join(checkpoint_dir, name),
                            plans.make_plan(config).fingerprint)
      for name in os.listdir(checkpoint_dir)))


def _all_files(workdir: str) -> list[str]:
  return [os.path.join(root, name) for root, _, names in os.walk(workdir) for name in names
          if name.endswith('.npz') and 'checkpoints' not in root]


@pytest.mark.slow
def test_the_paper_presets_hold_at_t5_runs_at_full_size(tmp_path):
  """The T044 preset's T=5 hold at N=4096 to t=40 (about 3 minutes on 2 cores).

  Before the fix, the k-d tree of every run of this hold received a coordinate
  rounded to float32(L) > L between t=18 and 25 and the run died.
  """
  config = generate_configs.get_config('T044')
  config.num_train, config.num_test = 1, 0
  config.t_hold, config.t_cool, config.equilibration_tau_alpha = 40.0, 0.0, 0.0
  config.time_indices, config.num_replicas = (1,), 1
  paths = generate.generate(config, str(tmp_path))
  sample = io.read_botan_npz(paths[0])
  assert sample.num_particles == 4096 and sample.time == 0.13
  assert (sample.initial_positions >= 0).all() and (sample.initial_positions < sample.box).all()

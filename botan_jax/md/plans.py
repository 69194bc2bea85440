"""The plan of an isoconfigurational dataset: what a config asks the generator to run.

`make_plan(config)` checks every parameter of a generate config (see
`botan_jax/presets/generate.py`) and derives the `Plan`: the time table of T
(Table I's row, or `config.time_table`), the recorded time indices and their
MD steps, the NVT `protocol.Schedule`, and the physics fingerprint. The
fingerprint is the JSON of the config fields that define the physics
(`PHYSICS_FIELDS`), the time table and the schedule; it is stored in every
dataset file and generator checkpoint, and a file with another one is refused
(`require_same_physics`) rather than reused. `configuration_key` gives each
configuration's random draws from (seed, configuration id) alone.

Times are in sqrt(m sigma_AA^2 / eps_AA), steps count time steps `config.dt`.
"""

import dataclasses
import json
from typing import Any

import jax
import ml_collections
import numpy as np

from botan_jax import errors, system
from botan_jax.md import engine, potential, protocol


@dataclasses.dataclass(frozen=True)
class Plan:
  """What a configuration needs, derived from the config and checked.

  Attributes:
    temperature: target temperature T.
    times: the time table of T (index k - 1 holds time index k).
    time_indices: the 1-based indices to record, increasing.
    record_steps: MD steps of `time_indices`.
    schedule: the NVT temperature programme.
    fingerprint: `physics_fingerprint`, stored in every file and checkpoint.
  """
  temperature: float
  times: tuple[float, ...]
  time_indices: tuple[int, ...]
  record_steps: tuple[int, ...]
  schedule: protocol.Schedule
  fingerprint: str


def _time_table(config: ml_collections.ConfigDict) -> tuple[float, ...]:
  """`config.time_table` if set, else Table I's row of `config.temperature`."""
  if config.time_table:
    return tuple(float(t) for t in config.time_table)
  if not system.has_time_row(config.temperature):
    raise errors.ConfigError(
        f'No time table for T={config.temperature}; the paper gives '
        f'{list(system.table_temperatures())}. Set config.time_table (and config.tau_alpha).')
  return system.time_row(config.temperature)


# Config fields that define the physics of a dataset (not its bookkeeping or round-off).
PHYSICS_FIELDS = ('seed', 'temperature', 'hold_temperature', 'density', 'num_particles', 'dt',
                  't_hold', 't_cool', 'equilibration_tau_alpha', 'num_replicas', 'precision',
                  'thermostat_tau', 'thermostat_chain_length', 'thermostat_chain_steps',
                  'thermostat_sy_steps')


def physics_fingerprint(config: ml_collections.ConfigDict, times: tuple[float, ...],
                        schedule: protocol.Schedule) -> str:
  """JSON of PHYSICS_FIELDS, the time table and the NVT schedule: equal for equal data."""
  return json.dumps(dict({name: config[name] for name in PHYSICS_FIELDS}, times=times,
                         schedule=dataclasses.asdict(schedule)), sort_keys=True)


def make_plan(config: ml_collections.ConfigDict) -> Plan:
  """Checks every parameter of `config` and derives the schedule and record steps.

  Raises:
    errors.ConfigError (a ValueError): naming the first bad parameter.
  """
  def require(ok: bool, message: str):
    if not ok:
      raise errors.ConfigError(f'Bad generate config: {message}')

  require(config.temperature > 0, f'temperature must be > 0, got {config.temperature}.')
  require(config.hold_temperature > 0,
          f'hold_temperature must be > 0, got {config.hold_temperature}.')
  require(config.density > 0, f'density must be > 0, got {config.density}.')
  require(config.num_particles >= 2, f'num_particles must be >= 2, got {config.num_particles}.')
  require(config.dt > 0, f'dt must be > 0, got {config.dt}.')
  require(config.skin > 0, f'skin must be > 0, got {config.skin}.')
  try:
    potential.check_box(system.box_length(config.num_particles, config.density), config.skin)
  except ValueError as err:
    raise errors.ConfigError(f'Bad generate config: num_particles={config.num_particles} at '
                             f'density {config.density}: {err}') from err
  for name in ('t_hold', 't_cool', 'equilibration_tau_alpha'):
    require(config[name] >= 0, f'{name} must be >= 0, got {config[name]}.')
  require(config.num_replicas >= 1, f'num_replicas must be >= 1, got {config.num_replicas}.')
  require(config.num_train >= 0 and config.num_test >= 0 and
          config.num_train + config.num_test >= 1,
          f'need num_train, num_test >= 0 and at least one configuration, got '
          f'{config.num_train} and {config.num_test}.')
  require(config.precision in engine.PRECISIONS,
          f'precision must be one of {engine.PRECISIONS}, got {config.precision!r}.')
  try:
    potential.check_neighbor_options(config.neighbor_format, config.neighbor_builder,
                                     config.capacity_multiplier,
                                     ('auto',) + potential.NEIGHBOR_BUILDERS)
  except ValueError as err:
    raise errors.ConfigError(f'Bad generate config: {err}') from err
  for name in ('nvt_batch', 'nve_batch', 'segment_steps', 'checkpoint_every_steps'):
    require(config[name] >= 1, f'{name} must be >= 1, got {config[name]}.')

  times = _time_table(config)
  require(all(np.isfinite(t) and t > 0 for t in times),
          f'time_table entries must be finite and > 0, got {times}.')
  require(list(times) == sorted(set(times)), f'time_table {times} must increase.')
  require(bool(config.tau_alpha) or len(times) >= system.TAU_ALPHA_INDEX,
          f'the time table has {len(times)} entries, so no tau_alpha at index '
          f'{system.TAU_ALPHA_INDEX}: set config.tau_alpha.')
  for name in ('t_hold', 't_cool', 'equilibration_tau_alpha'):
    require(np.isfinite(config[name]), f'{name} must be finite, got {config[name]}.')
  indices = tuple(int(i) for i in config.time_indices)
  require(len(indices) > 0, 'time_indices is empty.')
  require(all(1 <= i <= len(times) for i in indices),
          f'time_indices {indices} must lie in 1..{len(times)} (the time table of '
          f'T={config.temperature}).')
  require(list(indices) == sorted(set(indices)), f'time_indices {indices} must increase.')
  record_steps = tuple(int(round(times[i - 1] / config.dt)) for i in indices)
  require(record_steps[0] >= 1, f'the first recorded time {times[indices[0] - 1]} is '
          f'shorter than dt={config.dt}.')
  require(list(record_steps) == sorted(set(record_steps)),
          f'time_indices {indices} map to repeated steps {record_steps} at dt={config.dt}.')

  tau_alpha = config.tau_alpha or times[system.TAU_ALPHA_INDEX - 1]
  require(tau_alpha > 0, f'tau_alpha must be > 0, got {tau_alpha}.')
  schedule = protocol.Schedule(
      hold_temperature=float(config.hold_temperature),
      temperature=float(config.temperature),
      hold_steps=int(round(config.t_hold / config.dt)),
      cool_steps=int(round(config.t_cool / config.dt)),
      equilibration_steps=int(round(config.equilibration_tau_alpha * tau_alpha / config.dt)))
  return Plan(temperature=float(config.temperature), times=times, time_indices=indices,
              record_steps=record_steps, schedule=schedule,
              fingerprint=physics_fingerprint(config, times, schedule))


def require_same_physics(path: str, stored: str, fingerprint: str) -> None:
  """Raises ConfigError, naming `path` and the differing fields, if `stored` != `fingerprint`."""
  if stored != fingerprint:
    old, new = json.loads(stored), json.loads(fingerprint)
    differing = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    raise errors.ConfigError(f'{path} was generated with another config (fields {differing} '
                             'differ). Use another workdir, or the config it was made with.')


def stored_fingerprint(data: Any) -> str | None:
  """The fingerprint in an open dataset file or checkpoint (None for older versions)."""
  return str(data['fingerprint']) if 'fingerprint' in data.files else None


def configuration_key(seed: int, config_id: int) -> jax.Array:
  """PRNG key of one configuration; its lattice, melt and replica velocities derive from it."""
  return jax.random.fold_in(jax.random.PRNGKey(seed), config_id)

"""Resumable driver writing isoconfigurational datasets in the BOTAN npz format.

`generate(config, workdir)` runs the protocol of `protocol` for configurations
1..num_train (`{workdir}/T{T:.2f}/train/`) and num_train+1..num_train+num_test
(`.../test/`), writing one file per configuration and time index,
`isoconfig_N{N}T{T:.2f}_{id}_tc{XX:02d}.npz`, with the keys
  types (N,) int8, initial_positions (N, 3) float64 in [0, L),
  positions (R, N, 3) float64 unwrapped, box (3,), time, temperature, seed,
  start_velocities (R, N, 3), time_table (the times tcXX indexes: Table I's
  row, or config.time_table), and `fingerprint`: the config fields that
  define the physics (`physics_fingerprint`).
Every write is atomic. A configuration whose files all exist with this
config's fingerprint is skipped; a file or checkpoint with another
fingerprint is refused (use another workdir) rather than reused, and so is a
file in the split its id no longer belongs to (num_train changed). An
interrupted configuration resumes from its checkpoint in
`{workdir}/T{T:.2f}/checkpoints/` (written every `checkpoint_every_steps`
steps of either stage, at the end of equilibration and at each recorded time),
so a rerun never rewrites a complete file.

Each configuration's random draws (lattice, melt velocities, replica
velocities) come from (seed, configuration id) alone. The trajectories are
reproduced bit for bit only by a rerun with the same batching and no
interruption: a resume restarts the Nose-Hoover chain at rest and rebuilds
neighbor lists at other steps, and batch-mates share list rebuilds, so the
round-off differs and the chaotic dynamics carry it to a different, equally
valid trajectory (same ensemble, same protocol).
"""

import dataclasses
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from botan_jax import errors, io, system
from botan_jax import progress as progress_lines  # `progress` names protocol.Progress here.
from botan_jax.md import potential, protocol



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


def _require_same_physics(path: str, stored: str, fingerprint: str) -> None:
  """Raises ConfigError, naming `path` and the differing fields, if `stored` != `fingerprint`."""
  if stored != fingerprint:
    old, new = json.loads(stored), json.loads(fingerprint)
    differing = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    raise errors.ConfigError(f'{path} was generated with another config (fields {differing} '
                             'differ). Use another workdir, or the config it was made with.')


def _stored_fingerprint(data: Any) -> str | None:
  """The fingerprint in an open dataset file or checkpoint (None for older versions)."""
  return str(data['fingerprint']) if 'fingerprint' in data.files else None


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
  require(config.precision in protocol.PRECISIONS,
          f'precision must be one of {protocol.PRECISIONS}, got {config.precision!r}.')
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


def temperature_dir(workdir: str, temperature: float) -> str:
  return os.path.join(workdir, f'T{temperature:.2f}')


def output_path(workdir: str, config: ml_collections.ConfigDict, config_id: int,
                time_index: int) -> str:
  """Path of the file of configuration `config_id` at `time_index` (train or test by id)."""
  split = 'train' if config_id <= config.num_train else 'test'
  name = (f'isoconfig_N{config.num_particles}T{config.temperature:.2f}_{config_id}'
          f'_tc{time_index:02d}.npz')
  return os.path.join(temperature_dir(workdir, config.temperature), split, name)


def _require_ids_in_their_split(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Refuses files of this dataset lying in the split their id does not belong to.

  Raises:
    errors.ConfigError: naming the first such file, e.g. test/ id 3 after num_train grew to 3.
  """
  name = re.compile(rf'isoconfig_N{config.num_particles}T{config.temperature:.2f}'
                    r'_(\d+)_tc(\d+)\.npz$')
  for split in ('train', 'test'):
    directory = os.path.join(temperature_dir(workdir, config.temperature), split)
    for file_name in sorted(os.listdir(directory)) if os.path.isdir(directory) else ():
      if not (match := name.match(file_name)):
        continue
      config_id, time_index = int(match.group(1)), int(match.group(2))
      expected = output_path(workdir, config, config_id, time_index)
      if os.path.dirname(expected) != directory:
        raise errors.ConfigError(
            f'{os.path.join(directory, file_name)}: configuration {config_id} belongs to '
            f'{os.path.basename(os.path.dirname(expected))}/ with num_train='
            f'{config.num_train}, so the dataset would hold it twice or in the wrong set. '
            'Move or delete it, or use another --workdir.')


def _remove_if_empty(directory: str) -> None:
  if os.path.isdir(directory) and not os.listdir(directory):
    os.rmdir(directory)


def checkpoint_dir(workdir: str, config: ml_collections.ConfigDict) -> str:
  return os.path.join(temperature_dir(workdir, config.temperature), 'checkpoints')


def checkpoint_path(workdir: str, config: ml_collections.ConfigDict, config_id: int) -> str:
  name = f'isoconfig_N{config.num_particles}T{config.temperature:.2f}_{config_id}_state.npz'
  return os.path.join(checkpoint_dir(workdir, config), name)


def configuration_key(seed: int, config_id: int) -> jax.Array:
  """PRNG key of one configuration; its lattice, melt and replica velocities derive from it."""
  return jax.random.fold_in(jax.random.PRNGKey(seed), config_id)


@dataclasses.dataclass
class Checkpoint:
  """Resumable state of one configuration.

  Attributes:
    stage: 'nvt' (equilibrating) or 'nve' (replicas running).
    step: the step of the stage that `positions` and `momenta` belong to.
    positions: nvt: (N, 3) in [0, L); nve: (R, N, 3) unwrapped replica positions.
    momenta: the momenta, shaped as `positions`.
    initial_positions: nve only: (N, 3) equilibrated positions in [0, L).
    start_velocities: nve only: (R, N, 3) replica velocities at t = 0.
  """
  stage: str
  step: int
  positions: np.ndarray
  momenta: np.ndarray
  initial_positions: np.ndarray | None = None
  start_velocities: np.ndarray | None = None


def save_checkpoint(path: str, checkpoint: Checkpoint, fingerprint: str) -> None:
  fields = {f.name: getattr(checkpoint, f.name) for f in dataclasses.fields(Checkpoint)}
  arrays = {name: value for name, value in fields.items() if value is not None}
  io.save_npz(path, fingerprint=np.array(fingerprint), **arrays)


def load_checkpoint(path: str, fingerprint: str) -> Checkpoint | None:
  """The checkpoint at `path`, or None if absent.

  Raises:
    errors.ConfigError: if it was written with other physics (`physics_fingerprint`).
  """
  if not os.path.isfile(path):
    return None
  with np.load(path) as data:
    stored = _stored_fingerprint(data)
    if stored is None:
      raise errors.ConfigError(f'{path}: a checkpoint of an older version; delete it to start '
                               'over.')
    _require_same_physics(path, stored, fingerprint)
    return Checkpoint(stage=str(data['stage']), step=int(data['step']),
                      **{f.name: data[f.name] for f in dataclasses.fields(Checkpoint)
                         if f.name not in ('stage', 'step') and f.name in data})


class ProgressLog:
  """Logs configurations done, simulated time, particle-steps/s and ETA."""

  def __init__(self, num_configurations: int, num_complete: int, total_particle_steps: int,
               plan: Plan, dt: float, interval_s: float):
    self.num_configurations = num_configurations
    self.completed_configurations = num_complete
    self.total = max(total_particle_steps, 1)
    self.stage_steps = {'nvt': plan.schedule.total_steps, 'nve': plan.record_steps[-1]}
    self.dt = dt
    self.interval_s = interval_s
    self.done = 0
    self.start = time.time()
    self.last_log = 0.0

  def configuration_done(self) -> None:
    self.completed_configurations += 1

  def __call__(self, progress: protocol.Progress) -> None:
    self.done += progress.particle_steps
    now = time.time()
    stage_steps = self.stage_steps[progress.stage]
    if now - self.last_log < self.interval_s and progress.step < stage_steps:
      return
    self.last_log = now
    rate = self.done / max(now - self.start, 1e-9)
    eta = progress_lines.eta_seconds(self.total - self.done, self.done, now - self.start)
    logging.info(
        'configurations %d/%d | %s t=%.4g/%.4g | T=%.4f E/N=%.5f | %.3g particle-steps/s | '
        'ETA %s', self.completed_configurations, self.num_configurations, progress.stage,
        progress.step * self.dt, stage_steps * self.dt,
        float(np.mean(progress.temperature)), float(np.mean(progress.total_energy)), rate,
        progress_lines.format_duration(eta))


def _pad(array: jnp.ndarray, size: int) -> jnp.ndarray:
  """Pads the leading axis to `size` by repeating the last entry."""
  if array.shape[0] == size:
    return array
  return jnp.concatenate([array, jnp.repeat(array[-1:], size - array.shape[0], axis=0)])


def _round_up(value: int, multiple: int) -> int:
  return -(-value // multiple) * multiple


def _chunks(items: Sequence[int], size: int) -> Iterable[list[int]]:
  for start in range(0, len(items), size):
    yield list(items[start:start + size])


def _write_output(path: str, sim: protocol.Simulation, config: ml_collections.ConfigDict,
                  checkpoint: Checkpoint, plan: Plan) -> None:
  """Writes the BOTAN file of `checkpoint` (replicas at `checkpoint.step`) unless it exists.

  An existing file was checked against the plan's fingerprint by `_is_complete`.
  `time_table` stores the row its tcXX indexes (Table I's, or `config.time_table`).
  """
  if os.path.exists(path):
    return
  io.save_npz(
      path, types=sim.types.astype(np.int8),
      initial_positions=checkpoint.initial_positions.astype(np.float64),
      positions=checkpoint.positions.astype(np.float64),
      box=np.full(3, sim.box_length), time=np.float64(round(checkpoint.step * config.dt, 10)),
      temperature=np.float64(config.temperature), seed=np.int64(config.seed),
      start_velocities=checkpoint.start_velocities.astype(np.float64),
      time_table=np.asarray(plan.times, np.float64), fingerprint=np.array(plan.fingerprint))


def _stop_steps(first_step: int, last_step: int, every: int,
                extra: Iterable[int] = ()) -> list[int]:
  """Steps after `first_step` up to `last_step`: every `every` steps, `extra`, and the last."""
  stops = set(range(first_step + every, last_step, every)) | {last_step} | set(extra)
  return sorted(s for s in stops if first_step < s <= last_step)


def _equilibrate_batch(sim: protocol.Simulation, workdir: str, config: ml_collections.ConfigDict,
                       plan: Plan, ids: list[int], checkpoints: dict[int, Checkpoint],
                       first_step: int, progress: ProgressLog) -> dict[int, Checkpoint]:
  """Equilibrates `ids` together from step `first_step` and draws their replica velocities.

  Args:
    checkpoints: NVT checkpoints at `first_step` by id; unused when
      `first_step` is 0 (the ids start from their lattices).

  Returns:
    The NVE checkpoints (step 0) of `ids`, also saved.
  """
  keys = jnp.stack([configuration_key(config.seed, i) for i in ids])
  equilibration_keys, replica_keys = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
  padded = _round_up(len(ids), sim.num_devices)
  if first_step == 0:
    positions, momenta = protocol.initial_state(sim, _pad(equilibration_keys, padded),
                                                plan.schedule.hold_temperature)
  else:
    positions = _pad(jnp.stack([checkpoints[i].positions for i in ids]), padded)
    momenta = _pad(jnp.stack([checkpoints[i].momenta for i in ids]), padded)
  last_step = plan.schedule.total_steps
  for step, positions, momenta in protocol.run_nvt(
      sim, positions, momenta, plan.schedule,
      _stop_steps(first_step, last_step, config.checkpoint_every_steps), first_step,
      config.segment_steps, progress):
    if step < last_step:
      for b, config_id in enumerate(ids):
        save_checkpoint(checkpoint_path(workdir, config, config_id),
                        Checkpoint('nvt', step, positions[b], momenta[b]), plan.fingerprint)
  replica_momenta = np.asarray(protocol.replica_momenta(
      replica_keys, config.num_replicas, config.num_particles, plan.temperature))
  equilibrated = {}
  for b, config_id in enumerate(ids):
    initial = np.asarray(positions[b])
    equilibrated[config_id] = Checkpoint(
        'nve', 0, positions=np.broadcast_to(initial, replica_momenta[b].shape).copy(),
        momenta=replica_momenta[b], initial_positions=initial,
        start_velocities=replica_momenta[b])
    save_checkpoint(checkpoint_path(workdir, config, config_id), equilibrated[config_id],
                    plan.fingerprint)
  return equilibrated


def _run_replica_batch(sim: protocol.Simulation, workdir: str, config: ml_collections.ConfigDict,
                       plan: Plan, checkpoints: dict[int, Checkpoint],
                       progress: ProgressLog) -> None:
  """Runs the NVE replicas of configurations that share a resume step; writes their files."""
  ids = sorted(checkpoints)
  first_step = int(checkpoints[ids[0]].step)
  time_index_of = dict(zip(plan.record_steps, plan.time_indices))
  last_step = plan.record_steps[-1]
  padded = len(ids)
  while (padded * config.num_replicas) % sim.num_devices:
    padded += 1
  positions = _pad(jnp.stack([checkpoints[i].positions for i in ids]), padded)
  momenta = _pad(jnp.stack([checkpoints[i].momenta for i in ids]), padded)
  stops = _stop_steps(first_step, last_step, config.checkpoint_every_steps, plan.record_steps)
  for step, positions, momenta in protocol.run_replicas(
      sim, positions, momenta, stops, first_step, config.segment_steps, progress):
    for b, config_id in enumerate(ids):
      checkpoint = dataclasses.replace(checkpoints[config_id], positions=positions[b],
                                       momenta=momenta[b], step=step)
      if step in time_index_of:
        _write_output(output_path(workdir, config, config_id, time_index_of[step]), sim,
                      config, checkpoint, plan)
      if step < last_step:
        save_checkpoint(checkpoint_path(workdir, config, config_id), checkpoint,
                        plan.fingerprint)
  for config_id in ids:
    path = checkpoint_path(workdir, config, config_id)
    if os.path.exists(path):
      os.remove(path)
    progress.configuration_done()


def _is_complete(workdir: str, config: ml_collections.ConfigDict, plan: Plan,
                 config_id: int) -> bool:
  """Whether every file of `config_id` exists; each existing one must match the physics."""
  existing = [path for path in (output_path(workdir, config, config_id, k)
                                for k in plan.time_indices) if os.path.exists(path)]
  for path in existing:
    with np.load(path) as data:
      stored = _stored_fingerprint(data)
    if stored is None:
      logging.warning('%s: written without a fingerprint (an older version); taken as it is.',
                      path)
    else:
      _require_same_physics(path, stored, plan.fingerprint)
  return len(existing) == len(plan.time_indices)


def _resumable(workdir: str, config: ml_collections.ConfigDict, plan: Plan, config_id: int,
               checkpoint: Checkpoint | None) -> Checkpoint | None:
  """`checkpoint`, unless it is an NVE one past a recorded time whose file is missing.

  That happens when time indices were added after the run was interrupted;
  the configuration then starts over (its existing files are kept).
  """
  if checkpoint is None or checkpoint.stage != 'nve':
    return checkpoint
  missing = [k for k, step in zip(plan.time_indices, plan.record_steps)
             if step <= checkpoint.step
             and not os.path.exists(output_path(workdir, config, config_id, k))]
  if missing:
    logging.warning('Configuration %d: its checkpoint at step %d is past the missing time '
                    'indices %s; starting it over.', config_id, checkpoint.step, missing)
    return None
  return checkpoint


def generate(config: ml_collections.ConfigDict, workdir: str) -> list[str]:
  """Generates (or completes) the dataset described by `config` under `workdir`.

  Args:
    config: see `configs/generate.py` for the fields.
    workdir: output root; files go to `{workdir}/T{T:.2f}/{train,test}/`.

  Returns:
    The paths of all files of the dataset, complete ones from earlier runs
    included, ordered by configuration id and time index.

  Raises:
    errors.ConfigError (a ValueError): for a bad parameter, or a checkpoint of a different run.
  """
  plan = make_plan(config)
  _require_ids_in_their_split(workdir, config)
  all_ids = list(range(1, config.num_train + config.num_test + 1))
  paths = [output_path(workdir, config, i, k) for i in all_ids for k in plan.time_indices]
  pending = [i for i in all_ids if not _is_complete(workdir, config, plan, i)]
  for config_id in set(all_ids) - set(pending):  # Interrupted before its checkpoint's removal.
    if os.path.exists(leftover := checkpoint_path(workdir, config, config_id)):
      os.remove(leftover)
  logging.info('Generating T=%.2f N=%d R=%d: %d of %d configurations to do, time indices %s '
               '(steps %s), NVT %d steps.', plan.temperature, config.num_particles,
               config.num_replicas, len(pending), len(all_ids), plan.time_indices,
               plan.record_steps, plan.schedule.total_steps)
  if not pending:
    _remove_if_empty(checkpoint_dir(workdir, config))
    return paths

  with protocol.float_precision(config.precision):
    sim = protocol.make_simulation(
        config.num_particles, config.density, config.dt, config.skin,
        neighbor_format=config.neighbor_format,
        capacity_multiplier=config.capacity_multiplier,
        neighbor_builder=config.neighbor_builder,
        thermostat_tau=config.thermostat_tau,
        thermostat_chain_length=config.thermostat_chain_length,
        thermostat_chain_steps=config.thermostat_chain_steps,
        thermostat_sy_steps=config.thermostat_sy_steps)
    checkpoints = {i: _resumable(workdir, config, plan, i, load_checkpoint(
        checkpoint_path(workdir, config, i), plan.fingerprint)) for i in pending}
    nvt_groups: dict[int, list[int]] = {}
    nve_groups: dict[int, list[int]] = {}
    for config_id, checkpoint in checkpoints.items():
      if checkpoint is None or checkpoint.stage == 'nvt':
        step = 0 if checkpoint is None else checkpoint.step
        nvt_groups.setdefault(step, []).append(config_id)
      else:
        nve_groups.setdefault(checkpoint.step, []).append(config_id)
    last_nve_step = plan.record_steps[-1]
    total = config.num_particles * sum(
        (plan.schedule.total_steps - step) * len(ids) for step, ids in nvt_groups.items())
    total += config.num_particles * config.num_replicas * (
        sum(last_nve_step * len(ids) for ids in nvt_groups.values())
        + sum((last_nve_step - step) * len(ids) for step, ids in nve_groups.items()))
    progress = ProgressLog(len(all_ids), len(all_ids) - len(pending), total, plan, config.dt,
                           config.log_interval_s)
    logging.info('%d configurations resume from checkpoints; devices: %s.',
                 sum(c is not None for c in checkpoints.values()), sim.mesh.devices.tolist())

    for ids in nve_groups.values():
      for chunk in _chunks(ids, config.nve_batch):
        _run_replica_batch(sim, workdir, config, plan, {i: checkpoints[i] for i in chunk},
                           progress)
    for first_step, ids in sorted(nvt_groups.items(), reverse=True):
      for nvt_chunk in _chunks(ids, config.nvt_batch):
        equilibrated = _equilibrate_batch(sim, workdir, config, plan, nvt_chunk, checkpoints,
                                          first_step, progress)
        for chunk in _chunks(nvt_chunk, config.nve_batch):
          _run_replica_batch(sim, workdir, config, plan, {i: equilibrated[i] for i in chunk},
                             progress)
  if missing := [path for path in paths if not os.path.exists(path)]:
    raise RuntimeError(f'{len(missing)} files were not written, e.g. {missing[0]}.')
  _remove_if_empty(checkpoint_dir(workdir, config))
  logging.info('Dataset complete: %d files under %s.', len(paths),
               temperature_dir(workdir, config.temperature))
  return paths

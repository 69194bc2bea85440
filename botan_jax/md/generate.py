"""Resumable driver writing isoconfigurational datasets in the BOTAN npz format.

`generate(config, workdir)` checks the config (`plans.make_plan`), then runs
the stages of `protocol` for configurations 1..num_train
(`{workdir}/T{T:.2f}/train/`) and num_train+1..num_train+num_test
(`.../test/`) in batches, writing one file per configuration and time index,
`isoconfig_N{N}T{T:.2f}_{id}_tc{XX:02d}.npz` (names and folders from
`botan_jax.layout`), with the keys
  types (N,) int8, initial_positions (N, 3) float64 in [0, L),
  positions (R, N, 3) float64 unwrapped, box (3,), time, temperature, seed,
  start_velocities (R, N, 3), time_table (the times tcXX indexes: Table I's
  row, or config.time_table), and `fingerprint`: the config fields that
  define the physics (`plans.physics_fingerprint`).
Every write is atomic. A configuration whose files all exist with this
config's fingerprint is skipped; a file or checkpoint with another
fingerprint is refused (use another workdir) rather than reused, and so is a
file in the split its id no longer belongs to (num_train changed). An
interrupted configuration resumes from its checkpoint (`state`, in
`{workdir}/T{T:.2f}/checkpoints/`, written every `checkpoint_every_steps`
steps of either stage, at the end of equilibration and at each recorded time),
so a rerun never rewrites a complete file. Progress lines give the
configurations done, the simulated time, particle-steps/s and the ETA.

Each configuration's random draws (lattice, melt velocities, replica
velocities) come from (seed, configuration id) alone
(`plans.configuration_key`). The trajectories are reproduced bit for bit only
by a rerun with the same batching and no interruption: a resume restarts the
Nose-Hoover chain at rest and rebuilds neighbor lists at other steps, and
batch-mates share list rebuilds, so the round-off differs and the chaotic
dynamics carry it to a different, equally valid trajectory (same ensemble,
same protocol).

Several processes (a SLURM job array, JAX processes, or shells) share one
dataset by `shard`: each makes whole batches of consecutive ids
(`shard_ids`), so a fresh dataset made in shards equals, file for file and
bit for bit, the one a single process makes (with the same devices per
process). A shard writes, checks and removes only its own configurations'
files and checkpoints.
"""

import dataclasses
import functools
import os
import time
from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from botan_jax import cluster, errors, io, layout
from botan_jax import progress as progress_lines  # `progress` names the ProgressLog here.
from botan_jax.md import engine, plans, protocol, state


def output_path(workdir: str, config: ml_collections.ConfigDict, config_id: int,
                time_index: int) -> str:
  """Path of the file of configuration `config_id` at `time_index` (train or test by id)."""
  split = 'train' if config_id <= config.num_train else 'test'
  return os.path.join(layout.split_dir(workdir, config.temperature, split),
                      layout.dataset_file_name(config.num_particles, config.temperature,
                                               config_id, time_index))


def _require_ids_in_their_split(workdir: str, config: ml_collections.ConfigDict,
                                ids: set[int]) -> None:
  """Refuses files of configurations `ids` lying in the split their id does not belong to.

  Raises:
    errors.ConfigError: naming the first such file, e.g. test/ id 3 after num_train grew to 3.
  """
  # The start of this N and T's file names, up to the id (from layout's glob).
  prefix = layout.dataset_file_name(config.num_particles, config.temperature, '*',
                                    0).partition('*')[0]
  for split in layout.SPLITS:
    directory = layout.split_dir(workdir, config.temperature, split)
    for file_name in sorted(os.listdir(directory)) if os.path.isdir(directory) else ():
      match = layout.DATASET_NAME.match(file_name)
      if not (match and file_name.startswith(prefix)):
        continue
      config_id, time_index = int(match['id']), int(match['tc'])
      if config_id not in ids:
        continue  # Another shard's, or beyond this dataset.
      expected = output_path(workdir, config, config_id, time_index)
      if os.path.dirname(expected) != directory:
        raise errors.ConfigError(
            f'{os.path.join(directory, file_name)}: configuration {config_id} belongs to '
            f'{os.path.basename(os.path.dirname(expected))}/ with num_train='
            f'{config.num_train}, so the dataset would hold it twice or in the wrong set. '
            'Move or delete it, or use another --workdir.')


def _id_ranges(ids: Sequence[int]) -> str:
  """'1-8, 17-24' for runs of consecutive ids."""
  runs: list[list[int]] = []
  for i in ids:
    if runs and i == runs[-1][-1] + 1:
      runs[-1].append(i)
    else:
      runs.append([i])
  return ', '.join(f'{r[0]}-{r[-1]}' if len(r) > 1 else str(r[0]) for r in runs)


def _remove_state_dir_if_empty(workdir: str, config: ml_collections.ConfigDict,
                               shard: cluster.Shard) -> None:
  """Removes the empty checkpoint folder; only a lone shard does (others may be writing there)."""
  if shard.count == 1:
    _remove_if_empty(layout.generator_state_dir(workdir, config.temperature))


def _remove_if_empty(directory: str) -> None:
  if os.path.isdir(directory) and not os.listdir(directory):
    os.rmdir(directory)


class ProgressLog:
  """Logs configurations done, simulated time, particle-steps/s and ETA.

  A line at the first report, then every `interval_s` seconds and at the end of each stage.
  """

  def __init__(self, num_configurations: int, num_complete: int, total_particle_steps: int,
               plan: plans.Plan, dt: float, interval_s: float):
    self.num_configurations = num_configurations
    self.completed_configurations = num_complete
    self.total = max(total_particle_steps, 1)
    self.stage_steps = {'nvt': plan.schedule.total_steps, 'nve': plan.record_steps[-1]}
    self.dt = dt
    self.interval = progress_lines.Interval(interval_s)
    self.logged = False
    self.done = 0
    self.start = time.time()

  def configuration_done(self) -> None:
    self.completed_configurations += 1

  def __call__(self, progress: engine.Progress) -> None:
    self.done += progress.particle_steps
    now = time.time()
    stage_steps = self.stage_steps[progress.stage]
    if self.logged and progress.step < stage_steps and not self.interval.due():
      return
    self.logged = True
    self.interval.restart()
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


def _write_output(path: str, sim: engine.Simulation, config: ml_collections.ConfigDict,
                  checkpoint: state.Checkpoint, plan: plans.Plan) -> None:
  """Writes the BOTAN file of `checkpoint` (replicas at `checkpoint.step`) unless it exists.

  An existing file was checked against the plan's fingerprint by `_is_complete`.
  `time_table` stores the row its tcXX indexes (Table I's, or `config.time_table`).
  """
  if os.path.exists(path):
    return
  extra = {}
  if config.get('store_inherent', False):  # The same minimum for every time index's file.
    extra[io.INHERENT_KEY] = _inherent_positions(
        checkpoint.initial_positions.astype(np.float64).tobytes(), sim.types.astype(np.int32),
        sim.box_length)
  io.save_npz(
      path, **extra, types=sim.types.astype(np.int8),
      initial_positions=checkpoint.initial_positions.astype(np.float64),
      positions=checkpoint.positions.astype(np.float64),
      box=np.full(3, sim.box_length), time=np.float64(round(checkpoint.step * config.dt, 10)),
      temperature=np.float64(config.temperature), seed=np.int64(config.seed),
      start_velocities=checkpoint.start_velocities.astype(np.float64),
      time_table=np.asarray(plan.times, np.float64), fingerprint=np.array(plan.fingerprint))


@functools.lru_cache(maxsize=16)
def _inherent_positions_cached(initial: bytes, types: bytes, box_length: float) -> np.ndarray:
  from botan_jax.md import minimize  # pylint: disable=g-import-not-at-top
  positions = np.frombuffer(initial, np.float64).reshape(-1, 3)
  result = minimize.inherent_structures(positions, np.frombuffer(types, np.int32), box_length)
  return result.positions


def _inherent_positions(initial: bytes, types: np.ndarray, box_length: float) -> np.ndarray:
  """The inherent structure (N, 3) of the configuration whose t=0 positions are `initial`."""
  return _inherent_positions_cached(initial, types.tobytes(), float(box_length))


def _stop_steps(first_step: int, last_step: int, every: int,
                extra: Iterable[int] = ()) -> list[int]:
  """Steps after `first_step` up to `last_step`: every `every` steps, `extra`, and the last."""
  stops = set(range(first_step + every, last_step, every)) | {last_step} | set(extra)
  return sorted(s for s in stops if first_step < s <= last_step)


def _equilibrate_batch(sim: engine.Simulation, workdir: str, config: ml_collections.ConfigDict,
                       plan: plans.Plan, ids: list[int],
                       checkpoints: dict[int, state.Checkpoint], first_step: int,
                       progress: ProgressLog) -> dict[int, state.Checkpoint]:
  """Equilibrates `ids` together from step `first_step` and draws their replica velocities.

  Args:
    checkpoints: NVT checkpoints at `first_step` by id; unused when
      `first_step` is 0 (the ids start from their lattices).

  Returns:
    The NVE checkpoints (step 0) of `ids`, also saved.
  """
  keys = jnp.stack([plans.configuration_key(config.seed, i) for i in ids])
  equilibration_keys, replica_keys = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
  padded = _round_up(len(ids), sim.num_devices)
  if first_step == 0:
    positions, momenta = protocol.lattice_start(sim, _pad(equilibration_keys, padded),
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
        state.save_checkpoint(state.checkpoint_path(workdir, config, config_id),
                              state.Checkpoint('nvt', step, positions[b], momenta[b]),
                              plan.fingerprint)
  replica_momenta = np.asarray(protocol.replica_momenta(
      replica_keys, config.num_replicas, config.num_particles, plan.temperature))
  equilibrated = {}
  for b, config_id in enumerate(ids):
    initial = np.asarray(positions[b])
    equilibrated[config_id] = state.Checkpoint(
        'nve', 0, positions=np.broadcast_to(initial, replica_momenta[b].shape).copy(),
        momenta=replica_momenta[b], initial_positions=initial,
        start_velocities=replica_momenta[b])
    state.save_checkpoint(state.checkpoint_path(workdir, config, config_id),
                          equilibrated[config_id], plan.fingerprint)
  return equilibrated


def _run_replica_batch(sim: engine.Simulation, workdir: str, config: ml_collections.ConfigDict,
                       plan: plans.Plan, checkpoints: dict[int, state.Checkpoint],
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
        state.save_checkpoint(state.checkpoint_path(workdir, config, config_id), checkpoint,
                              plan.fingerprint)
  for config_id in ids:
    path = state.checkpoint_path(workdir, config, config_id)
    if os.path.exists(path):
      os.remove(path)
    progress.configuration_done()


def _is_complete(workdir: str, config: ml_collections.ConfigDict, plan: plans.Plan,
                 config_id: int) -> bool:
  """Whether every file of `config_id` exists; each existing one must match the physics."""
  existing = [path for path in (output_path(workdir, config, config_id, k)
                                for k in plan.time_indices) if os.path.exists(path)]
  for path in existing:
    with np.load(path) as data:
      stored = plans.stored_fingerprint(data)
    if stored is None:
      logging.warning('%s: written without a fingerprint (an older version); taken as it is.',
                      path)
    else:
      plans.require_same_physics(path, stored, plan.fingerprint)
  return len(existing) == len(plan.time_indices)


def _resumable(workdir: str, config: ml_collections.ConfigDict, plan: plans.Plan,
               config_id: int, checkpoint: state.Checkpoint | None) -> state.Checkpoint | None:
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


def shard_ids(config: ml_collections.ConfigDict, shard: cluster.Shard) -> list[int]:
  """The configuration ids that `shard` makes: whole batches of `nvt_batch` consecutive ids.

  The ids 1..num_train+num_test are cut into batches of nvt_batch (1-8, 9-16,
  ... for 8), as one process cuts them, and shard k of n takes batches k,
  k+n, k+2n, ... So every configuration is equilibrated with the same
  batch-mates whatever the number of shards, and a fresh dataset is the same
  bit for bit made by one process or by any number of shards (with the same
  devices per process).

  Raises:
    errors.ConfigError: for more shards than batches (a shard would make nothing).
  """
  all_ids = list(range(1, config.num_train + config.num_test + 1))
  batches = list(_chunks(all_ids, config.nvt_batch))
  if shard.count > len(batches):
    raise errors.ConfigError(
        f'{shard.count} shards for {len(all_ids)} configurations in {len(batches)} batches of '
        f'nvt_batch={config.nvt_batch}: shard {len(batches)} onwards would make nothing. Use at '
        f'most {len(batches)} shards, or a smaller --config.nvt_batch (1 gives one configuration '
        'per shard).')
  return [i for batch in shard.take(batches) for i in batch]


def generate(config: ml_collections.ConfigDict, workdir: str,
             shard: cluster.Shard = cluster.Shard()) -> list[str]:
  """Generates (or completes) the dataset described by `config` under `workdir`.

  Args:
    config: see `botan_jax/presets/generate.py` for the fields.
    workdir: output root; files go to `{workdir}/T{T:.2f}/{train,test}/`.
    shard: the share of the configurations this process makes (`shard_ids`);
      shards write, check and remove only their own configurations' files, so
      any number of them run side by side on one dataset, each resumable.

  Returns:
    The paths of the shard's files (all the dataset's for one shard),
    complete ones from earlier runs included, ordered by configuration id and
    time index.

  Raises:
    errors.ConfigError (a ValueError): for a bad parameter or shard, or a checkpoint of a
      different run.
  """
  plan = plans.make_plan(config)
  ids = shard_ids(config, shard)
  _require_ids_in_their_split(workdir, config, set(ids))
  paths = [output_path(workdir, config, i, k) for i in ids for k in plan.time_indices]
  pending = [i for i in ids if not _is_complete(workdir, config, plan, i)]
  for config_id in set(ids) - set(pending):  # Interrupted before its checkpoint's removal.
    if os.path.exists(leftover := state.checkpoint_path(workdir, config, config_id)):
      os.remove(leftover)
  of_shard = '' if shard.count == 1 else f' (shard {shard}: ids {_id_ranges(ids)})'
  logging.info('Generating T=%.2f N=%d R=%d: %d of %d configurations to do%s, time indices %s '
               '(steps %s), NVT %d steps.', plan.temperature, config.num_particles,
               config.num_replicas, len(pending), len(ids), of_shard, plan.time_indices,
               plan.record_steps, plan.schedule.total_steps)
  if not pending:
    _remove_state_dir_if_empty(workdir, config, shard)
    return paths

  with engine.float_precision(config.precision):
    sim = engine.make_simulation(
        config.num_particles, config.density, config.dt, config.skin,
        neighbor_format=config.neighbor_format,
        capacity_multiplier=config.capacity_multiplier,
        neighbor_builder=config.neighbor_builder,
        thermostat_tau=config.thermostat_tau,
        thermostat_chain_length=config.thermostat_chain_length,
        thermostat_chain_steps=config.thermostat_chain_steps,
        thermostat_sy_steps=config.thermostat_sy_steps)
    checkpoints = {i: _resumable(workdir, config, plan, i, state.load_checkpoint(
        state.checkpoint_path(workdir, config, i), plan.fingerprint)) for i in pending}
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
    progress = ProgressLog(len(ids), len(ids) - len(pending), total, plan, config.dt,
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
  _remove_state_dir_if_empty(workdir, config, shard)
  logging.info('%s complete: %d files under %s.',
               'Dataset' if shard.count == 1 else f'Shard {shard}', len(paths),
               layout.temperature_dir(workdir, config.temperature))
  return paths

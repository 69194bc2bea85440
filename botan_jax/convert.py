"""Isoconfigurational ensembles from a user's simulations -> BOTAN npz (`--mode=convert`).

The input is one trajectory per replica (LAMMPS text dumps or GSD files, a glob):
R runs that start from one configuration with fresh velocities. From each, the
frame at t = 0 (MD step 0) is the configuration, which every replica must hold
(checked, to AGREEMENT_TOLERANCE, with the same types and box), and the frames
at the requested times give `positions`. t = step * dt.

Displacements need unwrapped positions: `xu yu zu` (or `xsu ysu zsu`), or
`x y z` with image flags `ix iy iz` in a dump; position plus image times L in a
GSD file. Wrapped positions without images are refused: a particle that crossed
the boundary would seem to have jumped by L.

One file per requested time is written, with the generator's keys and name
(`md/generate.py`, `layout.dataset_file_name`): types (N,) int8, initial_positions
(N, 3) wrapped into [0, L), positions (R, N, 3) = initial_positions plus each
replica's unwrapped displacement, box (3,), time, temperature, time_table, and
`replica_files` (the R source files, in order). tcXX is the 1-based index into
Table I's row when the temperature has one and every requested time is in it,
else into the requested times (stored as `time_table` either way).
"""

import json
import os
import time as time_module
from collections.abc import Sequence

import numpy as np
from absl import logging

from botan_jax import formats
from botan_jax import graphs
from botan_jax import io
from botan_jax import layout
from botan_jax import progress
from botan_jax import system

AGREEMENT_TOLERANCE = 1e-4  # sigma_AA: replicas' t = 0 positions (dumps print 6-10 digits).
PROGRESS_INTERVAL_S = 30.0


def time_table(temperature: float, times: Sequence[float]) -> tuple[np.ndarray, list[int]]:
  """The table tcXX indexes and the 1-based index of each time in it.

  Table I's row at `temperature` when it has one holding every time, else `times`.
  """
  if system.has_time_row(temperature):
    row = system.time_row(temperature)
    index = [next((k + 1 for k, entry in enumerate(row) if system.same_time(t, entry)), None)
             for t in times]
    if None not in index:
      return np.asarray(row, np.float64), index
  return np.asarray(times, np.float64), list(range(1, len(times) + 1))


def frame_at(frames: Sequence[formats.Frame], t: float, dt: float, path: str) -> formats.Frame:
  """The frame whose step * dt is `t`.

  Raises:
    io.DataError: naming the times the file holds, when none is `t`.
  """
  for frame in frames:
    if frame.step is not None and abs(frame.step * dt - t) <= 1e-6 * max(abs(t), dt):
      return frame
  held = [f'{frame.step * dt:g}' for frame in frames if frame.step is not None]
  raise io.DataError(f'{path}: no frame at t={t:g} (step {t / dt:g} with dt={dt:g}); the file '
                     f'holds t = {", ".join(held[:12])}{" ..." if len(held) > 12 else ""}. '
                     'Check --times and --dt; steps must count from 0 where each replica '
                     'starts (LAMMPS: reset_timestep 0).')


def unwrapped(frame: formats.Frame) -> np.ndarray:
  """(N, 3) unwrapped positions of a frame; refuses wrapped positions without image flags."""
  if frame.unwrapped is None:
    raise io.DataError(
        f'{frame.source}: wrapped positions without image flags; a particle that crossed the '
        'periodic boundary would seem to jump by L. Dump unwrapped positions (LAMMPS: dump ... '
        'id type xu yu zu) or x y z with ix iy iz.')
  return frame.unwrapped


def replica_displacements(path: str, frames: Sequence[formats.Frame], times: Sequence[float],
                          dt: float) -> tuple[formats.Frame, np.ndarray]:
  """A replica's t = 0 frame and its displacements (T, N, 3) at `times`, unwrapped.

  Raises:
    io.DataError: for frames of another N or other types than the first, no
      frame at t = 0 or at a requested time, or positions that cannot be unwrapped.
  """
  first = frames[0]
  for frame in frames[1:]:
    if frame.num_particles != first.num_particles:
      raise io.DataError(f'{frame.source}: {frame.num_particles} particles, but the first frame '
                         f'has {first.num_particles}; every frame must hold the same particles.')
    if not np.array_equal(frame.labels, first.labels):
      raise io.DataError(f'{frame.source}: the particle types differ from the first frame\'s.')
  start = frame_at(frames, 0.0, dt, path)
  origin = unwrapped(start)
  return start, np.stack([unwrapped(frame_at(frames, t, dt, path)) - origin for t in times])


def check_agreement(reference: formats.Frame, other: formats.Frame, path: str) -> None:
  """Refuses a replica whose t = 0 configuration (types, box, positions) is not the first's."""
  if other.num_particles != reference.num_particles:
    raise io.DataError(f'{path}: {other.num_particles} particles at t=0, but '
                       f'{reference.source} has {reference.num_particles}.')
  if not np.allclose(other.box, reference.box, rtol=1e-9, atol=0):
    raise io.DataError(f'{path}: box {other.box.tolist()} at t=0, but {reference.source} has '
                       f'{reference.box.tolist()}; replicas must start from one configuration.')
  if not np.array_equal(other.labels, reference.labels):
    raise io.DataError(f'{path}: particle types at t=0 differ from {reference.source}\'s; '
                       'replicas must start from one configuration.')
  gap = np.linalg.norm(graphs.minimum_image(
      (other.positions - other.origin) - (reference.positions - reference.origin),
      reference.box), axis=1)
  if gap.max() > AGREEMENT_TOLERANCE:
    raise io.DataError(
        f'{path}: at t=0, particle {int(gap.argmax()) + 1} (by id) is {gap.max():.3g} sigma_AA '
        f'from its place in {reference.source} ({np.count_nonzero(gap > AGREEMENT_TOLERANCE)} '
        f'particles beyond {AGREEMENT_TOLERANCE:g}); the replicas of an isoconfigurational '
        'ensemble must start from one configuration.')


def convert(replicas: str, output_dir: str, times: Sequence[float], temperature: float,
            config_id: int, dt: float = system.TIME_STEP, format: str | None = None,  # pylint: disable=redefined-builtin
            type_map: str | None = None, strict: bool = False) -> list[str]:
  """Converts the replicas matching `replicas` into one BOTAN npz per time; returns the paths.

  Args:
    replicas: a glob (or directory) of LAMMPS text dumps or GSD files, one per replica.
    output_dir: where the files go (e.g. data/T0.44/train).
    times: the times of `positions`, in LJ units (> 0).
    temperature: the ensemble's temperature (file name and `temperature`).
    config_id: the configuration's id in the file name.
    dt: the MD time step: t = step * dt.
    format: 'lammps-dump' or 'gsd'; default from the suffix.
    type_map: the files' types to A and B ('1:A,2:B' by default).
    strict: refuse a number density more than 1% off 1.2 instead of warning.
  """
  if not times or min(times) <= 0:
    raise io.DataError(f'times {list(times)}: give one or more times > 0 (--times).')
  paths = io.find_files(replicas)
  type_table = formats.parse_type_map(type_map)
  timer, started = progress.Interval(PROGRESS_INTERVAL_S), time_module.monotonic()
  reference, displacements = None, []
  for k, path in enumerate(paths):
    kind = formats.detect_format(path, format)
    if kind not in formats.TRAJECTORY_FORMATS:
      raise io.DataError(f'{path}: a {kind} file holds no MD steps; convert reads one LAMMPS '
                         'text dump or GSD trajectory per replica.')
    start, moved = replica_displacements(path, formats.read_frames(path, kind), times, dt)
    if reference is None:
      reference = start
      formats.map_types(start.labels, type_table, start.source)
      formats.check_density(start.num_particles, start.box, start.source, strict)
    else:
      check_agreement(reference, start, path)
    displacements.append(moved)
    if timer.due() or k + 1 == len(paths):
      logging.info('Replicas read: %s.', progress.counted(
          k + 1, len(paths), 'files', time_module.monotonic() - started))
  types = formats.map_types(reference.labels, type_table, reference.source)
  initial = graphs.wrap(reference.positions - reference.origin, reference.box)
  table, indices = time_table(temperature, times)
  written = []
  for slot, (t, index) in enumerate(zip(times, indices)):
    path = os.path.join(output_dir, layout.dataset_file_name(
        len(types), temperature, config_id, index))
    io.save_npz(path, types=types.astype(np.int8), initial_positions=initial,
                positions=initial + np.stack([d[slot] for d in displacements]),
                box=reference.box.copy(), time=np.float64(round(t, 10)),
                temperature=np.float64(temperature), time_table=table,
                replica_files=np.array(json.dumps([os.path.abspath(p) for p in paths])))
    io.read_botan_npz(path)  # The readers' checks (stored time against its tcXX).
    written.append(path)
    logging.info('Wrote %s: %d replicas of %d particles at t=%g (tc%02d of %s).', path,
                 len(paths), len(types), t, index, table.tolist())
  return written

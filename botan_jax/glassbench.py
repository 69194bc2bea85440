"""GlassBench's 3-D Kob-Andersen files (the Roadmap's benchmark, Zenodo record 10118191).

One file per configuration, `KA_models/T{T:.2f}/{train,test}/N{N}T{T:.2f}_{id}.npz`:
  types                        (N,) particle types, coded 0/1 or 1/2 (A first, 80 %).
  initial_positions            (N, 3) the configuration at t=0, in sigma_AA (stored wrapped
                               into [-L/2, L/2); read into [0, L)).
  initial_positions_inherent   (N, 3) its inherent structure (energy minimum).
  initial_positions_cage       (N, 3) its cage state (some ids only).
  md_prop                      (10, N) the propensity S_i at the ten times of the
                               benchmark's `times_{T}.dat` (Table I's row, `system`).
  bb_prop                      (10, N) the bond-breaking propensity (not read).
  BOTAN, CAGE, GlassMLP, SE3   (10, N) test files only: other methods' predictions of md_prop.
The box stores no length: L = (N/1.2)^(1/3) (15.0566 for N=4096).

A file becomes an `io.Sample` with the propensity at one 1-based time index and no
trajectories (so no bond targets E); `read_scoring` gives what the benchmark scores.
Every malformed file is refused with its name (`io.DataError`).
"""

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from botan_jax import io
from botan_jax import layout
from botan_jax import system

# data.glassbench_positions -> the key holding those positions.
POSITIONS = {'initial': 'initial_positions', 'inherent': 'initial_positions_inherent',
              'cage': 'initial_positions_cage'}
PROPENSITY_KEY = 'md_prop'
METHODS = ('BOTAN', 'CAGE', 'GlassMLP', 'SE3')  # Stored predictions, in the benchmark's order.
NUM_TIMES = 10
TYPE_CODES = ((0, 1), (1, 2))  # (A, B) as stored; 1/2 is the LAMMPS habit.


def is_glassbench(path: str) -> bool:
  """Whether the npz `path` is GlassBench's: named `N{N}T{T}_{id}.npz`, or holding its
  propensities (`md_prop`) under another name; False for an unreadable file otherwise named
  (the BOTAN reader then says why)."""
  if layout.parse_glassbench_name(path) is not None:
    return True
  try:
    with np.load(path) as arrays:
      return PROPENSITY_KEY in arrays.files
  except io.NPZ_READ_ERRORS:
    return False


def _arrays(path: str) -> dict[str, np.ndarray]:
  if not os.path.isfile(path):
    raise io.DataError(f'{path}: no such file.')
  try:
    with np.load(path) as arrays:
      return {k: np.asarray(arrays[k]) for k in arrays.files}
  except io.NPZ_READ_ERRORS as err:
    raise io.DataError(f'{path}: not a readable npz file ({err}); it is damaged or incomplete: '
                       'download it again.') from err


def per_time(values: np.ndarray, num_particles: int, key: str, path: str) -> np.ndarray:
  """A per-time, per-particle array as (10, N) float64, whichever way it is stored.

  GlassBench stores (10, N); (N, 10) is transposed. Checked against the
  number of particles, so a file of another size, or with another number of
  times, is refused.

  Raises:
    io.DataError: naming the file and the key.
  """
  values = np.asarray(values)
  if values.dtype.kind not in 'iuf':
    raise io.DataError(f'{path}: {key} must hold numbers, got dtype {values.dtype}.')
  if num_particles == NUM_TIMES and values.shape == (NUM_TIMES, NUM_TIMES):
    raise io.DataError(f'{path}: {key} is ({NUM_TIMES}, {NUM_TIMES}): with {NUM_TIMES} '
                       'particles its orientation is ambiguous.')
  if values.shape == (num_particles, NUM_TIMES):
    values = values.T
  if values.shape != (NUM_TIMES, num_particles):
    raise io.DataError(f'{path}: {key} must be ({NUM_TIMES}, {num_particles}) (times, particles) '
                       f'for its {num_particles} particles, got {values.shape}.')
  values = values.astype(np.float64)
  if not np.isfinite(values).all():
    raise io.DataError(f'{path}: {key} holds {np.count_nonzero(~np.isfinite(values))} NaN/inf '
                       'values.')
  return values


def particle_types(raw: np.ndarray, path: str) -> np.ndarray:
  """Types (N,) int32, 0 = A, 1 = B, from codes 0/1 or 1/2 (`TYPE_CODES`).

  Raises:
    io.DataError: for other codes, or fewer A than B particles (a swapped
      coding: the Kob-Andersen mixture is 80 % A).
  """
  raw = np.asarray(raw)
  if raw.dtype.kind not in 'biuf' or raw.ndim != 1:
    raise io.DataError(f'{path}: types must be (N,) numbers, got {raw.dtype} {raw.shape}.')
  codes = set(np.unique(raw).tolist())
  for a_code, b_code in TYPE_CODES:
    if codes <= {a_code, b_code}:
      types = (raw == b_code).astype(np.int32)
      break
  else:
    raise io.DataError(f'{path}: types must be coded 0/1 or 1/2 (A/B); found '
                       f'{sorted(codes)[:5]}.')
  if np.count_nonzero(types == system.ParticleType.A) < np.count_nonzero(
      types == system.ParticleType.B):
    raise io.DataError(f'{path}: fewer A than B particles ({np.mean(types == 0):.0%} A); the '
                       'Kob-Andersen mixture is 80 % A: the types look swapped.')
  return types


def check_time_index(time_index: int | None, path: str) -> int:
  if time_index is None or not 1 <= int(time_index) <= NUM_TIMES:
    raise io.DataError(f'{path}: a GlassBench file needs data.time_index in 1..{NUM_TIMES} (its '
                       f'ten times), got {time_index}.')
  return int(time_index)


def _positions(arrays: dict[str, np.ndarray], positions: str, path: str) -> np.ndarray:
  if positions not in POSITIONS:
    raise io.DataError(f'{path}: data.glassbench_positions={positions!r}; choose one of '
                       f'{", ".join(POSITIONS)}.')
  key = POSITIONS[positions]
  if key not in arrays:
    raise io.DataError(f'{path}: no {key} (data.glassbench_positions={positions!r}); found '
                       f'{sorted(arrays)}. GlassBench stores cage states for some ids only.')
  return arrays[key]


def read_sample(path: str, time_index: int | None, positions: str = 'initial') -> io.Sample:
  """One GlassBench configuration with its propensity at the 1-based `time_index`.

  Args:
    path: the npz file.
    time_index: 1..10, into the file's ten times (Table I's row at its temperature).
    positions: which stored positions are the configuration: 'initial',
      'inherent' or 'cage' (`POSITIONS`). With 'initial', the file's inherent
      positions (when stored) become the sample's `inherent_positions`.

  Returns:
    The validated `io.Sample`: positions (N, 3) wrapped into [0, L), types 0/1,
    `propensity` (N,) in sigma_AA, no trajectories; temperature from the name,
    time from Table I (None off the table).
  """
  path = str(path)
  arrays = _arrays(path)
  missing = [k for k in ('types', PROPENSITY_KEY) if k not in arrays]
  if missing:
    raise io.DataError(f'{path}: missing keys {missing}; found {sorted(arrays)}.')
  index = check_time_index(time_index, path)
  key = POSITIONS[positions] if positions in POSITIONS else None
  positions = np.asarray(_positions(arrays, positions, path))
  if positions.ndim != 2 or positions.shape[1] != 3 or positions.dtype.kind not in 'iuf':
    raise io.DataError(f'{path}: {key} must be (N, 3) numbers, got '
                       f'{positions.dtype} {positions.shape}.')
  num_particles = positions.shape[0]
  box = np.full(3, system.box_length(num_particles))
  propensity = per_time(arrays[PROPENSITY_KEY], num_particles, PROPENSITY_KEY, path)
  name = layout.parse_glassbench_name(path) or {}
  temperature = name.get('temperature')
  time = (system.time_point(temperature, index) if system.has_time_row(temperature) else None)
  if not np.isfinite(positions).all():
    raise io.DataError(f'{path}: {key} holds '
                       f'{np.count_nonzero(~np.isfinite(positions))} NaN/inf values.')
  return io.validate(io.Sample(
      initial_positions=np.mod(positions.astype(np.float64), box),
      types=particle_types(arrays['types'], path),
      box=box, trajectory_positions=None, temperature=temperature, time=time, source=path,
      propensity=propensity[index - 1],
      inherent_positions=(np.mod(np.asarray(arrays[io.INHERENT_KEY], np.float64), box)
                          if key == POSITIONS['initial'] and io.INHERENT_KEY in arrays
                          else None)))


@dataclasses.dataclass(frozen=True)
class ScoringFile:
  """What the benchmark scores of one test file.

  Attributes:
    types: (N,) int32, 0 = A, 1 = B.
    propensity: (10, N) float64 S_i at the ten times, sigma_AA.
    predictions: method -> (10, N) float64 stored predictions (`METHODS` present).
    source: the file.
  """
  types: np.ndarray
  propensity: np.ndarray
  predictions: dict[str, np.ndarray]
  source: str


def read_scoring(path: str) -> ScoringFile:
  """The types, propensities and stored predictions of one GlassBench (test) file, checked."""
  path = str(path)
  arrays = _arrays(path)
  missing = [k for k in ('types', PROPENSITY_KEY) if k not in arrays]
  if missing:
    raise io.DataError(f'{path}: missing keys {missing}; found {sorted(arrays)}.')
  types = particle_types(arrays['types'], path)
  num_particles = len(types)
  return ScoringFile(
      types=types,
      propensity=per_time(arrays[PROPENSITY_KEY], num_particles, PROPENSITY_KEY, path),
      predictions={m: per_time(arrays[m], num_particles, m, path) for m in METHODS if m in arrays},
      source=path)


def same_configuration(glassbench: io.Sample, botan: io.Sample, tolerance: float = 1e-4) -> bool:
  """Whether two samples hold the same configuration (types, and positions within `tolerance`
  sigma_AA, minimum image): a GlassBench file and the authors' file of the same id, whose
  trajectories may then give the bond targets E."""
  if glassbench.types.shape != botan.types.shape or not np.array_equal(glassbench.types,
                                                                         botan.types):
    return False
  difference = glassbench.initial_positions - botan.initial_positions
  difference -= botan.box * np.rint(difference / botan.box)
  return bool(np.max(np.abs(difference)) < tolerance)


def matching_ids(glassbench_paths: Sequence[str], botan_paths: Sequence[str]) -> dict[int, bool]:
  """For each configuration id present in both lists, whether the GlassBench file and the
  authors' file of that id hold the same configuration (`same_configuration`).

  Then BOTAN may train on the authors' files of those ids (their trajectories give E, p < 1)
  and be scored on GlassBench's test files. Ids in one list only are left out.
  """
  authors = {}
  for path in botan_paths:
    name = layout.parse_dataset_name(path)
    if name is not None:
      authors.setdefault(name['config_id'], path)
  matches = {}
  for path in glassbench_paths:
    name = layout.parse_glassbench_name(path)
    if name is None or name['config_id'] not in authors:
      continue
    matches[name['config_id']] = same_configuration(read_sample(path, 1),
                                                    io.read_botan_npz(authors[name['config_id']]))
  return matches

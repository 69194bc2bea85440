"""Dataset readers and atomic writers.

Two public formats are read into one in-memory type, `Sample`:
  * BOTAN npz (`isoconfig_N{N}T{T}_{id}_tc{XX}.npz`): `types`, `initial_positions`
    and `positions` (R, N, 3); files written by this project also hold `box`,
    `temperature` and `time`.
  * DeepMind glassy-dynamics pickles: `positions`, `types`, `box`,
    `trajectory_target_positions[time_index]` and the time table.
  * GlassBench npz (`N{N}T{T}_{id}.npz`, the Roadmap's benchmark): told from a
    BOTAN npz by its name or its keys (`md_prop`), read by `botan_jax/glassbench.py`; the
    propensity S at ten times, no trajectories.
Every reader checks shapes, finiteness and particle types, and names the file in
any error it raises.
"""

import contextlib
import dataclasses
import glob
import json
import os
import pickle
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from absl import logging

from botan_jax import errors
from botan_jax import layout
from botan_jax import system


def _read_umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


_UMASK = _read_umask()  # Read once, at import: os.umask is process-wide.

# What np.load raises for a missing, truncated, damaged or non-npz file.
INHERENT_KEY = 'initial_positions_inherent'  # The inherent structure, in a file that has it.
NPZ_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


class DataError(errors.UserError, ValueError):
  """Raised for unreadable or inconsistent input data; the message names the file.

  A user error (`botan_jax.errors`): the command line reports it as one line.
  """


@dataclasses.dataclass(frozen=True)
class Sample:
  """One initial configuration and, optionally, its isoconfigurational runs.

  Attributes:
    initial_positions: (N, 3) float64 positions at t=0, inside [0, box).
    types: (N,) int32 particle types (`system.ParticleType`: 0 = A, 1 = B).
    box: (3,) float64 edge lengths of the periodic box.
    trajectory_positions: (R, N, 3) float64 unwrapped positions of the R runs at
      `time`, or None for a configuration without dynamics (prediction only).
    temperature: temperature of the ensemble, or None when unknown.
    time: time since t=0 of `trajectory_positions`, or None when unknown.
    source: the file this sample was read from.
    inherent_positions: (N, 3) float64 positions of the configuration's inherent
      structure (its local energy minimum), when the file carries them
      (`initial_positions_inherent`), else None (`botan_jax.inherent` makes them).
    propensity: (N,) float64 propensity S_i(time) in sigma_AA given by the file
      itself (GlassBench's `md_prop`), for a sample without trajectories; None
      otherwise (S is then computed from the trajectories).
  """
  initial_positions: np.ndarray
  types: np.ndarray
  box: np.ndarray
  trajectory_positions: np.ndarray | None
  temperature: float | None
  time: float | None
  source: str
  inherent_positions: np.ndarray | None = None
  propensity: np.ndarray | None = None

  @property
  def num_particles(self) -> int:
    return self.initial_positions.shape[0]


def validate(sample: Sample) -> Sample:
  """Checks shapes, finiteness and particle types; returns `sample` unchanged.

  Raises:
    DataError: naming `sample.source` and the first problem found.
  """
  def fail(problem: str):
    raise DataError(f'{sample.source}: {problem}')

  pos = sample.initial_positions
  if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] < 2:
    fail(f'initial positions must have shape (N, 3) with N >= 2, got {pos.shape}.')
  n = pos.shape[0]
  if sample.types.shape != (n,):
    fail(f'types must have shape ({n},) to match the positions, got {sample.types.shape}.')
  if not np.isin(sample.types, [t.value for t in system.ParticleType]).all():
    bad = np.unique(sample.types[~np.isin(sample.types, [0, 1])])
    fail(f'particle types must be 0 (A) or 1 (B); found {bad[:5].tolist()}.')
  if sample.box.shape != (3,) or not np.all(np.isfinite(sample.box) & (sample.box > 0)):
    fail(f'box must be 3 positive finite lengths, got {sample.box}.')
  if not np.isfinite(pos).all():
    fail(f'initial positions contain {np.count_nonzero(~np.isfinite(pos))} NaN/inf values.')
  traj = sample.trajectory_positions
  if traj is not None:
    if traj.ndim != 3 or traj.shape[1:] != (n, 3) or traj.shape[0] < 1:
      fail(f'trajectory positions must have shape (R, {n}, 3), got {traj.shape}.')
    if not np.isfinite(traj).all():
      fail(f'trajectory positions contain {np.count_nonzero(~np.isfinite(traj))} '
           'NaN/inf values.')
  inherent = sample.inherent_positions
  if inherent is not None:
    if inherent.shape != (n, 3):
      fail(f'inherent positions must have shape ({n}, 3), got {inherent.shape}.')
    if not np.isfinite(inherent).all():
      fail(f'inherent positions contain {np.count_nonzero(~np.isfinite(inherent))} NaN/inf '
           'values.')
  propensity = sample.propensity
  if propensity is not None:
    if propensity.shape != (n,):
      fail(f'the propensity must have shape ({n},), got {propensity.shape}.')
    if not np.isfinite(propensity).all():
      fail(f'the propensity contains {np.count_nonzero(~np.isfinite(propensity))} NaN/inf '
           'values.')
  return sample


def particle_types(raw: Any, path: str) -> np.ndarray:
  """Particle types (N,) int32 from a stored array, which must hold exactly 0 (A) and 1 (B).

  Checked before any conversion, so 0.5 or 2**32 cannot become a valid type.
  """
  raw = np.asarray(raw)
  if raw.dtype.kind not in 'biuf':
    raise DataError(f'{path}: particle types must be numbers 0 (A) or 1 (B), '
                    f'got dtype {raw.dtype}.')
  valid = np.isin(raw, [t.value for t in system.ParticleType])
  if not valid.all():
    raise DataError(f'{path}: particle types must be 0 (A) or 1 (B); found '
                    f'{np.unique(raw[~valid])[:5].tolist()}.')
  return raw.astype(np.int32)


def _require(arrays: Any, keys: Sequence[str], path: str) -> None:
  missing = [k for k in keys if k not in arrays]
  if missing:
    raise DataError(f'{path}: missing keys {missing}; found {sorted(arrays)}.')


def read_botan_npz(path: str | Path, box: float | None = None) -> Sample:
  """Reads one BOTAN npz file.

  Args:
    path: the file.
    box: cubic box length; by default the stored `box`, else L = (N/1.2)^(1/3).

  Returns:
    The validated `Sample`; temperature and time come from the stored keys or,
    failing those, from the file name and the paper's time table.
  """
  path = str(path)
  if not os.path.isfile(path):
    raise DataError(f'{path}: no such file.')
  try:
    with np.load(path) as arrays:
      data = {k: np.asarray(arrays[k]) for k in arrays.files}
  except NPZ_READ_ERRORS as err:
    raise DataError(f'{path}: not a readable npz file ({err}); it is damaged or incomplete: '
                    'copy or generate it again.') from err
  _require(data, ('types', 'initial_positions'), path)
  name = layout.parse_dataset_name(path) or {}
  try:
    initial = data['initial_positions'].astype(np.float64)
    n = initial.shape[0] if initial.ndim == 2 else 0
    if box is not None:
      box_vec = np.full(3, float(box))
    elif 'box' in data:
      box_vec = np.broadcast_to(data['box'].astype(np.float64), (3,)).copy()
    else:
      box_vec = np.full(3, system.box_length(max(n, 1)))
    temperature = (float(data['temperature']) if 'temperature' in data
                   else name.get('temperature'))
    time = float(data['time']) if 'time' in data else None
    traj = data.get('positions')
    traj = None if traj is None else traj.astype(np.float64)
    inherent = data.get(INHERENT_KEY)
    inherent = None if inherent is None else inherent.astype(np.float64)
  except (ValueError, TypeError) as err:
    raise DataError(f'{path}: malformed contents ({err}).') from err
  if time is None:
    time = _table_time(name, path)
  else:
    _check_stored_time(time, data.get('time_table'), name, temperature, path)
  return validate(Sample(
      initial_positions=initial,
      types=particle_types(data['types'], path),
      box=box_vec,
      trajectory_positions=traj,
      temperature=temperature,
      time=time,
      source=path,
      inherent_positions=inherent))


def _table_time(name: dict[str, Any], path: str) -> float | None:
  """The time of a BOTAN file name's tcXX index in the paper's table, None off the table."""
  if not name or not system.has_time_row(name['temperature']):
    return None
  try:
    return system.time_point(name['temperature'], name['time_index'])
  except KeyError as err:
    raise DataError(f'{path}: {err.args[0]}') from None


def _check_stored_time(stored: float, time_table: np.ndarray | None, name: dict[str, Any],
                       temperature: float | None, path: str) -> None:
  """Refuses a file whose stored `time` is not the time its name's tcXX indexes.

  tcXX indexes the file's own `time_table` when it stores one (a generator run
  with a custom table), else Table I's row; files named off the table (another
  temperature, or no BOTAN name) are not checked.
  """
  if not name:
    return
  if time_table is not None:
    table = np.asarray(time_table, np.float64).ravel()
    index = name['time_index']
    if not (1 <= index <= table.size and system.same_time(stored, float(table[index - 1]))):
      raise DataError(f'{path}: stores time {stored:g}, which is not entry tc{index:02d} of its '
                      f'own time_table {table.tolist()}; the file is inconsistent.')
    return
  if temperature is None:
    return
  table_time = _table_time(dict(name, temperature=temperature), path)
  if table_time is not None and not system.same_time(stored, table_time):
    raise DataError(
        f'{path}: stores time {stored:g} for tc{name["time_index"]:02d} at T={temperature:.2f}, '
        f'but Table I gives {table_time:g} there. The file was made with another time table '
        '(the T=0.50 and T=0.64 rows of botan-jax before the table was corrected); '
        'regenerate it, or rename it to the tcXX of its time.')


def read_deepmind_pickle(path: str | Path, pickle_time_index: int = 0) -> Sample:
  """Reads one DeepMind glassy-dynamics pickle at the 0-based `pickle_time_index`.

  Raises:
    DataError: if the file is missing or unreadable, or holds no trajectory for
      `pickle_time_index` (`test_large.pickle` holds only index 0).
  """
  path = str(path)
  if not os.path.isfile(path):
    raise DataError(f'{path}: no such file.')
  try:
    with open(path, 'rb') as f:
      data = pickle.load(f)
  except (OSError, pickle.UnpicklingError, EOFError) as err:
    raise DataError(f'{path}: not a readable pickle ({err}); it is damaged or incomplete: '
                    'copy it again.') from err
  if not isinstance(data, dict):
    raise DataError(f'{path}: expected a dict, got {type(data).__name__}.')
  _require(data, ('positions', 'types', 'box', 'trajectory_target_positions'), path)
  trajectories = data['trajectory_target_positions']
  if not 0 <= pickle_time_index < len(trajectories):
    raise DataError(
        f'{path}: time index {pickle_time_index} absent; the file holds trajectories for '
        f'indices 0..{len(trajectories) - 1}.')
  try:
    time = None
    if 'time' in data and 'time_indices' in data:
      time = float(data['time'][data['time_indices'][pickle_time_index]])
    initial = np.asarray(data['positions'], np.float64)
    box = np.asarray(data['box'], np.float64)
    trajectory = np.asarray(trajectories[pickle_time_index], np.float64)
  except (ValueError, TypeError, IndexError, KeyError) as err:
    raise DataError(f'{path}: malformed contents ({err!r}).') from err
  return validate(Sample(
      initial_positions=initial,
      types=particle_types(data['types'], path),
      box=box,
      trajectory_positions=trajectory,
      temperature=data.get('metadata', {}).get('temperature'),
      time=time,
      source=path))


def _natural_key(path: str) -> list[Any]:
  return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', path)]


# What a directory of inputs is searched for: BOTAN npz, DeepMind pickles and simulation files.
INPUT_SUFFIXES = tuple('*' + suffix for suffix in (*layout.DATASET_SUFFIXES,
                                                    *layout.STRUCTURE_SUFFIXES))


def find_files(pattern: str, time_index: int | None = None) -> list[str]:
  """Files matching a glob `pattern` (a directory means every input file in it).

  Args:
    pattern: a file, a directory or a glob.
    time_index: if given, keep BOTAN files whose name ends in `_tc{XX}` with
      XX = time_index (1-based); other formats are kept as they are.

  Returns:
    The matches in natural order (…_2_… before …_10_…).

  Raises:
    DataError: if nothing matches, or no match has the requested time index.
  """
  if os.path.isdir(pattern):
    matches = [p for ext in INPUT_SUFFIXES
               for p in glob.glob(os.path.join(glob.escape(pattern), ext))]
  elif os.path.isfile(pattern):  # Taken literally, also when its name holds [ or *.
    matches = [pattern]
  else:
    matches = glob.glob(pattern)
  matches = sorted((p for p in matches if os.path.isfile(p)), key=_natural_key)
  if not matches:
    where = '' if os.path.isabs(pattern) else f' (relative to {os.getcwd()})'
    raise DataError(f'{pattern}: matches no file{where}. Check the path; data come from '
                    '--mode=generate or a link to the authors\' files (see WORKSPACE.md).')
  if time_index is not None:
    kept = [p for p in matches
            if (name := layout.parse_dataset_name(p)) is None or name['time_index'] == time_index]
    if not kept:
      found = sorted({layout.parse_dataset_name(p)['time_index'] for p in matches})
      raise DataError(
          f'{pattern}: time index tc{time_index:02d} absent; the matching files '
          f'have time indices {found}.')
    matches = kept
  return matches


def load_sample(path: str, pickle_time_index: int | None = None, box: float | None = None,
                read_options: 'ReadOptions | None' = None, *, time_index: int | None = None,
                glassbench_positions: str = 'initial') -> Sample:
  """Reads a BOTAN or GlassBench npz, a DeepMind pickle or a simulation's structure file.

  The format comes from `read_options.format`, else from the file suffix:
  .npz, .pickle/.pkl, or a structure file of `botan_jax.formats` (LAMMPS data
  and dumps, extxyz, GSD; read with `read_options`' type map, frame and
  strictness). `pickle_time_index` is 0-based for pickles (default 0) and
  ignored for npz files, whose single time is in the name. An npz named
  `N{N}T{T}_{id}.npz` or holding `md_prop` is GlassBench's
  (`glassbench.is_glassbench`), read at the 1-based `time_index` with
  `glassbench_positions` ('initial', 'inherent' or 'cage') as the configuration.
  """
  options = read_options or ReadOptions()
  if glassbench_positions != 'initial':
    from botan_jax import glassbench  # pylint: disable=g-import-not-at-top (imports io)
    if not (path.endswith('.npz') and glassbench.is_glassbench(path)):
      _only_initial(glassbench_positions, path)
  if options.format in (None, 'npz', 'pickle'):
    if options.format == 'pickle' or (options.format is None
                                      and path.endswith(('.pickle', '.pkl'))):
      return read_deepmind_pickle(path, pickle_time_index or 0)
    if options.format == 'npz' or path.endswith('.npz'):
      from botan_jax import glassbench  # pylint: disable=g-import-not-at-top (imports io)
      if glassbench.is_glassbench(path):
        return glassbench.read_sample(path, time_index, glassbench_positions)
      return read_botan_npz(path, box=box)
  from botan_jax import formats  # pylint: disable=g-import-not-at-top
  return formats.read_structure(path, options.format, options.type_map, options.frame,
                                options.strict)


@dataclasses.dataclass(frozen=True)
class ReadOptions:
  """How to read an input file (`load_sample`), for formats that do not say it themselves.

  Attributes:
    format: None (from the suffix), 'npz', 'pickle', or one of
      `botan_jax.formats.FORMATS` ('lammps-data', 'lammps-dump', 'extxyz', 'gsd').
    type_map: the structure file's type labels to A and B, 'LABEL:A,LABEL:B'
      (default LAMMPS types 1:A,2:B and names A, B).
    frame: 0-based frame of a file with several (default the first).
    strict: refuse a number density more than 1% off 1.2 instead of warning.
  """
  format: str | None = None
  type_map: str | None = None
  frame: int = 0
  strict: bool = False


def _only_initial(glassbench_positions: str, path: str) -> None:
  if glassbench_positions != 'initial':
    raise DataError(f'{path}: data.glassbench_positions={glassbench_positions!r} needs a '
                    'GlassBench file (with inherent or cage positions); this one holds the '
                    'configuration only (for inherent structures of any file, use '
                    'data.structure=inherent or both).')


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
  """Yields a temporary path beside `path` that replaces `path` on success.

  An interrupted write leaves no partial file under `path`: readers see the
  old file or the complete new one.
  """
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp' + path.suffix,
                             dir=path.parent)
  os.close(fd)
  os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual mode.
  try:
    yield tmp
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def file_fingerprint(path: str) -> list[Any]:
  """What identifies a file's contents without reading them: path, size, mtime, ctime, inode.

  The change time is set by the system on every write, so copies that restore
  the modification time (`cp -p`, `rsync -a`) still change the fingerprint.
  """
  stat = os.stat(path)
  return [os.path.abspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
  """The records of a JSON-lines file (one object per line), such as a run's metrics.

  A last line cut short by an interrupted write is dropped with a warning.

  Raises:
    DataError: naming the file, for a damaged line before the last.
  """
  with open(path) as f:
    lines = [line for line in f if line.strip()]
  records = []
  for number, line in enumerate(lines, 1):
    try:
      records.append(json.loads(line))
    except json.JSONDecodeError:
      if number < len(lines):
        raise DataError(f'{path}: line {number} is not JSON; the file is damaged.') from None
      logging.warning('%s: dropping an incomplete last line (an interrupted write).', path)
  return records


def save_npz(path: str | Path, **arrays: Any) -> None:
  """Writes `arrays` to an uncompressed npz file atomically."""
  with atomic_path(path) as tmp, open(tmp, 'wb') as f:
    np.savez(f, **arrays)


def save_json(path: str | Path, payload: Any) -> None:
  """Writes `payload` as indented JSON atomically."""
  with atomic_path(path) as tmp, open(tmp, 'w') as f:
    json.dump(payload, f, indent=2, sort_keys=True)
    f.write('\n')

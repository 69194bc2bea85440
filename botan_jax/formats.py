"""Structure files of simulation programs -> `io.Sample`: LAMMPS data and dumps, extxyz, GSD.

  format        suffixes            read with
  lammps-data   .data .lmp          ASE (`ase.io.read(..., format='lammps-data')`)
  lammps-dump   .lammpstrj .dump    `read_lammps_dump` below (text dumps, any columns)
  extxyz        .extxyz .xyz        ASE (`format='extxyz'`)
  gsd           .gsd                gsd (`gsd.hoomd.open`), HOOMD-blue's format

LAMMPS files often have another suffix: `--format` (or `format=`) names the format
then. Text dumps are read here rather than by ASE 3.29, whose reader keeps `x y z`
over `xu yu zu` when a dump holds both, drops the image flags `ix iy iz`, and reads a
frame cut at a line boundary by an interrupted write as a shorter frame (333 of 343 atoms in
tests/test_formats.py) without complaint.

Every reader gives `Frame`s: the file's positions, its type labels ('1', '2' for
LAMMPS types, the names of extxyz species or GSD types), its box, and unwrapped
positions where the file has them (`xu yu zu`, or `x y z` with image flags; GSD's
image flags). The model knows only the Kob-Andersen mixture in Lennard-Jones units
at number density 1.2 (system.DENSITY), so:
  * types are mapped to A and B by a type map (`parse_type_map`; default LAMMPS
    types 1 -> A, 2 -> B, and names A, B); any other type is refused;
  * the box must be cubic and periodic (a LAMMPS data file says nothing of its
    boundaries and is taken as periodic); others are refused with the reason;
  * a number density more than DENSITY_TOLERANCE from 1.2 is a warning, or a
    refusal with `strict`.
Particles are ordered by id where the file has ids. Lengths are in sigma_AA.
"""

import dataclasses
import os
from collections.abc import Mapping

import numpy as np
from absl import logging

from botan_jax import graphs
from botan_jax import io
from botan_jax import layout
from botan_jax import system

FORMATS = ('lammps-data', 'lammps-dump', 'extxyz', 'gsd')
SUFFIXES = layout.STRUCTURE_SUFFIXES
TRAJECTORY_FORMATS = ('lammps-dump', 'gsd')  # Several frames, and unwrapped positions.
DEFAULT_TYPE_MAP = {'1': system.ParticleType.A, '2': system.ParticleType.B,
                    'A': system.ParticleType.A, 'B': system.ParticleType.B}
DENSITY_TOLERANCE = 0.01  # Relative; beyond it a warning, or a refusal with strict.
CUBIC_TOLERANCE = 1e-6  # Relative difference of the box's edge lengths.


@dataclasses.dataclass(frozen=True)
class Frame:
  """One frame of a structure file, as stored (no type map applied).

  Attributes:
    positions: (N, 3) float64 positions as stored (wrapped or not), in sigma_AA.
    labels: (N,) str type labels of the file ('1', '2', ... or names).
    box: (3,) float64 edge lengths of the cubic periodic box.
    origin: (3,) float64 lower corner of the box (LAMMPS xlo ylo zlo; GSD -L/2).
    unwrapped: (N, 3) float64 unwrapped positions, or None when the file has no
      unwrapped coordinates and no image flags.
    step: the MD step of the frame (LAMMPS TIMESTEP, GSD configuration.step),
      None where the file has none.
    source: the file, with the frame's index.
  """
  positions: np.ndarray
  labels: np.ndarray
  box: np.ndarray
  origin: np.ndarray
  unwrapped: np.ndarray | None
  step: int | None
  source: str

  @property
  def num_particles(self) -> int:
    return self.positions.shape[0]


def detect_format(path: str, format: str | None = None) -> str:  # pylint: disable=redefined-builtin
  """`format` when given (checked), else the format of `path`'s suffix.

  Raises:
    io.DataError: for an unknown format, or a suffix that names none.
  """
  if format:
    if format not in FORMATS:
      raise io.DataError(f'{path}: unknown format {format!r}; give one of {", ".join(FORMATS)}.')
    return format
  suffix = os.path.splitext(path)[1].lower()
  if suffix not in SUFFIXES:
    raise io.DataError(
        f'{path}: unknown format; expected .npz (BOTAN), .pickle (DeepMind), '
        f'{", ".join(SUFFIXES)}, or name the format with --format ({", ".join(FORMATS)}).')
  return SUFFIXES[suffix]


def parse_type_map(value: str | Mapping[str, str] | None) -> dict[str, int]:
  """A type map 'LABEL:A,LABEL:B' (e.g. '1:A,2:B' or 'Ar:A,Ne:B') as label -> ParticleType.

  None or '' gives DEFAULT_TYPE_MAP. A mapping {'Ar': 'A', ...} is taken as well.

  Raises:
    io.DataError: for an entry that is not LABEL:A or LABEL:B, or a label given twice.
  """
  if not value:
    return dict(DEFAULT_TYPE_MAP)
  entries = value.items() if isinstance(value, Mapping) else [
      entry.split(':', 1) if ':' in entry else (entry, '') for entry in value.split(',')]
  mapping = {}
  for label, kind in entries:
    label, kind = str(label).strip(), str(kind).strip()
    if not label or kind not in system.ParticleType.__members__:
      raise io.DataError(f'type map {value!r}: each entry must be LABEL:A or LABEL:B (e.g. '
                         f'1:A,2:B or Ar:A,Ne:B), got {label}:{kind}.')
    if label in mapping:
      raise io.DataError(f'type map {value!r}: label {label} is mapped twice.')
    mapping[label] = system.ParticleType[kind]
  return mapping


def map_types(labels: np.ndarray, type_map: Mapping[str, int], source: str) -> np.ndarray:
  """(N,) int32 types 0 (A) / 1 (B) of the file's labels.

  Raises:
    io.DataError: naming the labels that the map lacks (a third atom type).
  """
  unknown = sorted(set(np.unique(labels).tolist()) - set(type_map))
  if unknown:
    raise io.DataError(
        f'{source}: atom types {unknown[:5]} are not in the type map '
        f'{ {k: system.ParticleType(v).name for k, v in type_map.items()} }; BOTAN knows only '
        'the two species A and B of the Kob-Andersen mixture. Map the file\'s types with '
        '--type_map (e.g. 1:A,2:B or Ar:A,Ne:B).')
  return np.array([type_map[label] for label in labels], np.int32).reshape(labels.shape)


def check_box(box: np.ndarray, tilts: np.ndarray, periodic: np.ndarray, source: str) -> None:
  """Refuses a box that is not cubic, orthogonal and periodic in x, y and z.

  Args:
    box: (3,) edge lengths; tilts: (3,) tilt factors (xy, xz, yz), zero for an
      orthogonal box; periodic: (3,) bool.
  """
  if not np.all(periodic):
    axes = ''.join(a for a, p in zip('xyz', periodic) if not p)
    raise io.DataError(f'{source}: the box is not periodic along {axes}; BOTAN\'s graphs and '
                       'the model assume a periodic bulk (LAMMPS boundary p p p).')
  if np.any(np.asarray(tilts) != 0):
    raise io.DataError(f'{source}: the box is triclinic (tilts {np.asarray(tilts).tolist()}); '
                       'BOTAN needs a cubic box.')
  if np.min(box) <= 0 or np.ptp(box) > CUBIC_TOLERANCE * np.max(box):
    raise io.DataError(f'{source}: the box {np.asarray(box).tolist()} is not cubic; BOTAN needs '
                       'a cubic box (the paper\'s L = (N/1.2)^(1/3)).')


def check_density(num_particles: int, box: np.ndarray, source: str, strict: bool) -> float:
  """The number density N/V; warns (or, with `strict`, refuses) beyond DENSITY_TOLERANCE.

  LAMMPS files do not say their units: a density far from 1.2 usually means
  other units (real, metal) or another system, which the model was not trained on.
  """
  density = num_particles / float(np.prod(box))
  if abs(density / system.DENSITY - 1) > DENSITY_TOLERANCE:
    message = (f'{source}: number density {density:.4g} is {100 * (density / system.DENSITY - 1):+.1f}% '
               f'off the {system.DENSITY} the model knows (Kob-Andersen in Lennard-Jones units, '
               'lengths in sigma_AA); predictions outside it are extrapolations.')
    if strict:
      raise io.DataError(message + ' Refused with --strict.')
    logging.warning('%s', message)
  return density


def _atoms_frame(atoms, labels: np.ndarray, source: str, unwrapped: bool) -> Frame:
  """A Frame of an ase.Atoms (orthogonal cell checked by `check_box` later)."""
  cell = np.asarray(atoms.cell[:], np.float64)
  tilts = np.abs(cell[np.triu_indices(3, 1)]) + np.abs(cell[np.tril_indices(3, -1)])
  positions = np.asarray(atoms.get_positions(), np.float64)
  box = np.diag(cell).copy()
  check_box(box, tilts, np.asarray(atoms.pbc, bool), source)
  return Frame(positions=positions, labels=labels.astype(str), box=box,
               origin=np.asarray(atoms.get_celldisp(), np.float64).ravel(),
               unwrapped=positions if unwrapped else None, step=None, source=source)


def read_lammps_data(path: str) -> list[Frame]:
  """The one frame of a LAMMPS data file (ASE; types are the file's numeric types).

  Positions come with the image flags of the Atoms section applied (unwrapped).
  """
  import ase.io  # pylint: disable=g-import-not-at-top
  try:
    atoms = ase.io.read(path, format='lammps-data', sort_by_id=True)
  except (ValueError, KeyError, IndexError, RuntimeError, StopIteration) as err:
    raise io.DataError(f'{path}: not a readable LAMMPS data file ({err!r}).') from err
  return [_atoms_frame(atoms, np.asarray(atoms.arrays['type']), path, unwrapped=True)]


def read_extxyz(path: str) -> list[Frame]:
  """The frames of an extended XYZ file (ASE); labels are the species' names."""
  import ase.io  # pylint: disable=g-import-not-at-top
  try:
    images = ase.io.read(path, index=':', format='extxyz')
  except KeyError as err:
    raise io.DataError(f'{path}: species {err} is not a chemical element, which ASE\'s extxyz '
                       'reader needs; name the species as elements (e.g. Ar and Ne, with '
                       '--type_map=Ar:A,Ne:B) or add a Z column.') from err
  except (ValueError, IndexError, RuntimeError, StopIteration) as err:
    raise io.DataError(f'{path}: not a readable extxyz file ({err!r}).') from err
  return [_atoms_frame(atoms, np.asarray(atoms.get_chemical_symbols()), f'{path}[{k}]',
                       unwrapped=False) for k, atoms in enumerate(images)]


def read_gsd(path: str) -> list[Frame]:
  """The frames of a HOOMD-blue GSD file (gsd); labels are the type names.

  GSD stores float32 positions in [-L/2, L/2) and image flags: unwrapped =
  position + image * L. HOOMD boxes are periodic; a 2D box (Lz = 0) is not cubic.
  """
  import gsd.hoomd  # pylint: disable=g-import-not-at-top
  frames = []
  try:
    with gsd.hoomd.open(path, 'r') as trajectory:
      for k, snapshot in enumerate(trajectory):
        source = f'{path}[{k}]'
        box = np.asarray(snapshot.configuration.box, np.float64)
        check_box(box[:3], box[3:], np.ones(3, bool), source)
        positions = np.asarray(snapshot.particles.position, np.float64)
        image = np.asarray(snapshot.particles.image, np.float64)
        names = np.asarray(snapshot.particles.types, str)
        frames.append(Frame(
            positions=positions, labels=names[np.asarray(snapshot.particles.typeid)],
            box=box[:3].copy(), origin=-box[:3] / 2, unwrapped=positions + image * box[:3],
            step=int(snapshot.configuration.step), source=source))
  except (OSError, RuntimeError, ValueError, KeyError, IndexError) as err:
    raise io.DataError(f'{path}: not a readable GSD file ({err!r}); it is damaged or '
                       'incomplete.') from err
  return frames


def _dump_items(lines: list[str], start: int, path: str) -> tuple[dict[str, list[str]], int]:
  """The items of the frame starting at line `start` ('TIMESTEP', 'BOX BOUNDS pp pp pp',
  ...: the lines following each) up to and including its ATOMS block; returns them and the
  line after the frame."""
  items: dict[str, list[str]] = {}
  k = start
  while k < len(lines):
    if not lines[k].startswith('ITEM: '):
      raise io.DataError(f'{path}: line {k + 1} should start an ITEM of a LAMMPS dump, got '
                         f'{lines[k][:60]!r}.')
    name = lines[k][6:].strip()
    if name.startswith('ATOMS'):
      count = int(items['NUMBER OF ATOMS'][0])
      rows = lines[k + 1:k + 1 + count]
      if len(rows) < count:
        raise io.DataError(f'{path}: truncated: the frame of step {items["TIMESTEP"][0]} has '
                           f'{len(rows)} of its {count} atom lines (an interrupted write?).')
      items[name] = rows
      return items, k + 1 + count
    end = k + 1
    while end < len(lines) and not lines[end].startswith('ITEM: '):
      end += 1
    items[name] = lines[k + 1:end]
    k = end
  raise io.DataError(f'{path}: truncated: the frame starting at line {start + 1} has no '
                     'ITEM: ATOMS block.')


def _dump_frame(items: dict[str, list[str]], path: str, index: int) -> Frame:
  """A Frame of one dump frame's items: id-sorted, unwrapped from xu or x + image flags."""
  source = f'{path}[{index}]'
  try:
    step = int(items['TIMESTEP'][0])
    bounds_key = next(key for key in items if key.startswith('BOX BOUNDS'))
    flags = bounds_key.split()[2:]
    bounds = np.array([line.split() for line in items[bounds_key]], np.float64)
    atoms_key = next(key for key in items if key.startswith('ATOMS'))
    columns = atoms_key.split()[1:]
    table = np.array([line.split() for line in items[atoms_key]], dtype=object)
  except (StopIteration, ValueError, IndexError) as err:
    raise io.DataError(f'{source}: malformed LAMMPS dump header ({err!r}).') from err
  if table.ndim != 2 or table.shape[1] != len(columns):
    raise io.DataError(f'{source}: atom lines do not have the {len(columns)} columns '
                       f'{columns} (a truncated or damaged dump).')
  # A triclinic dump ('xy xz yz pp pp pp') gives each axis's tilt as a third number.
  tilts = bounds[:, 2] if bounds.shape[1] > 2 else np.zeros(3)
  check_box(bounds[:, 1] - bounds[:, 0], tilts, np.array([f == 'pp' for f in flags[-3:]]), source)
  box, origin = bounds[:, 1] - bounds[:, 0], bounds[:, 0]
  column = {name: table[:, k] for k, name in enumerate(columns)}

  def numbers(names, dtype=np.float64):
    try:
      return np.stack([column[n].astype(dtype) for n in names], axis=-1)
    except ValueError as err:
      raise io.DataError(f'{source}: non-numeric {"/".join(names)} values ({err}).') from err

  order = np.argsort(numbers(['id'], np.int64)[:, 0], kind='stable') if 'id' in column else None
  if 'type' not in column:
    raise io.DataError(f'{source}: the dump has no type column (columns {columns}); dump '
                       '`id type xu yu zu`.')
  images = numbers(['ix', 'iy', 'iz'], np.int64) if {'ix', 'iy', 'iz'} <= set(column) else None
  if {'xu', 'yu', 'zu'} <= set(column):
    unwrapped = numbers(['xu', 'yu', 'zu'])
    positions = unwrapped
  elif {'xsu', 'ysu', 'zsu'} <= set(column):
    unwrapped = origin + numbers(['xsu', 'ysu', 'zsu']) * box
    positions = unwrapped
  elif {'x', 'y', 'z'} <= set(column) or {'xs', 'ys', 'zs'} <= set(column):
    positions = (numbers(['x', 'y', 'z']) if 'x' in column
                 else origin + numbers(['xs', 'ys', 'zs']) * box)
    unwrapped = None if images is None else positions + images * box
  else:
    raise io.DataError(f'{source}: no positions among the columns {columns}; dump x y z '
                       '(with ix iy iz) or xu yu zu.')
  labels = column['type'].astype(str)
  if order is not None:
    ids = numbers(['id'], np.int64)[order, 0]
    if np.any(np.diff(ids) == 0):
      raise io.DataError(f'{source}: atom ids repeat (e.g. {ids[np.diff(ids) == 0][0]}).')
    positions, labels = positions[order], labels[order]
    unwrapped = None if unwrapped is None else unwrapped[order]
  return Frame(positions=positions, labels=labels, box=box, origin=origin, unwrapped=unwrapped,
               step=step, source=source)


def read_lammps_dump(path: str) -> list[Frame]:
  """The frames of a LAMMPS text dump (`dump custom` or `write_dump`), any columns and order.

  Positions from `xu yu zu` (unwrapped), `xsu ysu zsu`, or `x y z` / `xs ys zs`
  (wrapped; unwrapped only with `ix iy iz`); rows sorted by `id`; any header
  items (TIME, UNITS) allowed.

  Raises:
    io.DataError: naming the file and frame, for a truncated or malformed frame,
      a non-periodic or non-cubic box, or missing columns.
  """
  try:
    with open(path) as f:
      lines = f.read().splitlines()
  except (OSError, UnicodeDecodeError) as err:
    raise io.DataError(f'{path}: not a readable LAMMPS text dump ({err}).') from err
  while lines and not lines[-1].strip():
    lines.pop()
  frames, start = [], 0
  while start < len(lines):
    try:
      items, start = _dump_items(lines, start, path)
    except io.DataError:
      raise
    except (KeyError, ValueError, IndexError) as err:
      raise io.DataError(f'{path}: malformed LAMMPS dump near line {start + 1} ({err!r}).'
                         ) from err
    frames.append(_dump_frame(items, path, len(frames)))
  if not frames:
    raise io.DataError(f'{path}: empty; no LAMMPS dump frame.')
  return frames


READERS = {'lammps-data': read_lammps_data, 'lammps-dump': read_lammps_dump,
           'extxyz': read_extxyz, 'gsd': read_gsd}


def read_frames(path: str, format: str | None = None) -> list[Frame]:  # pylint: disable=redefined-builtin
  """Every frame of a structure file (`detect_format` picks the reader)."""
  reader = READERS[detect_format(path, format)]
  if not os.path.isfile(path):
    raise io.DataError(f'{path}: no such file.')
  return reader(path)


def read_structure(path: str, format: str | None = None,  # pylint: disable=redefined-builtin
                   type_map: str | Mapping[str, str] | None = None, frame: int = 0,
                   strict: bool = False) -> io.Sample:
  """One configuration of a structure file, for prediction (no trajectories).

  Args:
    path: a LAMMPS data file or text dump, an extxyz or a GSD file.
    format: one of FORMATS; default from the suffix.
    type_map: 'LABEL:A,LABEL:B' (see `parse_type_map`).
    frame: the 0-based frame of a file with several (default the first);
      negative counts from the end.
    strict: refuse, rather than warn about, a number density off 1.2 by more
      than DENSITY_TOLERANCE.

  Returns:
    The validated sample: positions wrapped into [0, L)^3, types 0 (A) / 1 (B).
  """
  frames = read_frames(path, format)
  if not -len(frames) <= frame < len(frames):
    raise io.DataError(f'{path}: frame {frame} absent; the file holds {len(frames)} frames '
                       f'(0..{len(frames) - 1}).')
  chosen = frames[frame]
  types = map_types(chosen.labels, parse_type_map(type_map), chosen.source)
  check_density(chosen.num_particles, chosen.box, chosen.source, strict)
  return io.validate(io.Sample(
      initial_positions=graphs.wrap(chosen.positions - chosen.origin, chosen.box), types=types,
      box=chosen.box, trajectory_positions=None, temperature=None, time=None, source=path))


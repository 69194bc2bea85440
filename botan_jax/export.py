"""Predictions as files OVITO opens: particles as extxyz, bonds as a LAMMPS `dump local` file.

Beside each prediction `{stem}_pred.npz` (`inference.predict` with write_extxyz; names from
`layout.ovito_files`):
  {stem}_pred.extxyz      one frame, written by ASE: Lattice and pbc of the box, and columns
                          species (A or B; OVITO's Particle Type), pos (t = 0, wrapped, in
                          sigma_AA), Z (18 for A, 10 for B, so that ASE reads it back as Ar/Ne),
                          id (1-based, OVITO's Particle Identifier, which the bonds refer to),
                          {Q}_pred, and, when the input holds trajectories, {Q}_true and
                          {Q}_error = pred - true (Q the node quantity: S, R, D or C).
  {stem}_pred_bonds.dump  a LAMMPS `dump local` file with the label BONDS (as `dump_modify label
                          BONDS` writes it, so that OVITO takes the entries for bonds): one bond
                          per pair closer than the edge cut-off at t = 0, columns
                          `id atom1 atom2 E_pred [E_true E_error]`
                          (atom ids as in the extxyz; E_pred the mean of the two directions'
                          predictions). OVITO's Load trajectory modifier reads it: map atom1
                          and atom2 to Bond Topology.A and .B, the others to bond properties.
"""

import os

import numpy as np

from botan_jax import graphs
from botan_jax import io
from botan_jax import layout
from botan_jax import system

STAND_IN_NUMBERS = {system.ParticleType.A: 18, system.ParticleType.B: 10}  # Ar, Ne.


def written_for_ovito(prediction_path: str) -> bool:
  """Whether both export files of a prediction exist and are not older than it."""
  mtime = os.path.getmtime(prediction_path) if os.path.exists(prediction_path) else None
  return mtime is not None and all(
      os.path.exists(p) and os.path.getmtime(p) >= mtime for p in layout.ovito_files(prediction_path))


def undirected(edge_index: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Pairs (P, 2) with i < j and the mean of `values` (E,) over each pair's two directions."""
  senders, receivers = edge_index
  low, high = np.minimum(senders, receivers), np.maximum(senders, receivers)
  pairs, inverse = np.unique(np.stack([low, high], 1), axis=0, return_inverse=True)
  inverse = inverse.ravel()
  total = np.bincount(inverse, values, minlength=len(pairs))
  return pairs, total / np.bincount(inverse, minlength=len(pairs))


def write_extxyz(path: str, sample: io.Sample, record: dict) -> None:
  """The particles of one prediction as extxyz (module docstring), atomically."""
  import ase  # pylint: disable=g-import-not-at-top
  import ase.io  # pylint: disable=g-import-not-at-top
  quantity = str(record['node_quantity'])
  atoms = ase.Atoms(numbers=[STAND_IN_NUMBERS[t] for t in sample.types],
                    positions=graphs.wrap(sample.initial_positions, sample.box),
                    cell=np.diag(sample.box), pbc=True)
  columns = {'species': np.array([system.ParticleType(t).name for t in sample.types]),
             'id': np.arange(1, sample.num_particles + 1),
             f'{quantity}_pred': np.asarray(record['node_pred'], np.float64)}
  if 'node_target' in record:
    columns[f'{quantity}_true'] = np.asarray(record['node_target'], np.float64)
    columns[f'{quantity}_error'] = columns[f'{quantity}_pred'] - columns[f'{quantity}_true']
  for name, values in columns.items():
    atoms.new_array(name, values)
  with io.atomic_path(path) as tmp:
    ase.io.write(tmp, atoms, format='extxyz',
                 columns=['species', 'positions', 'numbers', *list(columns)[1:]])


def write_bonds(path: str, box: np.ndarray, record: dict) -> None:
  """The pairs of one prediction as a LAMMPS `dump local` file (module docstring), atomically."""
  pairs, predicted = undirected(record['edge_index'], np.asarray(record['edge_pred'], np.float64))
  table = [np.arange(1, len(pairs) + 1), pairs[:, 0] + 1, pairs[:, 1] + 1, predicted]
  names = ['id', 'atom1', 'atom2', 'E_pred']
  if 'edge_target' in record:
    _, actual = undirected(record['edge_index'], np.asarray(record['edge_target'], np.float64))
    table += [actual, predicted - actual]
    names += ['E_true', 'E_error']
  bounds = ''.join(f'0 {length:.10g}\n' for length in box)
  header = (f'ITEM: TIMESTEP\n0\nITEM: NUMBER OF BONDS\n{len(pairs)}\n'
            f'ITEM: BOX BOUNDS pp pp pp\n{bounds}ITEM: BONDS {" ".join(names)}')
  with io.atomic_path(path) as tmp:
    np.savetxt(tmp, np.stack(table, 1), fmt=['%d'] * 3 + ['%.7g'] * (len(names) - 3),
               header=header, comments='')


def write_for_ovito(prediction_path: str, sample: io.Sample, record: dict) -> list[str]:
  """Writes the extxyz and bond files of one prediction beside it; returns their paths."""
  extxyz, bonds = layout.ovito_files(prediction_path)
  write_extxyz(extxyz, sample, record)
  write_bonds(bonds, sample.box, record)
  return [extxyz, bonds]

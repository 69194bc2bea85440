"""LAMMPS helpers shared by the peer checks (`md_lammps.py`, `tau_alpha_lammps.py`).

LAMMPS is not a project dependency; these only write its inputs and start it.
"""

import os
import subprocess

import numpy as np

from botan_jax import system

PAIR_STYLES = ('shifted_force', 'truncated_shifted')


def write_data(path: str, positions: np.ndarray, types: np.ndarray, box_length: float,
               velocities: np.ndarray | None = None) -> None:
  """A LAMMPS `atom_style atomic` data file (types 1 = A, 2 = B), velocities optional."""
  with open(path, 'w') as f:
    f.write(f'Kob-Andersen configuration\n\n{len(types)} atoms\n2 atom types\n\n')
    for axis in 'xyz':
      f.write(f'0.0 {box_length:.17g} {axis}lo {axis}hi\n')
    f.write('\nMasses\n\n1 1.0\n2 1.0\n\nAtoms # atomic\n\n')
    for i, (t, r) in enumerate(zip(types, positions), start=1):
      f.write(f'{i} {int(t) + 1} {r[0]:.17g} {r[1]:.17g} {r[2]:.17g}\n')
    if velocities is not None:
      f.write('\nVelocities\n\n')
      for i, v in enumerate(velocities, start=1):
        f.write(f'{i} {v[0]:.17g} {v[1]:.17g} {v[2]:.17g}\n')


def pair_commands(pair: str = 'shifted_force') -> str:
  """pair_style and pair_coeff lines of the Kob-Andersen mixture, cut at 2.5 sigma_ab.

  'shifted_force' is `lj/smooth/linear` (energy and force vanish at r_c: the
  paper's Eq. 8 and the generator's potential); 'truncated_shifted' is
  `lj/cut` with `pair_modify shift yes` (only the energy is shifted).
  """
  cutoff = system.CUTOFF_IN_SIGMA * system.SIGMA
  style = {'shifted_force': f'pair_style lj/smooth/linear {cutoff.max():.17g}',
           'truncated_shifted': f'pair_style lj/cut {cutoff.max():.17g}\npair_modify shift yes'}
  coefficients = '\n'.join(
      f'pair_coeff {a + 1} {b + 1} {system.EPSILON[a, b]:.17g} {system.SIGMA[a, b]:.17g} '
      f'{cutoff[a, b]:.17g}' for a, b in ((0, 0), (0, 1), (1, 1)))
  return style[pair] + '\n' + coefficients


def setup_commands(data_path: str, pair: str = 'shifted_force') -> str:
  """The start of every input here: LJ units, atomic style, a periodic box read from
  `data_path`, and the Kob-Andersen pair style (`pair_commands`)."""
  return f"""units lj
atom_style atomic
atom_modify map array
boundary p p p
read_data {data_path}
{pair_commands(pair)}"""


def run(lmp: str, input_path: str, log_path: str, ranks: int, library_path: str = '') -> None:
  """Runs `lmp -in input_path` on `ranks` MPI ranks (mpirun beside lmp), one thread each."""
  env = dict(os.environ, OMP_NUM_THREADS='1')
  if library_path:
    env['LD_LIBRARY_PATH'] = library_path + ':' + env.get('LD_LIBRARY_PATH', '')
  command = [lmp, '-in', input_path, '-log', log_path, '-screen', 'none', '-nocite']
  if ranks > 1:
    command = [os.path.join(os.path.dirname(lmp), 'mpirun'), '-np', str(ranks)] + command
  subprocess.run(command, check=True, env=env, cwd=os.path.dirname(input_path))

"""The physical system: Kob-Andersen 80:20 binary Lennard-Jones mixture.

The one home of the constants that the data readers, the graph builder, the
evaluation masks and the molecular-dynamics generator share: particle types,
density and box length, the pair parameters and the paper's time table.
Lengths are in units of sigma_AA, energies of eps_AA, times of
sqrt(m sigma_AA^2 / eps_AA).
"""

import enum

import numpy as np


class ParticleType(enum.IntEnum):
  """Species of the Kob-Andersen mixture as stored in every dataset."""
  A = 0
  B = 1


DENSITY = 1.2
FRACTION_A = 0.8
NUM_PARTICLES = 4096

# Pair parameters indexed [type_i, type_j]; shifted-force cut-off at 2.5 sigma.
EPSILON = np.array([[1.0, 1.5], [1.5, 0.5]])
SIGMA = np.array([[1.0, 0.8], [0.8, 0.88]])
CUTOFF_IN_SIGMA = 2.5
TIME_STEP = 1e-3

# Graph and evaluation conventions of the paper.
EDGE_CUTOFF = 2.0
EVAL_BOND_CUTOFF = 1.35

# Time points of the isoconfigurational data (paper Table I). The file suffix
# tcXX is the 1-based index into these tuples; index 7 is tau_alpha. At T=0.44
# indices 4-10 are half decades around tau_alpha and 1-4 whole decades.
# PROVISIONAL for T=0.50 and 0.64: only tau_alpha (index 7) is the paper's;
# the other entries follow the T=0.44 spacing (indices 4-10) and a geometric
# fill from 0.13 (indices 1-3) until the table is checked against the paper.
TAU_ALPHA_INDEX = 7
TIME_POINTS = {
    0.44: (0.13, 1.30, 13.0, 130.0, 412.0, 1300.0, 4120.0, 13000.0, 41200.0,
           130000.0),
    0.50: (0.13, 0.488, 1.83, 6.86, 21.7, 68.6, 217.0, 686.0, 2170.0, 6860.0),
    0.64: (0.13, 0.206, 0.329, 0.522, 1.65, 5.22, 16.5, 52.2, 165.0, 522.0),
}


def box_length(num_particles: int, density: float = DENSITY) -> float:
  """Edge length L of the cubic periodic box holding `num_particles` at `density`."""
  if num_particles <= 0 or density <= 0:
    raise ValueError(
        f'box_length needs num_particles > 0 and density > 0, got '
        f'{num_particles} and {density}.')
  return (num_particles / density) ** (1.0 / 3.0)


def time_point(temperature: float, time_index: int) -> float:
  """Simulation time of the 1-based `time_index` (file suffix tcXX) at `temperature`."""
  times = TIME_POINTS.get(round(temperature, 2))
  if times is None:
    raise KeyError(f'No time table for T={temperature}; known: {sorted(TIME_POINTS)}.')
  if not 1 <= time_index <= len(times):
    raise KeyError(f'Time index {time_index} outside 1..{len(times)} at T={temperature}.')
  return times[time_index - 1]

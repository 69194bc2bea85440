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

# Time points of the isoconfigurational data (the paper's Table I; T=0.56, absent
# from the paper's table, and T=0.64 index 1, blank there, from GlassBench's
# times_T.dat files, made from the authors' dataset). The file suffix tcXX is
# the 1-based index into a row; index 7 is tau_alpha, index 4 0.03 tau_alpha.
TAU_ALPHA_INDEX = 7
TIME_POINTS = {
    0.44: (0.13, 1.30, 13.0, 130.0, 412.0, 1300.0, 4120.0, 13000.0, 41200.0, 130000.0),
    0.50: (0.108, 0.434, 2.17, 6.86, 21.7, 68.6, 217.0, 686.0, 2170.0, 6860.0),
    0.56: (0.104, 0.33, 0.99, 1.65, 5.2, 16.5, 52.0, 165.0, 520.0, 1650.0),
    0.64: (0.032, 0.100, 0.165, 0.52, 1.65, 5.2, 16.5, 52.0, 165.0, 520.0),
}
# Relative tolerance within which a stored time equals its table entry.
TIME_TOLERANCE = 1e-6


def box_length(num_particles: int, density: float = DENSITY) -> float:
  """Edge length L of the cubic periodic box holding `num_particles` at `density`."""
  if num_particles <= 0 or density <= 0:
    raise ValueError(
        f'box_length needs num_particles > 0 and density > 0, got '
        f'{num_particles} and {density}.')
  return (num_particles / density) ** (1.0 / 3.0)


def table_temperatures() -> tuple[float, ...]:
  """The temperatures of Table I, increasing."""
  return tuple(sorted(TIME_POINTS))


def time_row(temperature: float) -> tuple[float, ...]:
  """The ten times of Table I at `temperature` (tuple index k - 1 holds tcXX = k).

  Raises:
    KeyError: for a temperature outside the table, naming the known ones.
  """
  times = TIME_POINTS.get(round(float(temperature), 2))
  if times is None:
    raise KeyError(f'No Table I row for T={temperature}; the table has '
                   f'{", ".join(f"{t:.2f}" for t in table_temperatures())}.')
  return times


def has_time_row(temperature: float | None) -> bool:
  """Whether Table I has a row for `temperature` (False for None)."""
  return temperature is not None and round(float(temperature), 2) in TIME_POINTS


def tau_alpha(temperature: float) -> float:
  """The paper's alpha-relaxation time at `temperature` (Table I index 7)."""
  return time_row(temperature)[TAU_ALPHA_INDEX - 1]


def time_point(temperature: float, time_index: int) -> float:
  """Simulation time of the 1-based `time_index` (file suffix tcXX) at `temperature`."""
  times = time_row(temperature)
  if not 1 <= time_index <= len(times):
    raise KeyError(f'Time index {time_index} outside 1..{len(times)} at T={temperature}.')
  return times[time_index - 1]


def same_time(a: float, b: float) -> bool:
  """Whether two times agree to TIME_TOLERANCE (stored times are rounded to 10 digits)."""
  return abs(a - b) <= TIME_TOLERANCE * max(abs(a), abs(b))

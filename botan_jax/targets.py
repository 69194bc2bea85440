"""Dynamical targets of the isoconfigurational ensemble, and evaluation masks.

All quantities are ensemble means over the R runs that start from one initial
configuration with fresh velocities (Sample.trajectory_positions).
"""

import numpy as np

from botan_jax import graphs
from botan_jax import system

_PAIR_CHUNK = 2048


def displacement(initial_positions: np.ndarray, trajectory_positions: np.ndarray) -> np.ndarray:
  """Propensity S_i(t) = < |r_i(t) - r_i(0)| > over runs, from unwrapped positions.

  Args:
    initial_positions: (N, 3) positions at t=0.
    trajectory_positions: (R, N, 3) unwrapped positions at t.

  Returns:
    (N,) float64 mean displacement, in units of sigma_AA.
  """
  return np.linalg.norm(trajectory_positions - initial_positions, axis=-1).mean(axis=0)


def pair_distance_change(initial_positions: np.ndarray, trajectory_positions: np.ndarray,
                         pairs: np.ndarray, box: np.ndarray) -> np.ndarray:
  """Bond target E_ij(t) = < |r_ij(t)| - |r_ij(0)| > over runs, minimum image at both times.

  Args:
    initial_positions: (N, 3) positions at t=0.
    trajectory_positions: (R, N, 3) positions at t (wrapped or not).
    pairs: (P, 2) particle index pairs (i, j).
    box: (3,) box lengths.

  Returns:
    (P,) float64 mean change of the pair distance, symmetric in i and j.
  """
  i, j = pairs[:, 0], pairs[:, 1]
  length_0 = np.linalg.norm(graphs.minimum_image(
      initial_positions[j] - initial_positions[i], box), axis=-1)
  # (N, R, 3): the runs of one particle are contiguous, so gathers are cheap,
  # and chunks of pairs keep the working set in cache.
  per_particle = np.ascontiguousarray(np.swapaxes(trajectory_positions, 0, 1))
  inverse_box = 1.0 / box
  mean_length_t = np.empty(len(pairs))
  for start in range(0, len(pairs), _PAIR_CHUNK):
    chunk = slice(start, start + _PAIR_CHUNK)
    d = per_particle[j[chunk]]
    d -= per_particle[i[chunk]]
    d -= box * np.rint(d * inverse_box)
    mean_length_t[chunk] = np.sqrt(np.einsum('prk,prk->pr', d, d)).mean(axis=1)
  return mean_length_t - length_0


def evaluation_masks(types: np.ndarray, senders: np.ndarray, receivers: np.ndarray,
                     edge_lengths: np.ndarray,
                     bond_cutoff: float = system.EVAL_BOND_CUTOFF) -> tuple[np.ndarray, np.ndarray]:
  """The paper's evaluation subsets: type-A nodes; A-A edges shorter than `bond_cutoff` at t=0.

  Args:
    types: (N,) particle types.
    senders, receivers: (E,) edge end points.
    edge_lengths: (E,) |r_j - r_i| at t=0.
    bond_cutoff: strict cut-off on the initial length, 1.35 in the paper.

  Returns:
    node_mask (N,) bool and edge_mask (E,) bool.
  """
  is_a = types == system.ParticleType.A
  return is_a, is_a[senders] & is_a[receivers] & (edge_lengths < bond_cutoff)

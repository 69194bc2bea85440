"""Dynamical targets of the isoconfigurational ensemble, and evaluation masks.

All quantities are ensemble means over the R runs that start from one initial
configuration with fresh velocities (Sample.trajectory_positions): the
propensity S_i and bond target E_ij, and the neighbor-relative node targets
R_i, D_i and C_i with the locally averaged displacement field (paper Sec. V C).
"""

import dataclasses

import numpy as np
from scipy import sparse

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


# Neighbor-relative node targets (paper Sec. V C). Every quantity below is
# built, run by run, from the displacements u_i = r_i(t) - r_i(0) of unwrapped
# positions, the neighbors j of i (closer than a cut-off at t=0, minimum
# image, i excluded), their offsets d_ij = r_j(0) - r_i(0) and their relative
# displacements w_ij = u_j - u_i; the ensemble mean over the R runs follows,
# as for S_i. Relative displacements are formed pair by pair, never as
# differences of large sums, so a common translation cancels exactly.
NODE_TARGETS = ('S', 'R', 'D', 'C')
NEIGHBOUR_CUTOFF = 1.6
LOCAL_AVERAGE_CUTOFF = 1.35
_RCOND = 1e-10
_RUN_CHUNK = 8


@dataclasses.dataclass(frozen=True)
class Neighborhood:
  """The directed neighbor pairs (i, j) at t=0, grouped by the centre i.

  Attributes:
    centres: (P,) int32 index i of every pair.
    neighbors: (P,) int32 index j of every pair.
    offsets: (P, 3) float64 d_ij = r_j(0) - r_i(0), minimum image, in sigma_AA.
    incidence: (N, P) sparse matrix, 1 at (i, pair) where the pair's centre is i.
  """
  centres: np.ndarray
  neighbors: np.ndarray
  offsets: np.ndarray
  incidence: sparse.csr_array

  def sum(self, values: np.ndarray) -> np.ndarray:
    """Sums per-pair values over the pairs of each centre: (R, P, F) -> (R, N, F)."""
    num_runs, num_pairs, num_features = values.shape
    flat = np.swapaxes(values, 0, 1).reshape(num_pairs, num_runs * num_features)
    summed = (self.incidence @ flat).reshape(-1, num_runs, num_features)
    return np.swapaxes(summed, 0, 1)

  def count(self) -> np.ndarray:
    """(N,) number of neighbors n_i."""
    return np.asarray(self.incidence.sum(axis=1))

  def offset_sum(self) -> np.ndarray:
    """(N, 3) sum over the neighbors of d_ij."""
    return self.sum(self.offsets[None])[0]

  def offset_moment(self) -> np.ndarray:
    """(N, 3, 3) sum over the neighbors of the outer product d_ij d_ij^T."""
    return self.moment(self.offsets[None])[0]

  def moment(self, w: np.ndarray) -> np.ndarray:
    """(R, N, 3, 3) sum over the neighbors of w_ij d_ij^T; w (R, P, 3) per pair."""
    outer = w[..., :, None] * self.offsets[None, :, None, :]
    return self.sum(outer.reshape(*w.shape[:2], 9)).reshape(w.shape[0], -1, 3, 3)

  def relative(self, u: np.ndarray) -> np.ndarray:
    """(R, P, 3) relative displacements w_ij = u_j - u_i of the pairs; u (R, N, 3)."""
    return u[:, self.neighbors] - u[:, self.centres]


def neighborhood(initial_positions: np.ndarray, box: np.ndarray,
                  cutoff: float = NEIGHBOUR_CUTOFF) -> Neighborhood:
  """The neighbors closer than `cutoff` (strict, minimum image) at t=0.

  Args:
    initial_positions: (N, 3) positions at t=0.
    box: (3,) box lengths.
    cutoff: neighbor distance, in sigma_AA.
  """
  pairs = graphs.neighbor_pairs(initial_positions, box, cutoff)
  vectors = graphs.minimum_image(
      initial_positions[pairs[:, 1]] - initial_positions[pairs[:, 0]], box)
  centres = np.concatenate([pairs[:, 0], pairs[:, 1]])
  num_pairs = len(centres)
  incidence = sparse.csr_array((np.ones(num_pairs), (centres, np.arange(num_pairs))),
                               shape=(len(initial_positions), num_pairs))
  return Neighborhood(centres=centres, neighbors=np.concatenate([pairs[:, 1], pairs[:, 0]]),
                       offsets=np.concatenate([vectors, -vectors]), incidence=incidence)


def _ensemble_mean(per_run, initial_positions: np.ndarray, trajectory_positions: np.ndarray,
                   box: np.ndarray, cutoff: float) -> np.ndarray:
  """Mean over runs of `per_run(neighborhood, u)` (R', N), taken over chunks of runs."""
  nb = neighborhood(initial_positions, box, cutoff)
  total = np.zeros(len(initial_positions))
  for start in range(0, len(trajectory_positions), _RUN_CHUNK):
    u = trajectory_positions[start:start + _RUN_CHUNK] - initial_positions
    total += per_run(nb, u).sum(axis=0)
  return total / len(trajectory_positions)


def _own_where_isolated(relative: np.ndarray, u: np.ndarray, count: np.ndarray) -> np.ndarray:
  """`relative` (R, N, 3), with u_i itself for the particles without neighbors."""
  return np.where((count > 0)[None, :, None], relative, u)


def _mean_over_neighbors(total: np.ndarray, count: np.ndarray) -> np.ndarray:
  """total / n_i along axis 1, 0 where n_i = 0; total (R, N, ...)."""
  count = count.reshape(count.shape + (1,) * (total.ndim - 2))
  return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def local_average_displacement(initial_positions: np.ndarray, trajectory_positions: np.ndarray,
                               box: np.ndarray,
                               cutoff: float = LOCAL_AVERAGE_CUTOFF) -> np.ndarray:
  """The locally averaged displacement field of paper Eq. 16, per run.

  u_bar_i = (u_i + sum_j u_j) / (1 + n_i) over the n_i particles j closer than
  r_f = `cutoff` to i at t=0: the mean displacement of the sphere of radius
  r_f around i, i included.

  Args:
    initial_positions: (N, 3) positions at t=0.
    trajectory_positions: (R, N, 3) unwrapped positions at t.
    box: (3,) box lengths.
    cutoff: r_f, in sigma_AA.

  Returns:
    (R, N, 3) float64 field, in sigma_AA.
  """
  nb = neighborhood(initial_positions, box, cutoff)
  u = trajectory_positions - initial_positions
  return u + nb.sum(nb.relative(u)) / (1.0 + nb.count())[None, :, None]


def _cage_relative(nb: Neighborhood, u: np.ndarray) -> np.ndarray:
  """(R, N) |u_i - mean_j u_j| = |mean_j w_ij|."""
  count = nb.count()
  relative = _mean_over_neighbors(nb.sum(nb.relative(u)), count)
  return np.linalg.norm(_own_where_isolated(relative, u, count), axis=-1)


def cage_relative_displacement(initial_positions: np.ndarray, trajectory_positions: np.ndarray,
                               box: np.ndarray, cutoff: float = NEIGHBOUR_CUTOFF) -> np.ndarray:
  """C_i(t) = < |u_i - (1/n_i) sum_j u_j| >: displacement relative to the neighbors' mean.

  The neighbors j are the n_i particles closer than `cutoff` to i at t=0
  (i excluded). A particle without neighbors keeps its own displacement.

  Args:
    initial_positions: (N, 3) positions at t=0.
    trajectory_positions: (R, N, 3) unwrapped positions at t.
    box: (3,) box lengths.
    cutoff: neighbor distance, in sigma_AA.

  Returns:
    (N,) float64 ensemble mean, in sigma_AA.
  """
  return _ensemble_mean(_cage_relative, initial_positions, trajectory_positions, box, cutoff)


def _nonaffine(nb: Neighborhood, u: np.ndarray) -> np.ndarray:
  """(R, N) sqrt(D^2_min): residuals w_ij - G_i d_ij of the least-squares G_i = W_i Y_i^+."""
  w = nb.relative(u)
  gradient = np.einsum('rnak,nkl->rnal', nb.moment(w),
                       np.linalg.pinv(nb.offset_moment(), rcond=_RCOND, hermitian=True))
  residual = w - np.einsum('rpak,pk->rpa', gradient[:, nb.centres], nb.offsets)
  return np.sqrt(nb.sum(np.sum(residual ** 2, axis=-1, keepdims=True))[..., 0])


def nonaffine_displacement(initial_positions: np.ndarray, trajectory_positions: np.ndarray,
                           box: np.ndarray, cutoff: float = NEIGHBOUR_CUTOFF) -> np.ndarray:
  """D_i(t) = < sqrt(D^2_min,i) >, Falk and Langer's non-affine residual.

  D^2_min,i = min over G of sum_j |w_ij - G d_ij|^2 over the neighbors j
  closer than `cutoff` to i at t=0: the part of the neighbors' motion
  relative to i that no local affine strain (3 x 3 displacement gradient G,
  least squares) explains. G = W Y^+ with W = sum_j w_ij d_ij^T and
  Y = sum_j d_ij d_ij^T (pseudo-inverse for degenerate shells). D^2_min is a
  sum over the neighbors, as Falk and Langer define it, not a mean. A particle
  without neighbors has D = 0.

  Args:
    initial_positions: (N, 3) positions at t=0.
    trajectory_positions: (R, N, 3) unwrapped positions at t.
    box: (3,) box lengths.
    cutoff: neighbor distance, in sigma_AA.

  Returns:
    (N,) float64 ensemble mean of sqrt(D^2_min), in sigma_AA.
  """
  return _ensemble_mean(_nonaffine, initial_positions, trajectory_positions, box, cutoff)


def _strain_relative(nb: Neighborhood, u: np.ndarray) -> np.ndarray:
  """(R, N) |b_i| for the least-squares fit w_ij ~ b_i + G_i d_ij (centred sums)."""
  w = nb.relative(u)
  count = nb.count()
  w_mean = _mean_over_neighbors(nb.sum(w), count)
  d_mean = _mean_over_neighbors(nb.offset_sum()[None], count)[0]
  cov_dd = nb.offset_moment() - count[:, None, None] * d_mean[:, :, None] * d_mean[:, None, :]
  cov_wd = (nb.moment(w)
            - count[None, :, None, None] * w_mean[..., :, None] * d_mean[None, :, None, :])
  gradient = np.einsum('rnak,nkl->rnal', cov_wd,
                       np.linalg.pinv(cov_dd, rcond=_RCOND, hermitian=True))
  relative = w_mean - np.einsum('rnak,nk->rna', gradient, d_mean)
  return np.linalg.norm(_own_where_isolated(relative, u, count), axis=-1)


def strain_relative_displacement(initial_positions: np.ndarray,
                                 trajectory_positions: np.ndarray, box: np.ndarray,
                                 cutoff: float = NEIGHBOUR_CUTOFF) -> np.ndarray:
  """R_i(t) = < |u_i - a_i| >: displacement relative to the neighbors under the local strain.

  (a_i, G_i) is the affine motion u_j ~ a_i + G_i d_ij that fits the
  neighbors j of i (closer than `cutoff` at t=0, i excluded) by least
  squares: a_i is where the cage, translated and strained as its members
  moved, carries the site of i, so R_i is the motion of i that neither the
  cage's translation nor its local strain explains. Equivalently R_i = |b_i|
  for the fit w_ij ~ b_i + G_i d_ij, solved with centred sums:
  G = Cov(w, d) Cov(d, d)^+ and b = mean w - G mean d. With a symmetric shell
  (mean d = 0) R_i equals C_i. A particle without neighbors keeps its own
  displacement.

  Args:
    initial_positions: (N, 3) positions at t=0.
    trajectory_positions: (R, N, 3) unwrapped positions at t.
    box: (3,) box lengths.
    cutoff: neighbor distance, in sigma_AA.

  Returns:
    (N,) float64 ensemble mean, in sigma_AA.
  """
  return _ensemble_mean(_strain_relative, initial_positions, trajectory_positions, box, cutoff)


def node_target(kind: str, initial_positions: np.ndarray, trajectory_positions: np.ndarray,
                box: np.ndarray) -> np.ndarray:
  """The node target `kind` of NODE_TARGETS at the default cut-offs.

  Args:
    kind: 'S' (propensity), 'R', 'D' or 'C'.
    initial_positions: (N, 3) positions at t=0.
    trajectory_positions: (R, N, 3) unwrapped positions at t.
    box: (3,) box lengths.

  Returns:
    (N,) float64 ensemble mean, in sigma_AA.
  """
  if kind == 'S':
    return displacement(initial_positions, trajectory_positions)
  functions = dict(R=strain_relative_displacement, D=nonaffine_displacement,
                   C=cage_relative_displacement)
  if kind not in functions:
    raise ValueError(f'Unknown node target {kind!r}; choose one of {", ".join(NODE_TARGETS)}.')
  return functions[kind](initial_positions, trajectory_positions, box)

"""Kob-Andersen shifted-force Lennard-Jones potential on jax-md neighbor lists.

The pair energy (paper Eq. 8) is the Lennard-Jones potential V(r) shifted so
that both the energy and the force vanish at the cut-off r_c = 2.5 sigma_ab:

  V_sf(r) = V(r) - V(r_c) - (r - r_c) V'(r_c)   for r < r_c, else 0,
  V(r)    = 4 eps_ab [(sigma_ab / r)^12 - (sigma_ab / r)^6].

This is LAMMPS' `pair_style lj/smooth/linear`. Parameters come from
`botan_jax.system`; lengths are in sigma_AA, energies in eps_AA.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax_md import partition, smap, space

from botan_jax import system
from botan_jax.md import neighbors

NEIGHBOR_FORMATS = {
    'dense': partition.NeighborListFormat.Dense,
    'sparse': partition.NeighborListFormat.Sparse,
    'ordered_sparse': partition.NeighborListFormat.OrderedSparse,
}

NEIGHBOR_BUILDERS = ('jax_md', 'kdtree')


def pair_cutoffs() -> np.ndarray:
  """Cut-off radii r_c = 2.5 sigma_ab, shape (2, 2), indexed by `ParticleType`."""
  return system.CUTOFF_IN_SIGMA * system.SIGMA


def max_cutoff() -> float:
  """The largest pair cut-off (that of A-A pairs), in sigma_AA."""
  return float(pair_cutoffs().max())


def lennard_jones(r: jnp.ndarray, sigma: jnp.ndarray, epsilon: jnp.ndarray) -> jnp.ndarray:
  """Plain Lennard-Jones energy 4 eps [(sigma/r)^12 - (sigma/r)^6]; broadcasts."""
  inv6 = (sigma / r) ** 6
  return 4.0 * epsilon * (inv6 * inv6 - inv6)


def lennard_jones_derivative(r: jnp.ndarray, sigma: jnp.ndarray,
                             epsilon: jnp.ndarray) -> jnp.ndarray:
  """dV/dr of the plain Lennard-Jones energy; broadcasts."""
  inv6 = (sigma / r) ** 6
  return -24.0 * epsilon * (2.0 * inv6 * inv6 - inv6) / r


def shifted_force_lennard_jones(r: jnp.ndarray, sigma: jnp.ndarray, epsilon: jnp.ndarray,
                                **unused_kwargs) -> jnp.ndarray:
  """Shifted-force pair energy V_sf(r) of paper Eq. 8.

  Args:
    r: pair distances, any shape.
    sigma: sigma_ab of each pair, broadcastable to `r`.
    epsilon: eps_ab of each pair, broadcastable to `r`.

  Returns:
    Pair energies with the shape of `r`: zero for r >= 2.5 sigma and for r = 0
    (padding entries of a neighbor list), with finite gradients everywhere.
  """
  cutoff = system.CUTOFF_IN_SIGMA * sigma
  inside = (r > 0) & (r < cutoff)
  r_safe = jnp.where(inside, r, cutoff)
  energy = (lennard_jones(r_safe, sigma, epsilon) - lennard_jones(cutoff, sigma, epsilon)
            - (r_safe - cutoff) * lennard_jones_derivative(cutoff, sigma, epsilon))
  return jnp.where(inside, energy, 0.0)


class PairConstants(NamedTuple):
  """Constants of the pair force per pair type 2 a + b (a, b: `ParticleType`), shape (4,)."""
  cutoff_squared: jnp.ndarray  # r_c^2
  sigma6: jnp.ndarray  # sigma^6
  epsilon24: jnp.ndarray  # 24 eps
  slope_at_cutoff: jnp.ndarray  # V'(r_c) of the plain Lennard-Jones potential


def pair_constants() -> PairConstants:
  """The Kob-Andersen `PairConstants`, from `system`."""
  sigma, epsilon = system.SIGMA.ravel(), system.EPSILON.ravel()
  cutoff = system.CUTOFF_IN_SIGMA * sigma
  return PairConstants(*(jnp.asarray(c) for c in (
      cutoff**2, sigma**6, 24.0 * epsilon, lennard_jones_derivative(cutoff, sigma, epsilon))))


def shifted_force_magnitude_over_r(r_squared: jnp.ndarray, pair_type: jnp.ndarray,
                                   constants: PairConstants) -> jnp.ndarray:
  """-V_sf'(r) / r, the pair force divided by the distance.

  Args:
    r_squared: squared pair distances r^2, any shape.
    pair_type: 2 a + b for types a and b of each pair, broadcastable to `r_squared`.
    constants: `pair_constants()`.

  Returns:
    Same shape as `r_squared`; zero for r >= 2.5 sigma and for r = 0, so that
    the force on particle i is sum_j (-V_sf'(r_ij) / r_ij) (r_i - r_j).
  """
  inside = (r_squared > 0) & (r_squared < constants.cutoff_squared[pair_type])
  inverse_r2 = 1.0 / jnp.where(inside, r_squared, 1.0)
  x6 = constants.sigma6[pair_type] * inverse_r2 * inverse_r2 * inverse_r2
  value = (constants.epsilon24[pair_type] * (2.0 * x6 * x6 - x6) * inverse_r2
           + constants.slope_at_cutoff[pair_type] * jnp.sqrt(inverse_r2))
  return jnp.where(inside, value, 0.0)


def check_box(box_length: float, skin: float) -> None:
  """Raises ValueError unless the box holds the cut-off sphere plus skin.

  The minimum-image convention needs L > 2 (r_c + skin) so that each pair
  within the neighbor-list radius is counted once.
  """
  needed = 2.0 * (max_cutoff() + skin)
  if box_length <= needed:
    raise ValueError(
        f'Box length L={box_length:.4g} is too small for the cut-off: it must exceed '
        f'2*(r_c + skin) = 2*({max_cutoff():g} + {skin:g}) = {needed:.4g}. '
        'Use more particles (at density 1.2, N >= 230 for skin 0.3) or a smaller skin.')


def kob_andersen_energy(displacement_fn: space.DisplacementFn,
                        types: np.ndarray) -> Callable[..., jnp.ndarray]:
  """Total potential energy of the mixture on a jax-md neighbor list.

  Args:
    displacement_fn: periodic displacement of the box (`space.periodic`).
    types: (N,) particle types (`system.ParticleType`).

  Returns:
    `energy_fn(positions, neighbor) -> scalar`, positions (N, 3) in sigma_AA,
    energy in eps_AA; extra keyword arguments (e.g. kT) are ignored.
  """
  return smap.pair_neighbor_list(
      shifted_force_lennard_jones,
      space.canonicalize_displacement_or_metric(displacement_fn),
      species=jnp.asarray(types, jnp.int32),
      ignore_unused_parameters=True,
      sigma=jnp.asarray(system.SIGMA),
      epsilon=jnp.asarray(system.EPSILON))


def kob_andersen_force(box_length: float, types: np.ndarray) -> Callable[..., jnp.ndarray]:
  """Analytic forces of the mixture on a jax-md neighbor list.

  Equal to -grad of `kob_andersen_energy` but evaluated pair by pair, which
  avoids the scatter of reverse-mode differentiation: with a Dense or Sparse
  list every pair appears from both sides and each particle sums its own row.
  Coordinates are handled as three separate arrays (gathers of contiguous
  scalars), which XLA runs about twice as fast on CPUs as (..., 3) gathers.

  Args:
    box_length: edge L of the periodic cubic box (minimum image).
    types: (N,) particle types (`system.ParticleType`), numpy or traced.

  Returns:
    `force_fn(positions, neighbor) -> (N, 3)` forces in eps_AA / sigma_AA for
    positions wrapped or not; extra keyword arguments (e.g. kT) are ignored.
  """
  constants = pair_constants()
  num_particles = types.shape[0]
  # Padding entries (index N) of a list get type A and the position of particle 0. `types` may
  # be traced (a batch of configurations, each with its own types).
  padded_types = jnp.append(jnp.asarray(types, jnp.int32), jnp.int32(system.ParticleType.A))

  def pair_forces(senders, receivers, positions):
    """Force on each sender from its receiver, as three arrays shaped like `receivers`."""
    padded = jnp.concatenate([positions, positions[:1]], axis=0).T
    deltas = []
    for axis in range(3):
      delta = padded[axis][senders] - padded[axis][receivers]
      deltas.append(delta - box_length * jnp.round(delta * (1.0 / box_length)))
    r_squared = jnp.where(receivers < num_particles,
                          deltas[0]**2 + deltas[1]**2 + deltas[2]**2, 0.0)
    pair_type = 2 * padded_types[senders] + padded_types[receivers]
    scale = shifted_force_magnitude_over_r(r_squared, pair_type, constants)
    return [scale * delta for delta in deltas]

  def force_fn(positions: jnp.ndarray, neighbor: partition.NeighborList,
               **unused_kwargs) -> jnp.ndarray:
    if neighbor.format is partition.NeighborListFormat.Dense:
      senders = jnp.arange(num_particles)[:, None]
      return jnp.stack([jnp.sum(f, axis=1)
                        for f in pair_forces(senders, neighbor.idx, positions)], axis=-1)
    receivers, senders = neighbor.idx[0], neighbor.idx[1]
    forces = jnp.stack(pair_forces(senders, receivers, positions), axis=-1)
    on_senders = jax.ops.segment_sum(forces, senders, num_particles + 1)[:num_particles]
    if neighbor.format is partition.NeighborListFormat.Sparse:
      return on_senders
    return on_senders - jax.ops.segment_sum(forces, receivers, num_particles + 1)[:num_particles]

  return force_fn


def check_neighbor_options(neighbor_format: str, builder: str, capacity_multiplier: float,
                           builders: tuple[str, ...] = NEIGHBOR_BUILDERS) -> None:
  """Raises ValueError unless the neighbor-list options go together.

  Args:
    neighbor_format: one of NEIGHBOR_FORMATS.
    builder: one of `builders` ('kdtree' only with dense lists).
    capacity_multiplier: >= 1.
    builders: the accepted builder names (configs also accept 'auto').
  """
  if neighbor_format not in NEIGHBOR_FORMATS:
    raise ValueError(f'neighbor_format must be one of {sorted(NEIGHBOR_FORMATS)}, '
                     f'got {neighbor_format!r}.')
  if builder not in builders:
    raise ValueError(f'neighbor_builder must be one of {builders}, got {builder!r}.')
  if builder == 'kdtree' and neighbor_format != 'dense':
    raise ValueError(f'The kdtree neighbor builder writes dense lists only, got '
                     f'neighbor_format={neighbor_format!r}.')
  if capacity_multiplier < 1.0:
    raise ValueError(f'capacity_multiplier must be >= 1, got {capacity_multiplier}.')


def kob_andersen_neighbor_list(displacement_fn: space.DisplacementFn, box_length: float,
                               skin: float, neighbor_format: str = 'dense',
                               capacity_multiplier: float = 1.25,
                               builder: str = 'jax_md') -> partition.NeighborListFns:
  """Neighbor list of radius r_c(A-A) + skin in jax-md's format.

  The list is rebuilt on every `update`: the caller decides when (see
  `protocol`), so that a batch of systems shares one decision. Positions given
  to it must lie inside [0, L).

  Args:
    displacement_fn: periodic displacement of the box.
    box_length: cubic box edge L.
    skin: extra radius beyond the cut-off; a list stays valid until some
      particle moves skin/2.
    neighbor_format: 'dense', 'sparse' or 'ordered_sparse'.
    capacity_multiplier: spare capacity allocated over the current occupancy.
    builder: 'jax_md' (jax-md's cell lists, compiled for any device) or
      'kdtree' (`neighbors.kdtree_neighbor_list`, Dense only, fast on CPUs).
  """
  check_neighbor_options(neighbor_format, builder, capacity_multiplier)
  check_box(box_length, skin)
  radius = max_cutoff() + skin
  if builder == 'kdtree':
    return neighbors.kdtree_neighbor_list(box_length, radius, capacity_multiplier)
  # With fewer than 4 cells per side the 27 neighboring cells hold more
  # candidates than the whole box: all pairs are cheaper (2.6x at N = 1000).
  return partition.neighbor_list(
      displacement_fn, box_length, r_cutoff=radius, dr_threshold=0.0,
      capacity_multiplier=capacity_multiplier, disable_cell_list=box_length < 4 * radius,
      format=NEIGHBOR_FORMATS[neighbor_format])

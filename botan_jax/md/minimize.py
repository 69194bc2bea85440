"""Inherent structures: the local energy minimum below a configuration, by FIRE on jax-md.

`inherent_structures(positions, types, box_length)` minimises the generator's
Kob-Andersen shifted-force potential (`potential`) from each configuration of
a batch with jax-md's FIRE (`minimize.fire_descent`), in float64, until the
largest force on any particle is below `force_tolerance` (eps_AA / sigma_AA).
The batch runs as one jitted, vmapped loop on a dense neighbor list of radius
r_c + skin, built by the host k-d tree; the loop stops to rebuild the lists
when a particle has moved skin/2 since the last build.

The settings (tolerance, FIRE's time steps, skin) are
`botan_jax.inherent.MinimizerSettings`. Returns the minimised positions wrapped into [0, L) (sigma_AA), each particle's
potential energy at the minimum (half its pair energies, eps_AA), the largest
remaining force and the number of FIRE steps.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax_md import minimize, space
from scipy import spatial

from botan_jax import system
from botan_jax.inherent import MinimizerSettings
from botan_jax.md import engine
from botan_jax.md import neighbors
from botan_jax.md import potential


class InherentStructures(NamedTuple):
  """Minimised configurations of a batch of B configurations of N particles.

  positions: (B, N, 3) float64, wrapped into [0, L), sigma_AA.
  particle_energies: (B, N) float64, half of each particle's pair energies, eps_AA
    (they sum to the total potential energy).
  max_force: (B,) largest |F_i| at the end, eps_AA / sigma_AA.
  steps: (B,) FIRE steps taken.
  """
  positions: np.ndarray
  particle_energies: np.ndarray
  max_force: np.ndarray
  steps: np.ndarray


def particle_energies(positions: np.ndarray, types: np.ndarray, box_length: float) -> np.ndarray:
  """(N,) potential energy per particle (half its shifted-force pair energies), in float64."""
  positions = np.mod(np.asarray(positions, np.float64), box_length)
  positions[positions >= box_length] = 0.0
  pairs = spatial.cKDTree(positions, boxsize=box_length).query_pairs(
      potential.max_cutoff(), output_type='ndarray')
  delta = positions[pairs[:, 1]] - positions[pairs[:, 0]]
  delta -= box_length * np.round(delta / box_length)
  a, b = types[pairs[:, 0]], types[pairs[:, 1]]
  with engine.float_precision('float64'):
    energy = np.asarray(potential.shifted_force_lennard_jones(
        jnp.asarray(np.linalg.norm(delta, axis=1)), jnp.asarray(system.SIGMA[a, b]),
        jnp.asarray(system.EPSILON[a, b])))
  per_particle = np.zeros(len(positions))
  np.add.at(per_particle, pairs[:, 0], 0.5 * energy)
  np.add.at(per_particle, pairs[:, 1], 0.5 * energy)
  return per_particle


# Built once per box and settings: every configuration of a dataset reuses the compiled loop.
@functools.lru_cache(maxsize=8)
def _make_segment(box_length: float, settings: MinimizerSettings, segment_steps: int):
  """The jitted FIRE loop over a batch, until converged, a list goes stale or `segment_steps`."""
  _, shift = space.periodic(box_length)
  half_skin_squared = (0.5 * settings.skin) ** 2
  tolerance_squared = settings.force_tolerance ** 2

  def one(state, rows, built_at, types, steps):
    force_fn = potential.kob_andersen_force(box_length, types)
    nbrs = _dense_list(rows)
    init_fn, apply_fn = minimize.fire_descent(
        lambda r, **kw: force_fn(r, nbrs), shift, settings.dt_start, settings.dt_max)
    del init_fn

    def moved_far(position):
      delta = position - built_at
      delta -= box_length * jnp.round(delta / box_length)
      return jnp.max(jnp.sum(delta ** 2, axis=-1)) > half_skin_squared

    def converged(state):
      return jnp.max(jnp.sum(state.force ** 2, axis=-1)) < tolerance_squared

    def cond(carry):
      state, k = carry
      return ((k < segment_steps) & (steps + k < settings.max_steps) & ~converged(state)
              & ~moved_far(state.position))

    state, k = lax.while_loop(cond, lambda c: (apply_fn(c[0]), c[1] + 1), (state, 0))
    return state, steps + k, converged(state)

  return jax.jit(jax.vmap(one))


def _dense_list(rows: jax.Array):
  """A minimal stand-in of a dense jax-md neighbor list: `kob_andersen_force` reads idx, format."""
  from jax_md import partition  # pylint: disable=g-import-not-at-top
  return partition.NeighborList(rows, None, None, None, rows.shape[-1],
                                partition.NeighborListFormat.Dense, None, None, None)


def _rows(positions: np.ndarray, box_length: float, radius: float,
          width: int) -> tuple[np.ndarray, int]:
  """(B, N, M) dense neighbor rows of every configuration, padded with N, and the M used.

  M is `width` unless a particle has more neighbors; then it grows (with 25%
  headroom, to a multiple of 8), which recompiles the loop once.
  """
  built = [neighbors.neighbor_rows(p, box_length, radius, p.shape[0] - 1) for p in positions]
  needed = max(int(occupancy) for _, occupancy in built)
  if needed > width:
    width = min(-(-int(1.25 * needed) // 8) * 8, positions.shape[1] - 1)
  return np.stack([rows[:, :width] for rows, _ in built]), width


def inherent_structures(positions: np.ndarray, types: np.ndarray, box_length: float,
                        settings: MinimizerSettings = MinimizerSettings(),
                        segment_steps: int = 2000) -> InherentStructures:
  """Minimises a batch of configurations by FIRE in float64.

  Args:
    positions: (B, N, 3) or (N, 3) positions in sigma_AA (wrapped or not).
    types: (B, N) or (N,) particle types 0 (A) / 1 (B).
    box_length: cubic box edge L (sigma_AA).
    settings: the tolerance and FIRE's steps.
    segment_steps: FIRE steps per compiled call between progress checks.

  Returns:
    `InherentStructures` with a leading batch axis (added if the input had none).
  """
  settings.check()
  positions = np.asarray(positions, np.float64)
  single = positions.ndim == 2
  positions = positions[None] if single else positions
  types = np.broadcast_to(np.asarray(types, np.int32), positions.shape[:2])
  radius = potential.max_cutoff() + settings.skin
  potential.check_box(box_length, settings.skin)
  with engine.float_precision('float64'):
    segment = _make_segment(box_length, settings, segment_steps)
    wrapped = np.mod(positions, box_length)
    _, shift = space.periodic(box_length)
    init_fn, _ = minimize.fire_descent(lambda r, **kw: jnp.zeros_like(r), shift,
                                       settings.dt_start, settings.dt_max)
    state = jax.vmap(init_fn)(jnp.asarray(wrapped))
    steps = jnp.zeros(len(positions), jnp.int32)
    with_forces = _forces_on_lists(box_length)
    width = 0
    while True:
      built_at = np.asarray(state.position)
      rows, width = _rows(built_at, box_length, radius, width)
      state = state.set(force=with_forces(state.position, jnp.asarray(rows), jnp.asarray(types)))
      state, steps, done = segment(state, rows, jnp.asarray(built_at), jnp.asarray(types), steps)
      if bool(np.all(done)) or int(np.min(steps)) >= settings.max_steps:
        break
    final = np.mod(np.asarray(state.position), box_length)
    final[final >= box_length] = 0.0
    max_force = np.sqrt(np.max(np.sum(np.asarray(state.force) ** 2, axis=-1), axis=-1))
  energies = np.stack([particle_energies(p, t, box_length) for p, t in zip(final, types)])
  result = InherentStructures(final, energies, max_force, np.asarray(steps))
  return InherentStructures(*(x[0] for x in result)) if single else result


@functools.lru_cache(maxsize=8)
def _forces_on_lists(box_length: float):
  """Jitted forces (B, N, 3) of a batch on its dense rows (FIRE's init computed none)."""
  def one(position, rows, types):
    return potential.kob_andersen_force(box_length, types)(position, _dense_list(rows))
  return jax.jit(jax.vmap(one))

"""The Kob-Andersen shifted-force potential against an independent NumPy evaluation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_md import quantity

from botan_jax import system
from botan_jax.md import engine, potential, protocol

# jax-md's own neighbor pruning scatters int64 indices into int32 under x64.
pytestmark = pytest.mark.filterwarnings('ignore:scatter inputs have incompatible types')

# Paper parameters written out again, so that the reference shares nothing with
# the code under test: [type_i][type_j] with 0 = A, 1 = B.
EPSILON = [[1.0, 1.5], [1.5, 0.5]]
SIGMA = [[1.0, 0.8], [0.8, 0.88]]


@pytest.fixture(autouse=True)
def x64():
  with engine.float_precision('float64'):
    yield


def numpy_energy_and_forces(positions: np.ndarray, types: np.ndarray,
                            box_length: float) -> tuple[float, np.ndarray]:
  """All-pairs minimum-image shifted-force LJ: total energy and (N, 3) forces."""
  eps = np.array(EPSILON)[types[:, None], types[None, :]]
  sig = np.array(SIGMA)[types[:, None], types[None, :]]
  delta = positions[:, None, :] - positions[None, :, :]
  delta -= box_length * np.round(delta / box_length)
  r = np.linalg.norm(delta, axis=-1)
  np.fill_diagonal(r, np.inf)
  rc = 2.5 * sig

  def lj(x):
    return 4 * eps * ((sig / x) ** 12 - (sig / x) ** 6)

  def lj_prime(x):
    return 4 * eps * (-12 * sig**12 / x**13 + 6 * sig**6 / x**7)

  inside = r < rc
  pair_energy = np.where(inside, lj(r) - lj(rc) - (r - rc) * lj_prime(rc), 0.0)
  pair_slope = np.where(inside, lj_prime(r) - lj_prime(rc), 0.0)
  forces = -np.sum((pair_slope / r)[..., None] * delta, axis=1)
  return 0.5 * pair_energy.sum(), forces


@pytest.fixture(scope='module')
def liquid_like():
  """300 particles on jittered lattice sites: distances spread across the cut-offs."""
  num_particles = 300
  box_length = system.box_length(num_particles)
  with jax.enable_x64(True):
    positions = protocol.lattice_configurations(
        jax.random.PRNGKey(1)[None], num_particles, box_length)[0]
    jitter = 0.12 * jax.random.normal(jax.random.PRNGKey(2), positions.shape)
    positions = np.asarray(jnp.mod(positions + jitter, box_length))
  return positions, engine.kob_andersen_types(num_particles), box_length


@pytest.mark.parametrize('neighbor_format, neighbor_builder', [
    ('dense', 'kdtree'), ('dense', 'jax_md'), ('sparse', 'jax_md'), ('ordered_sparse', 'jax_md')])
def test_energy_and_forces_match_numpy(liquid_like, neighbor_format, neighbor_builder):
  positions, types, box_length = liquid_like
  expected_energy, expected_forces = numpy_energy_and_forces(positions, types, box_length)
  sim = engine.make_simulation(len(types), neighbor_format=neighbor_format,
                               neighbor_builder=neighbor_builder)
  batch = jnp.asarray(positions)[None]
  nbrs = engine.allocate_neighbors(sim, batch)
  energy = float(sim.batched_energies(batch, nbrs)[0])
  forces = np.asarray(sim.batched_forces(batch, nbrs)[0])
  np.testing.assert_allclose(energy, expected_energy, rtol=1e-12)
  scale = np.abs(expected_forces).max()
  np.testing.assert_allclose(forces, expected_forces, rtol=0, atol=1e-11 * scale)
  nbr = jax.tree_util.tree_map(lambda x: x[0], nbrs)
  autodiff = quantity.force(sim.energy_fn)(jnp.asarray(positions), neighbor=nbr)
  np.testing.assert_allclose(autodiff, expected_forces, rtol=0, atol=1e-11 * scale)
  assert np.abs(expected_forces.sum(axis=0)).max() < 1e-10 * scale


@pytest.mark.parametrize('type_i, type_j', [(0, 0), (0, 1), (1, 1)])
def test_energy_and_force_vanish_at_cutoff(type_i, type_j):
  sigma, epsilon = SIGMA[type_i][type_j], EPSILON[type_i][type_j]
  cutoff = 2.5 * sigma
  h = 1e-4
  r = jnp.array([0.9 * sigma, cutoff - h, cutoff, cutoff + h, 3.0 * cutoff])
  energy = potential.shifted_force_lennard_jones(r, sigma, epsilon)
  slope = jax.vmap(jax.grad(potential.shifted_force_lennard_jones))(
      r, jnp.full_like(r, sigma), jnp.full_like(r, epsilon))
  force_over_r = potential.shifted_force_magnitude_over_r(r**2, 2 * type_i + type_j,
                                                          potential.pair_constants())
  assert energy[0] > 0 and slope[0] < 0
  # Both vanish at r_c: energy as h^2, force as h, from below; exactly above.
  assert abs(float(energy[1])) < 1e-6 and abs(float(slope[1])) < 1e-3
  np.testing.assert_array_equal(np.asarray(energy[2:]), 0.0)
  np.testing.assert_array_equal(np.asarray(slope[2:]), 0.0)
  np.testing.assert_array_equal(np.asarray(force_over_r[2:]), 0.0)
  np.testing.assert_allclose(force_over_r[:2], -slope[:2] / r[:2], rtol=1e-10)


def test_box_too_small_for_cutoff_is_rejected():
  with pytest.raises(ValueError, match='too small for the cut-off'):
    engine.make_simulation(200)
  with pytest.raises(ValueError, match='neighbor_format'):
    potential.kob_andersen_neighbor_list(None, 10.0, 0.3, 'half')
  with pytest.raises(ValueError, match='dense lists only'):
    potential.kob_andersen_neighbor_list(None, 10.0, 0.3, 'sparse', builder='kdtree')
  with pytest.raises(ValueError, match='neighbor_builder must be one of'):
    potential.kob_andersen_neighbor_list(None, 10.0, 0.3, builder='octree')

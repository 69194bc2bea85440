"""The melt/quench/NVT and NVE-replica protocol on small systems."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_md import simulate

from botan_jax.md import engine, protocol

# jax-md's own neighbor pruning scatters int64 indices into int32 under x64.
pytestmark = pytest.mark.filterwarnings('ignore:scatter inputs have incompatible types')


@pytest.fixture(autouse=True)
def x64():
  with engine.float_precision('float64'):
    yield


def test_maxwell_boltzmann_momenta_have_zero_total_and_exact_temperature():
  momenta = protocol.replica_momenta(jax.random.split(jax.random.PRNGKey(0), 2), 3, 100, 0.44)
  assert momenta.shape == (2, 3, 100, 3)
  np.testing.assert_allclose(momenta.sum(axis=-2), 0.0, atol=1e-13)
  np.testing.assert_allclose(engine.kinetic_temperature(momenta), 0.44, rtol=1e-13)
  assert not np.allclose(momenta[0, 0], momenta[0, 1])  # fresh velocities per replica


def test_schedule_temperature_ramps_linearly():
  schedule = protocol.Schedule(5.0, 0.5, 10, 20, 5).as_array(jnp.float64)
  kT = [float(engine.schedule_temperature(schedule, s)) for s in (0, 10, 20, 30, 34)]
  np.testing.assert_allclose(kT, [5.0, 5.0, 2.75, 0.5, 0.5])


def test_nvt_then_nve_conserves_energy_and_momentum():
  num_particles, temperature = 256, 0.8
  sim = engine.make_simulation(num_particles)
  keys = jax.random.split(jax.random.PRNGKey(3), 2)
  nvt_reports = []
  positions = protocol.equilibrate(sim, keys[:1], protocol.Schedule(5.0, temperature, 300, 300,
                                                                    1400),
                                   segment_steps=500, on_progress=nvt_reports.append)
  assert np.all((positions >= 0) & (positions < sim.box_length))
  # The end of the NVT stage is near the target (a 256-particle system fluctuates).
  assert abs(nvt_reports[-1].temperature[0] - temperature) < 0.15

  num_replicas = 2
  momenta = protocol.replica_momenta(keys[1:], num_replicas, num_particles, temperature)
  start = jnp.broadcast_to(positions[:, None], (1, num_replicas, num_particles, 3))
  initial = engine.observables(sim, start[0], momenta[0])
  nve_reports = []
  records = list(protocol.run_replicas(sim, start, momenta, [50, 3000], segment_steps=500,
                                       on_progress=nve_reports.append))
  assert [step for step, _, _ in records] == [50, 3000]
  _, final_positions, final_momenta = records[-1]
  assert final_positions.shape == (1, num_replicas, num_particles, 3)
  energies = np.array([report.total_energy for report in nve_reports])
  drift = np.abs(energies - initial['total_energy']).max()
  assert drift < 2e-4, f'NVE energy per particle moved by {drift:.2e} in 3000 steps'
  np.testing.assert_allclose(final_momenta.sum(axis=-2), 0.0, atol=1e-10)
  # Replicas diverge, and unwrapped positions leave the box.
  assert not np.allclose(final_positions[0, 0], final_positions[0, 1])


@pytest.mark.parametrize('neighbor_builder', ['kdtree', 'jax_md'])
def test_overflowing_neighbor_list_is_never_used(neighbor_builder):
  """A list at exact capacity overflows; the loop stops at the last good step."""
  num_particles = 343  # a full 7^3 lattice: every particle starts with the same neighbors
  tight = engine.make_simulation(num_particles, capacity_multiplier=1.0,
                                 neighbor_builder=neighbor_builder)
  loose = engine.make_simulation(num_particles, capacity_multiplier=2.0,
                                 neighbor_builder=neighbor_builder)
  keys = jax.random.split(jax.random.PRNGKey(4), 2)
  positions = protocol.lattice_configurations(keys[:1], num_particles, tight.box_length)
  momenta = protocol.replica_momenta(keys[1:], 1, num_particles, 5.0)[:, 0]
  nbrs = engine.allocate_neighbors(tight, positions)
  state = simulate.NVEState(positions, momenta, tight.batched_forces(positions, nbrs),
                            jnp.ones(1))
  state, nbrs, reached = tight.advance_nve(state, nbrs, jnp.zeros(1, jnp.int32),
                                           jnp.int32(2000), jnp.zeros(()))
  reached = int(reached[0])
  assert np.asarray(nbrs.did_buffer_overflow).any() and 0 < reached < 2000
  # The stopped state equals a run of `reached` steps on lists with room to spare.
  _, expected, _ = next(protocol.run_replicas(loose, positions[:, None], momenta[:, None],
                                              [reached]))
  np.testing.assert_allclose(np.asarray(state.position), expected[:, 0], rtol=0, atol=1e-9)


def test_equilibrate_reallocates_overflowing_lists(monkeypatch):
  sim = engine.make_simulation(343, capacity_multiplier=1.0)
  allocations = []
  allocate = engine.allocate_neighbors
  monkeypatch.setattr(engine, 'allocate_neighbors',
                      lambda *args: allocations.append(1) or allocate(*args))
  reports = []
  positions = protocol.equilibrate(sim, jax.random.split(jax.random.PRNGKey(5), 1),
                                   protocol.Schedule(5.0, 5.0, 600, 0, 0), segment_steps=600,
                                   on_progress=reports.append)
  assert len(allocations) >= 2  # the start, then at least one overflow
  assert reports[-1].step == 600 and np.isfinite(np.asarray(positions)).all()

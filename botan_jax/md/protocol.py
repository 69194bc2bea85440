"""The isoconfigurational protocol of the paper's Section III, on the MD engine.

For a batch of B independent configurations of the Kob-Andersen mixture:
  1. start from random sites of a simple cubic lattice with Maxwell-Boltzmann
     momenta (`lattice_start`);
  2. Nose-Hoover NVT (`run_nvt`, or `equilibrate` for steps 1-2 in one call)
     along a `Schedule`: hold at T_hold (5.0) for t_hold, cool linearly to T
     in t_cool, then equilibrate at T;
  3. R NVE replicas per configuration (`run_replicas`), started from the
     equilibrated positions with fresh Maxwell-Boltzmann momenta
     (`replica_momenta`: zero total momentum, kinetic temperature exactly T);
     the B x R systems run as one batch of `engine` and their unwrapped
     positions are returned at the requested steps.

Positions and momenta are (B, N, 3), replicas (B, R, N, 3). Units: lengths
sigma_AA, energies eps_AA, times sqrt(m sigma_AA^2 / eps_AA), masses m = 1,
k_B = 1; steps count time steps dt of the `engine.Simulation`.
"""

import dataclasses
from collections.abc import Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax_md import simulate

from botan_jax.md import engine


@dataclasses.dataclass(frozen=True)
class Schedule:
  """Temperature programme of the NVT stage, in steps of `dt`.

  The thermostat holds `hold_temperature` for `hold_steps`, ramps linearly to
  `temperature` over `cool_steps`, then holds `temperature` for
  `equilibration_steps`.
  """
  hold_temperature: float
  temperature: float
  hold_steps: int
  cool_steps: int
  equilibration_steps: int

  @property
  def total_steps(self) -> int:
    return self.hold_steps + self.cool_steps + self.equilibration_steps

  def as_array(self, dtype) -> jnp.ndarray:
    """(4,) programme [T_hold, T, hold_steps, cool_steps] of `engine.schedule_temperature`."""
    return jnp.asarray([self.hold_temperature, self.temperature, self.hold_steps,
                        max(self.cool_steps, 1)], dtype)


def maxwell_boltzmann_momenta(key: jax.Array, num_particles: int, temperature: float,
                              dtype=None) -> jnp.ndarray:
  """Momenta (N, 3) drawn from Maxwell-Boltzmann at `temperature` (unit masses).

  The total momentum is removed and the result rescaled so that
  `engine.kinetic_temperature` equals `temperature` exactly. `dtype` defaults
  to the default float (float64 under x64).
  """
  momenta = jax.random.normal(key, (num_particles, 3), dtype or jnp.result_type(float))
  momenta = momenta - jnp.mean(momenta, axis=0)
  return momenta * jnp.sqrt(temperature / engine.kinetic_temperature(momenta))


def lattice_configurations(keys: jax.Array, num_particles: int, box_length: float,
                           dtype=None) -> jnp.ndarray:
  """Random sites of a simple cubic lattice filling the box, one set per key.

  Args:
    keys: (B,) PRNG keys.
    num_particles: N; the lattice has ceil(N^(1/3))^3 >= N sites.
    box_length: edge L of the box.

  Returns:
    (B, N, 3) positions inside [0, L).
  """
  per_side = int(np.ceil(num_particles ** (1.0 / 3.0) - 1e-9))
  grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing='ij'), axis=-1)
  sites = jnp.asarray((grid.reshape(-1, 3) + 0.5) * (box_length / per_side),
                      dtype or jnp.result_type(float))

  def choose(key):
    return sites[jax.random.permutation(key, sites.shape[0])[:num_particles]]

  return jax.vmap(choose)(keys)


def lattice_start(sim: engine.Simulation, keys: jax.Array,
                  temperature: float) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Lattice start of B configurations with Maxwell-Boltzmann momenta at `temperature`.

  Args:
    keys: (B,) PRNG keys, one per configuration (lattice sites, velocities).

  Returns:
    (B, N, 3) positions inside [0, L) and (B, N, 3) momenta.
  """
  site_keys, velocity_keys = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
  positions = lattice_configurations(site_keys, sim.num_particles, sim.box_length)
  momenta = jax.vmap(lambda k: maxwell_boltzmann_momenta(
      k, sim.num_particles, temperature))(velocity_keys)
  return positions, momenta


def run_nvt(sim: engine.Simulation, positions: jnp.ndarray, momenta: jnp.ndarray,
            schedule: Schedule, stop_steps: Sequence[int], first_step: int = 0,
            segment_steps: int = 1000, on_progress: engine.ProgressFn | None = None
            ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
  """Nose-Hoover NVT of B configurations along `schedule`, yielding at each stop step.

  The thermostat chain starts at rest at `first_step` (so a run resumed from
  positions and momenta restarts its chain; the temperature programme, a
  function of the step, continues).

  Args:
    positions: (B, N, 3) positions at `first_step`.
    momenta: (B, N, 3) momenta at `first_step`.
    schedule: the temperature programme; steps count from its start.
    stop_steps: increasing steps (> first_step, <= schedule.total_steps).
    segment_steps: steps per compiled call (progress granularity).

  Yields:
    (step, positions, momenta): positions (B, N, 3) wrapped into [0, L) and
    momenta at the step, as NumPy arrays.
  """
  engine.check_batch(sim, positions.shape[0])
  dtype = jnp.result_type(float)
  positions = engine.wrap_positions(jnp.asarray(positions, dtype), sim.box_length)
  program = schedule.as_array(dtype)
  nbrs = engine.allocate_neighbors(sim, positions)
  state = _nvt_init(sim, positions, jnp.asarray(momenta, dtype), nbrs,
                    engine.schedule_temperature(program, first_step))
  step = first_step
  for stop_step in stop_steps:
    if not step < stop_step <= schedule.total_steps:
      raise ValueError(f'stop steps must increase beyond {step} up to '
                       f'{schedule.total_steps}, got {stop_step}.')
    state, nbrs = engine.run_segments(sim, sim.advance_nvt, 'nvt', state, nbrs, step, stop_step,
                                      program, segment_steps, on_progress)
    step = stop_step
    yield (step, np.asarray(engine.wrap_positions(state.position, sim.box_length)),
           np.asarray(state.momentum))


def _nvt_init(sim: engine.Simulation, positions, momenta, nbrs, kT) -> simulate.NVTNoseHooverState:
  """Batched Nose-Hoover state whose chain counts 3N - 3 degrees of freedom."""
  init_fn = sim.nvt[0]

  def one(position, momentum, nbr):
    state = init_fn(None, position, momenta=momentum, neighbor=nbr, kT=kT)
    return state.set(chain=state.chain.set(degrees_of_freedom=3 * sim.num_particles - 3))

  return jax.vmap(one)(positions, momenta, nbrs)


def equilibrate(sim: engine.Simulation, keys: jax.Array, schedule: Schedule,
                segment_steps: int = 1000, on_progress: engine.ProgressFn | None = None,
                positions: jnp.ndarray | None = None) -> jnp.ndarray:
  """Lattice start (or `positions`), melt, quench and NVT equilibration of B configurations.

  Args:
    keys: (B,) PRNG keys, one per configuration (lattice sites, velocities).
    schedule: the NVT temperature programme.
    segment_steps: steps per compiled call (progress granularity).
    on_progress: called after each compiled call.
    positions: (B, N, 3) start positions instead of lattice sites (to continue
      an equilibration); velocities are drawn at `schedule.hold_temperature`.

  Returns:
    (B, N, 3) equilibrated positions wrapped into [0, L).
  """
  start_positions, momenta = lattice_start(sim, keys, schedule.hold_temperature)
  if positions is None:
    positions = start_positions
  if schedule.total_steps == 0:
    return engine.wrap_positions(positions, sim.box_length)
  *_, (_, positions, _) = run_nvt(sim, positions, momenta, schedule, [schedule.total_steps],
                                  segment_steps=segment_steps, on_progress=on_progress)
  return jnp.asarray(positions)


def replica_momenta(keys: jax.Array, num_replicas: int, num_particles: int,
                    temperature: float, dtype=None) -> jnp.ndarray:
  """Fresh Maxwell-Boltzmann momenta for R replicas of each configuration.

  Args:
    keys: (B,) PRNG keys, one per configuration.

  Returns:
    (B, R, N, 3) momenta; each replica has zero total momentum and kinetic
    temperature exactly `temperature`.
  """
  def per_configuration(key):
    return jax.vmap(lambda k: maxwell_boltzmann_momenta(k, num_particles, temperature, dtype))(
        jax.random.split(key, num_replicas))

  return jax.vmap(per_configuration)(keys)


def run_replicas(sim: engine.Simulation, positions: jnp.ndarray, momenta: jnp.ndarray,
                 record_steps: Sequence[int], first_step: int = 0,
                 segment_steps: int = 1000,
                 on_progress: engine.ProgressFn | None = None
                 ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
  """Runs B x R NVE replicas as one batch, yielding at each record step.

  Args:
    positions: (B, R, N, 3) unwrapped positions at `first_step` (at step 0
      every replica of a configuration has the same positions).
    momenta: (B, R, N, 3) momenta at `first_step`.
    record_steps: increasing steps (> first_step) to yield at.
    first_step: the step `positions` and `momenta` belong to.
    segment_steps: steps per compiled call (progress granularity).

  Yields:
    (step, positions, momenta): the step and the (B, R, N, 3) unwrapped
    positions and momenta there, as NumPy arrays.
  """
  num_configurations, num_replicas = positions.shape[:2]
  flat_shape = (num_configurations * num_replicas,) + positions.shape[2:]
  engine.check_batch(sim, flat_shape[0])
  dtype = jnp.result_type(float)
  flat_positions = jnp.reshape(jnp.asarray(positions, dtype), flat_shape)
  nbrs = engine.allocate_neighbors(sim, flat_positions)
  state = _nve_init(sim, flat_positions, jnp.reshape(jnp.asarray(momenta, dtype), flat_shape),
                    nbrs)
  step = first_step
  for record_step in record_steps:
    if record_step <= step:
      raise ValueError(f'record steps must increase beyond {step}, got {record_step}.')
    state, nbrs = engine.run_segments(sim, sim.advance_nve, 'nve', state, nbrs, step,
                                      record_step, jnp.zeros(()), segment_steps, on_progress)
    step = record_step
    yield (step, np.asarray(state.position).reshape(positions.shape),
           np.asarray(state.momentum).reshape(positions.shape))


def _nve_init(sim: engine.Simulation, positions, momenta, nbrs) -> simulate.NVEState:
  """Batched NVE state with forces evaluated at `positions`."""
  forces = sim.batched_forces(positions, nbrs)
  mass = jnp.ones(positions.shape[0], positions.dtype)
  return simulate.NVEState(positions, momenta, forces, mass)

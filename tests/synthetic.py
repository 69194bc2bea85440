"""Small synthetic configurations for fast tests (not physical dynamics)."""

import numpy as np

from botan_jax import io
from botan_jax import system


def random_sample(num_particles: int = 160, num_runs: int = 4, seed: int = 0,
                  step: float = 0.3, source: str = 'synthetic') -> io.Sample:
  """Random positions at density 1.2, 80:20 types, runs displaced by Gaussian noise of `step`."""
  rng = np.random.default_rng(seed)
  box = np.full(3, system.box_length(num_particles))
  initial = rng.uniform(0, box, (num_particles, 3))
  types = (np.arange(num_particles) >= int(system.FRACTION_A * num_particles)).astype(np.int32)
  rng.shuffle(types)
  trajectory = initial + step * rng.normal(size=(num_runs, num_particles, 3))
  return io.Sample(initial_positions=initial, types=types, box=box,
                   trajectory_positions=trajectory, temperature=0.44, time=1.0, source=source)


def write_botan_files(directory, count: int, num_particles: int = 160, first_id: int = 1,
                      time_index: int = 7, seed: int = 0) -> list[str]:
  """Writes `count` synthetic BOTAN npz files named like the authors' files; returns the paths."""
  paths = []
  for k in range(count):
    sample = random_sample(num_particles, seed=seed + k)
    path = (f'{directory}/isoconfig_N{num_particles}T0.44_{first_id + k}_'
            f'tc{time_index:02d}.npz')
    io.save_npz(path, types=sample.types.astype(np.int8),
                initial_positions=sample.initial_positions,
                positions=sample.trajectory_positions)
    paths.append(path)
  return paths


def write_dataset(root, time_indices=(4, 7), num_train: int = 2, num_test: int = 2) -> None:
  """Synthetic 160-particle files at T=0.44 and `time_indices` under root/T0.44/{train,test}."""
  for time_index in time_indices:
    write_botan_files(root / 'T0.44' / 'train', num_train, time_index=time_index,
                      seed=10 * time_index)
    write_botan_files(root / 'T0.44' / 'test', num_test, first_id=401, time_index=time_index,
                      seed=100 + 10 * time_index)

"""Small synthetic GlassBench files (the keys, codes and orientation of the real ones) for tests."""

import os

import numpy as np

from botan_jax import glassbench
from botan_jax import io
from botan_jax import system

# How far each stored method's prediction is from the truth (noise scale, sigma_AA).
METHOD_NOISE = dict(BOTAN=0.3, CAGE=0.1, GlassMLP=0.2, SE3=0.15)


def configuration(num_particles: int, seed: int) -> dict[str, np.ndarray]:
  """The arrays of one GlassBench file: types 1/2, positions in [-L/2, L/2), md_prop (10, N)
  growing with time, the stored methods' predictions as md_prop plus noise."""
  rng = np.random.default_rng(seed)
  box = system.box_length(num_particles)
  positions = rng.uniform(-box / 2, box / 2, (num_particles, 3))
  types = np.where(np.arange(num_particles) < int(system.FRACTION_A * num_particles), 1, 2)
  rng.shuffle(types)
  mobility = rng.gamma(2.0, 1.0, num_particles)
  times = np.arange(1, glassbench.NUM_TIMES + 1)[:, None]
  propensity = 0.1 * times * mobility[None, :] + 0.05 * rng.random((len(times), num_particles))
  arrays = dict(types=types.astype(np.int32), initial_positions=positions,
                initial_positions_inherent=positions + 0.01 * rng.normal(size=positions.shape),
                md_prop=propensity, bb_prop=rng.random(propensity.shape))
  for method, noise in METHOD_NOISE.items():
    arrays[method] = propensity + noise * rng.normal(size=propensity.shape) * propensity.std()
  return arrays


def write_temperature(root, temperature: float = 0.44, num_train: int = 3, num_test: int = 3,
                      num_particles: int = 160, seed: int = 0) -> dict[str, list[str]]:
  """`{root}/T{T}/{train,test}/N{N}T{T}_{id}.npz` as in GlassBench's tarballs (ids 1.. for
  train, 401.. for test; the stored predictions in the test files only)."""
  written = {'train': [], 'test': []}
  for split, first, count in (('train', 1, num_train), ('test', 401, num_test)):
    for config_id in range(first, first + count):
      arrays = configuration(num_particles, seed + config_id)
      if split == 'train':
        arrays = {k: v for k, v in arrays.items() if k not in glassbench.METHODS}
      path = os.path.join(str(root), f'T{temperature:.2f}', split,
                          f'N{num_particles}T{temperature:.2f}_{config_id}.npz')
      io.save_npz(path, **arrays)
      written[split].append(path)
  return written

"""Small synthetic configurations for fast tests (not physical dynamics)."""

import numpy as np

from botan_jax import graphs
from botan_jax import io
from botan_jax import metrics
from botan_jax import system
from botan_jax import targets


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


def write_prediction(path, sample: io.Sample, noise: float = 0.05, seed: int = 0) -> dict:
  """A predict output (inference.py's keys, no stamps) of `sample`: its targets plus noise.

  The edges are the pairs closer than system.EDGE_CUTOFF, both directions; the
  masks are the paper's (targets.evaluation_masks). Returns the arrays written.
  """
  pairs = graphs.neighbor_pairs(sample.initial_positions, sample.box, system.EDGE_CUTOFF)
  senders, receivers, _, _ = graphs.directed_edges(pairs)
  lengths = np.linalg.norm(graphs.minimum_image(
      sample.initial_positions[receivers] - sample.initial_positions[senders], sample.box), axis=1)
  node_target = targets.displacement(sample.initial_positions, sample.trajectory_positions)
  edge_target = targets.pair_distance_change(sample.initial_positions,
                                             sample.trajectory_positions,
                                             np.stack([senders, receivers], axis=1), sample.box)
  node_mask, edge_mask = targets.evaluation_masks(sample.types, senders, receivers, lengths)
  rng = np.random.default_rng(seed)
  node_pred = node_target + noise * rng.normal(size=node_target.shape)
  edge_pred = edge_target + noise * rng.normal(size=edge_target.shape)
  arrays = dict(node_pred=node_pred.astype(np.float32),
                edge_index=np.stack([senders, receivers]).astype(np.int64),
                edge_pred=edge_pred.astype(np.float32), node_target=node_target,
                edge_target=edge_target, node_mask=node_mask, edge_mask=edge_mask,
                pearson_node=np.float64(metrics.pearson(node_pred, node_target, node_mask)),
                pearson_edge=np.float64(metrics.pearson(edge_pred, edge_target, edge_mask)))
  io.save_npz(path, **arrays)
  return arrays

"""Dense neighbor lists built on the host by a periodic k-d tree (the CPU path).

A builder of jax-md's `partition.NeighborList` in Dense format (row i holds the
neighbors of particle i, padded with N), so that the potential and the
integrators keep using jax-md's neighbor-list machinery; only the build
differs. jax-md builds a list with a cell list whose candidates (27 cells,
padded) are compacted by a scatter of several million entries, which XLA runs
slowly on CPUs (0.34 s for 4096 particles on the 2-core CPU). Here the build
is `scipy.spatial.cKDTree.query_pairs` under `jax.pure_callback` (0.04 s). On
accelerators the host round trip would stall the batched replicas, so
`potential.kob_andersen_neighbor_list` uses it on CPUs only.
"""

import functools
import os
from concurrent import futures

import jax
import jax.numpy as jnp
import numpy as np
from jax_md import partition
from scipy import spatial


def neighbor_rows(position: np.ndarray, box_length: float, radius: float,
                  max_neighbors: int) -> tuple[np.ndarray, np.int32]:
  """Neighbors of every particle within `radius` (minimum image), on the host.

  Args:
    position: (N, 3) positions, normally in [0, L); they are wrapped into
      [0, L) here, in float64, so that coordinates rounded up to L or beyond
      (e.g. float32(L) > L) never reach the k-d tree, whose box is L.
    box_length: cubic box edge L (> 2 * radius).
    radius: list radius.
    max_neighbors: M, columns of the result.

  Returns:
    (N, M) int32 rows padded with N (a row with more than M neighbors is
    truncated), and the largest number of neighbors of a particle.

  Raises:
    FloatingPointError: if a position is not finite (the integration blew up).
  """
  num_particles = position.shape[0]
  position = np.asarray(position, np.float64)
  if not np.isfinite(position).all():
    bad = np.nonzero(~np.isfinite(position).all(axis=1))[0]
    raise FloatingPointError(
        f'Non-finite positions of {bad.size} particles (first: {bad[:5].tolist()}) at a '
        'neighbor-list build: the integration blew up (time step too large, or '
        'overlapping particles in the start configuration).')
  position = np.mod(position, box_length)
  position[position >= box_length] = 0.0  # np.mod rounds -1e-17 up to exactly L.
  pairs = spatial.cKDTree(position, boxsize=box_length).query_pairs(
      radius, output_type='ndarray').astype(np.int32)
  first = np.concatenate([pairs[:, 0], pairs[:, 1]])
  second = np.concatenate([pairs[:, 1], pairs[:, 0]])
  # Stable radix sort on 16-bit keys where N allows it.
  keys = first.astype(np.int16) if num_particles < 2**15 else first
  order = np.argsort(keys, kind='stable')
  first, second = first[order], second[order]
  counts = np.bincount(first, minlength=num_particles)
  column = np.arange(first.size, dtype=np.int64) - (np.cumsum(counts) - counts)[first]
  rows = np.full((num_particles, max_neighbors), num_particles, np.int32)
  kept = column < max_neighbors
  rows[first[kept], column[kept]] = second[kept]
  return rows, np.int32(counts.max(initial=0))


@functools.cache
def _thread_pool() -> futures.ThreadPoolExecutor:
  """Threads for the host builds of a batch (scipy's k-d tree releases the GIL)."""
  return futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1)


def kdtree_neighbor_list(box_length: float, radius: float,
                         capacity_multiplier: float = 1.25) -> partition.NeighborListFns:
  """jax-md `NeighborListFns` (Dense format) built by a host k-d tree.

  Args:
    box_length: edge L; positions passed in must lie in [0, L).
    radius: list radius (cut-off plus skin); L must exceed 2 * radius.
    capacity_multiplier: spare row capacity over the occupancy measured by
      `allocate`.

  Returns:
    `allocate(position, extra_capacity=0)` (not jittable: it sizes the rows;
    `extra_capacity` columns are added) and `update(position, neighbors)`,
    jittable and vmappable, which always rebuilds (the caller decides when) and
    sets NEIGHBOR_LIST_OVERFLOW in `neighbors.error` when a row does not fit.
  """
  if box_length <= 2 * radius:
    raise ValueError(f'Box length {box_length:.4g} must exceed twice the list radius '
                     f'{radius:.4g}.')

  def host_rows(position, max_neighbors):
    """Rows and occupancies of positions (..., N, 3), the systems built in parallel."""
    position = np.asarray(position)  # neighbor_rows wraps each system in float64.
    batch_shape = position.shape[:-2]
    systems = position.reshape((-1,) + position.shape[-2:])
    built = list(_thread_pool().map(
        lambda p: neighbor_rows(p, box_length, radius, max_neighbors), systems))
    rows = np.stack([r for r, _ in built]).reshape(batch_shape + built[0][0].shape)
    occupancy = np.array([o for _, o in built], np.int32).reshape(batch_shape)
    return rows, occupancy

  def neighbor_list(position, rows, occupancy, max_neighbors):
    error = partition.PartitionError(jnp.zeros((), jnp.uint8)).update(
        partition.PartitionErrorCode.NEIGHBOR_LIST_OVERFLOW, occupancy > max_neighbors)
    return partition.NeighborList(rows, position, error, None, max_neighbors,
                                  partition.NeighborListFormat.Dense, None, None, update)

  def update(position, neighbors, **unused_kwargs):
    max_neighbors = neighbors.max_occupancy
    shapes = (jax.ShapeDtypeStruct((position.shape[0], max_neighbors), jnp.int32),
              jax.ShapeDtypeStruct((), jnp.int32))
    # Under vmap the callback receives the whole batch (B, N, 3) at once.
    rows, occupancy = jax.pure_callback(lambda p: host_rows(p, max_neighbors), shapes,
                                        position, vmap_method='expand_dims')
    return neighbor_list(position, rows, occupancy, max_neighbors)

  def allocate(position, extra_capacity: int = 0, **unused_kwargs):
    num_particles = position.shape[0]
    _, occupancy = host_rows(position, 0)
    max_neighbors = min(int(occupancy * capacity_multiplier) + extra_capacity,
                        num_particles - 1)
    rows, occupancy = host_rows(position, max_neighbors)
    return neighbor_list(jnp.asarray(position), jnp.asarray(rows), jnp.int32(occupancy),
                         max_neighbors)

  return partition.NeighborListFns(allocate, update)

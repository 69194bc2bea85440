"""The host k-d tree neighbour builder against brute force and under jit/vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from botan_jax import system
from botan_jax.md import neighbors

RADIUS = 2.8


def brute_force_pairs(positions: np.ndarray, box_length: float) -> set[tuple[int, int]]:
  """Ordered pairs (i, j), i != j, closer than RADIUS under the minimum image."""
  delta = positions[:, None, :] - positions[None, :, :]
  delta -= box_length * np.round(delta / box_length)
  close = np.linalg.norm(delta, axis=-1) < RADIUS
  np.fill_diagonal(close, False)
  return set(zip(*np.nonzero(close)))


def pairs_of(rows: np.ndarray) -> set[tuple[int, int]]:
  num_particles = rows.shape[0]
  return {(i, int(j)) for i in range(num_particles) for j in rows[i] if j < num_particles}


@pytest.fixture(scope='module')
def liquid():
  num_particles = 500
  box_length = system.box_length(num_particles)
  positions = np.random.default_rng(3).uniform(0.0, box_length, (num_particles, 3))
  return positions, box_length


def test_rows_hold_exactly_the_pairs_within_the_radius(liquid):
  positions, box_length = liquid
  rows, occupancy = neighbors.neighbor_rows(positions, box_length, RADIUS, 200)
  expected = brute_force_pairs(positions, box_length)
  assert pairs_of(rows) == expected
  assert occupancy == np.bincount([i for i, _ in expected]).max()


def test_update_under_jit_and_vmap_and_overflow_flag(liquid):
  positions, box_length = liquid
  fns = neighbors.kdtree_neighbor_list(box_length, RADIUS, capacity_multiplier=1.0)
  with jax.enable_x64(True):
    nbrs = fns.allocate(jnp.asarray(positions))
    assert not nbrs.did_buffer_overflow
    moved = np.mod(positions + np.random.default_rng(4).normal(0, 0.3, positions.shape),
                   box_length)
    batch = jnp.asarray(np.stack([positions, moved]))
    updated = jax.jit(jax.vmap(lambda p: nbrs.update(p)))(batch)
  for k, expected_positions in enumerate((positions, moved)):
    assert pairs_of(np.asarray(updated.idx[k])) <= brute_force_pairs(expected_positions,
                                                                     box_length)
  # The unmoved system fits exactly; the moved one has a fuller row somewhere.
  assert pairs_of(np.asarray(updated.idx[0])) == brute_force_pairs(positions, box_length)
  full = max(np.bincount([i for i, _ in brute_force_pairs(moved, box_length)]))
  assert full > nbrs.max_occupancy and updated.did_buffer_overflow[1]
  assert not updated.did_buffer_overflow[0]


def test_non_finite_positions_raise_a_clear_error(liquid):
  positions, box_length = liquid
  positions = positions.copy()
  positions[7, 1] = np.nan
  with pytest.raises(FloatingPointError, match=r'1 particles \(first: \[7\]\).*blew up'):
    neighbors.neighbor_rows(positions, box_length, RADIUS, 200)


def test_box_must_hold_twice_the_radius():
  with pytest.raises(ValueError, match='must exceed twice the list radius'):
    neighbors.kdtree_neighbor_list(5.0, RADIUS)

"""The host k-d tree neighbor builder against brute force and under jit/vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from botan_jax import system
from botan_jax.md import engine, neighbors, protocol

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
  with engine.float_precision('float64'):
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


@pytest.mark.parametrize('coordinate', ['float32(L)', 'L', '-0'])
def test_coordinates_at_or_just_past_the_box_edge_are_wrapped_on_the_host(liquid, coordinate):
  # float32(L) = 15.0565767... > L = 15.0565764...: what a float64 position just below L
  # became when a compiled loop's callback received it in float32.
  positions, box_length = liquid
  edge = {'float32(L)': float(np.float32(box_length)), 'L': box_length, '-0': -1e-17}
  positions = positions.copy()
  positions[11] = [edge[coordinate], box_length, 0.5]
  rows, _ = neighbors.neighbor_rows(positions, box_length, RADIUS, 200)
  assert pairs_of(rows) == brute_force_pairs(np.mod(positions, box_length), box_length)


def test_compiled_loops_hand_their_float64_positions_to_the_host_unrounded(monkeypatch):
  # jax.enable_x64 alone is thread-local: XLA's callback threads then received float32.
  seen = []
  build = neighbors.neighbor_rows
  monkeypatch.setattr(neighbors, 'neighbor_rows', lambda p, *args: (
      seen.append(p.dtype), build(p, *args))[1])
  with engine.float_precision('float64'):
    sim = engine.make_simulation(256, neighbor_builder='kdtree')
    keys = jax.random.split(jax.random.PRNGKey(0), 1)
    positions, momenta = protocol.lattice_start(sim, keys, 5.0)
    schedule = protocol.Schedule(5.0, 5.0, hold_steps=60, cool_steps=0, equilibration_steps=0)
    *_, (_, final, _) = protocol.run_nvt(sim, positions, momenta, schedule, [60])
  assert final.dtype == np.float64 and len(seen) > 2
  assert set(seen) == {np.dtype(np.float64)}
  assert not jax.config.jax_enable_x64  # Restored after the block.


def test_float_precision_refuses_unknown_names():
  with pytest.raises(ValueError, match="precision must be one of"):
    with engine.float_precision('float16'):
      pass

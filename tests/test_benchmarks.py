"""The benchmark helpers that GPU sessions rely on: edge layouts, the profile table, train_step."""

import json
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import message_passing_layouts as layouts
from benchmarks import xla_profile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def random_symmetric_graph(num_nodes: int, num_pairs: int, seed: int = 0):
  """Senders and receivers (2P,) of random pairs, both directions, sorted by (sender, receiver)."""
  rng = np.random.default_rng(seed)
  pairs = set()
  while len(pairs) < num_pairs:
    i, j = rng.integers(0, num_nodes, 2)
    if i != j:
      pairs.add((min(i, j), max(i, j)))
  pairs = np.array(sorted(pairs))
  senders = np.concatenate([pairs[:, 0], pairs[:, 1]])
  receivers = np.concatenate([pairs[:, 1], pairs[:, 0]])
  order = np.lexsort((receivers, senders))
  return senders[order].astype(np.int32), receivers[order].astype(np.int32)


def layout_outputs(layout, senders, receivers, num_nodes, corrupt_reverse=False):
  """Loss, final edges and all gradients of one layout, edge arrays in input order."""
  arrays = layouts.random_arrays(num_nodes, len(senders), seed=1)
  # Two steps: every index path, and too few ReLUs for one to sit at the rounding level.
  fn, arguments, to_coo = layouts.build(layout, senders, receivers, num_nodes, arrays,
                                        jnp.float32, num_steps=2)
  if corrupt_reverse:
    arguments[3]['slot_reverse'] = jnp.roll(arguments[3]['slot_reverse'], 1, axis=1)
  return layouts.outputs(fn, arguments, to_coo)


def test_edge_layouts_compute_the_same_steps_and_gradients():
  senders, receivers = random_symmetric_graph(60, 300)
  reference = layout_outputs('coo', senders, receivers, 60)
  for layout in layouts.LAYOUTS[1:]:
    got = layout_outputs(layout, senders, receivers, 60)
    for name in reference:
      assert layouts.relative_error(got[name], reference[name]) < 1e-5, (layout, name)
  # The check can fail: reverse slots that point elsewhere give wrong sender gradients.
  broken = layout_outputs('dense_reverse', senders, receivers, 60, corrupt_reverse=True)
  assert layouts.relative_error(broken['g_sender'], reference['g_sender']) > 1e-2


def test_dense_slots_hold_each_edge_once_with_its_reverse():
  senders, receivers = random_symmetric_graph(30, 100, seed=3)
  slots = layouts.dense_slots(senders, receivers, 30)
  flat_senders = slots['slot_senders'].reshape(-1)
  flat_reverse = slots['slot_reverse'].reshape(-1)
  num_slots = slots['slot_mask'].shape[1]
  edge_slot = slots['edge_slot']
  assert len(set(edge_slot.tolist())) == len(senders) == slots['slot_mask'].sum()
  np.testing.assert_array_equal(flat_senders[edge_slot], senders)
  np.testing.assert_array_equal(edge_slot // num_slots, receivers)  # Row = receiver.
  reverse = flat_reverse[edge_slot]
  np.testing.assert_array_equal(reverse // num_slots, senders)      # i -> j sits in row i ...
  np.testing.assert_array_equal(flat_senders[reverse], receivers)   # ... with sender j.


def test_profile_table_of_a_cpu_trace(tmp_path):
  fn = jax.jit(lambda x, i: jax.ops.segment_sum(jnp.tanh(x @ x.T), i, 16))
  x, segments = jnp.ones((128, 128)), jnp.arange(128) % 16
  jax.block_until_ready(fn(x, segments))
  with xla_profile.trace(str(tmp_path)):
    for _ in range(3):
      jax.block_until_ready(fn(x, segments))
  summary = xla_profile.summarise(str(tmp_path), num_calls=3)
  assert summary.source == 'cpu' and summary.ops
  assert 0 < summary.busy_s <= summary.span_s
  assert 'scatter' in summary.by_kind()
  assert 'top operations' in xla_profile.format_table(summary)
  families = summary.by_family()
  assert sum(count for count, _ in families.values()) == len(summary.ops)
  assert sum(s for _, s in families.values()) == pytest.approx(summary.total_s)
  assert not any(re.search(r'\.\d+$', name) for name in families)
  short_count, short_s = summary.short_ops(under_s=float('inf'))
  assert short_count == len(summary.ops) and short_s == pytest.approx(summary.total_s)
  with pytest.raises(FileNotFoundError, match='no \\*.xplane.pb'):
    xla_profile.summarise(str(tmp_path / 'empty'), 1)


def test_train_step_benchmark_ends_with_its_json(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'benchmarks.train_step', '--repeats', '1', '--skip_ntgnn',
       '--profile_dir', str(tmp_path / 'trace')],
      cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.strip().splitlines()
  record = json.loads(lines[-1])
  assert record['botan_step_s'] > 0 and record['ntgnn_step_s'] is None
  assert record['botan_loop_step_s'] > 0 and record['ntgnn_loop_step_s'] is None
  assert record['details']['botan']['profile_kernels'] > 0
  assert any(line.startswith('cpu profile, per call') for line in lines)

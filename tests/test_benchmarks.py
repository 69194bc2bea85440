"""The benchmark helpers that GPU sessions rely on: edge layouts, the profile table, train_step."""

import functools
import json
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import jraph
import numpy as np
import pytest

from benchmarks import message_passing_layouts as layouts
from benchmarks import xla_profile
from botan_jax import models

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


def _mlp(layers: dict, x: jax.Array) -> jax.Array:
  """An MLP of `models.MLP`'s parameters: ReLU after every `layers_k`, then `output` if present."""
  for k in range(sum(name.startswith('layers_') for name in layers)):
    x = jax.nn.relu(x @ layers[f'layers_{k}']['kernel'] + layers[f'layers_{k}']['bias'])
  if 'output' in layers:
    x = x @ layers['output']['kernel'] + layers['output']['bias']
  return x


@pytest.mark.parametrize('layout', ['coo', 'coo_sorted_f32_gather'])
def test_the_benchmarked_message_passing_is_the_models(layout):
  """The layouts' seven steps, with models.Botan's weights, give models.Botan's outputs."""
  senders, receivers = random_symmetric_graph(50, 200, seed=2)
  rng = np.random.default_rng(0)
  graph = jraph.GraphsTuple(
      nodes={'features': rng.integers(0, 2, (50, 1)).astype(np.float32)},
      edges={'features': rng.normal(size=(len(senders), 3)).astype(np.float32)},
      senders=senders, receivers=receivers, n_node=np.array([50]),
      n_edge=np.array([len(senders)]), globals=None)
  model = models.Botan(precision='highest')
  # Weights twice PyTorch's initial scale, so that the outputs depend on every step.
  params = jax.tree.map(lambda w: 2.0 * w, model.init(jax.random.PRNGKey(3), graph)['params'])
  node_pred, edge_pred = model.apply({'params': params}, graph)

  g_e, g_v = params['edge_update'], params['node_update']
  blocks = dict(sender=g_e['sender']['kernel'], receiver=g_e['receiver']['kernel'],
                edge=g_e['edge']['kernel'], edge_hidden=g_e['hidden']['layers_0']['kernel'],
                edge_hidden_bias=g_e['hidden']['layers_0']['bias'],
                node=g_v['node']['kernel'], aggregate=g_v['aggregate']['kernel'],
                node_hidden=g_v['hidden']['layers_0']['kernel'],
                node_hidden_bias=g_v['hidden']['layers_0']['bias'])
  with jax.default_matmul_precision('highest'):
    nodes0 = _mlp(params['node_encoder'], graph.nodes['features'])
    edges0 = _mlp(params['edge_encoder'], graph.edges['features'])
    initial_nodes = nodes0 @ g_v['initial_node']['kernel'] + g_v['initial_node']['bias']
    initial_edges = edges0 @ g_e['initial_edge']['kernel'] + g_e['initial_edge']['bias']
    run = functools.partial(layouts.run_coo, senders_sorted=layout != 'coo',
                            gather_float32=layout != 'coo')
    nodes, edges = run(blocks, nodes0, edges0, initial_nodes, initial_edges,
                       dict(senders=jnp.asarray(senders), receivers=jnp.asarray(receivers)),
                       jnp.float32, 7)
    got_node = _mlp(params['decoder'], nodes)[:, 0]
    got_edge = _mlp(params['decoder'], edges)[:, 0]
  np.testing.assert_allclose(got_node, node_pred, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(got_edge, edge_pred, rtol=1e-4, atol=1e-5)
  # The check can fail: senders and receivers swapped is another network.
  swapped, _ = run(blocks, nodes0, edges0, initial_nodes, initial_edges,
                   dict(senders=jnp.asarray(receivers), receivers=jnp.asarray(senders)),
                   jnp.float32, 7)
  assert np.max(np.abs(_mlp(params['decoder'], swapped)[:, 0] - node_pred)) > 1e-3


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

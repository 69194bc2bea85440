"""Edge layouts for BOTAN's message passing, checked equal and timed forward + backward.

  python -m benchmarks.message_passing_layouts [--repeats 20] [--dtype float32] [--data DIR]

The gathers onto edges and the sum over received edges are where a step of
BOTAN leaves the dense, bandwidth-friendly world: on a GPU each gather's
gradient and each aggregation is a scatter-add with atomics. This script
runs BOTAN's seven message-passing steps (Eqs. 3-5, the first layers split
per input block as in `models.py`, no encoders or decoders) on one
4096-particle graph, in seven layouts of the same edges:

  coo             edges in (sender, receiver) order, unsorted scatter-adds
                  for the aggregation and both gathers' gradients.
  coo_sorted      the same, declaring the (sorted) senders sorted, so the
                  sender gather's gradient may use XLA's sorted scatter.
  coo_f32_gather  `coo` with the node blocks gathered in float32, so that
                  the gathers' gradients are float32 scatter-adds also when
                  the layers compute in bfloat16.
  coo_sorted_f32_gather  both of the above: the model's layout.
  receiver_major  edges in (receiver, sender) order: the aggregation and the
                  receiver gather's gradient are sorted scatters.
  dense           receiver-major slots (N, K), K the largest in-degree,
                  padding masked: the aggregation is a sum over K and the
                  receiver term a broadcast; the sender gather's gradient
                  stays a scatter-add.
  dense_reverse   `dense`, with the sender gather's gradient read through
                  each slot's reverse edge (the graph is symmetric): a
                  gather and a sum over K, so no scatter at all.

Every layout's outputs and gradients over one step are first checked against
`coo` in float32 (highest precision); then each is timed over seven steps as
one jitted value-and-gradient call (median of `--repeats`). The last line is
JSON.
"""

import argparse
import functools
import json
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import train_step

LATENT = 64
NUM_STEPS = 7
LAYOUTS = ('coo', 'coo_sorted', 'coo_f32_gather', 'coo_sorted_f32_gather', 'receiver_major',
           'dense', 'dense_reverse')


def init_params(mean_degree: float, seed: int = 0,
                latent: int = LATENT) -> dict[str, np.ndarray]:
  """First-layer blocks and second layers of g_e and g_v, float32 (latent, latent) or (latent,).

  Scaled so that states stay of order one over the seven steps (the sum over
  about `mean_degree` received edges included), which keeps the float32
  comparison of the layouts well conditioned.
  """
  rng = np.random.default_rng(seed)
  scales = dict(sender=1 / 2, receiver=1 / 2, edge=1 / 2, edge_hidden=1.0, node=1 / 3 ** 0.5,
                aggregate=1 / (3 * mean_degree) ** 0.5, node_hidden=1.0)
  params = {name: scale * rng.normal(size=(latent, latent)) / latent ** 0.5
            for name, scale in scales.items()}
  params['edge_hidden_bias'] = 0.1 * rng.normal(size=latent)
  params['node_hidden_bias'] = 0.1 * rng.normal(size=latent)
  return {name: value.astype(np.float32) for name, value in params.items()}


def matmul(x: jax.Array, kernel: jax.Array, dtype: jnp.dtype) -> jax.Array:
  return jnp.dot(x.astype(dtype), kernel.astype(dtype), precision='highest')


def node_update(params, nodes, aggregated, initial_nodes, dtype) -> jax.Array:
  """g_v of Eq. 5 on (N, latent) states."""
  first = jax.nn.relu(matmul(nodes, params['node'], dtype)
                      + matmul(aggregated, params['aggregate'], dtype) + initial_nodes)
  return jax.nn.relu(matmul(first, params['node_hidden'], dtype) + params['node_hidden_bias'])


def edge_hidden(params, first, dtype) -> jax.Array:
  """The second layer of g_e on any (..., latent) first-layer sum."""
  return jax.nn.relu(matmul(jax.nn.relu(first), params['edge_hidden'], dtype)
                     + params['edge_hidden_bias'])


def run_coo(params, nodes, edges, initial_nodes, initial_edges, graph, dtype, num_steps,
            senders_sorted=False, receivers_sorted=False, gather_float32=False):
  """Message passing on edge lists: edges (E, latent), graph['senders'/'receivers'] (E,)."""
  senders, receivers = graph['senders'], graph['receivers']
  num_nodes = nodes.shape[0]
  gathered = (lambda x: x.astype(jnp.float32)) if gather_float32 else (lambda x: x)
  for _ in range(num_steps):
    from_senders = gathered(matmul(nodes, params['sender'], dtype)).at[senders].get(
        indices_are_sorted=senders_sorted)
    from_receivers = gathered(matmul(nodes, params['receiver'], dtype)).at[receivers].get(
        indices_are_sorted=receivers_sorted)
    edges = edge_hidden(params, from_senders + from_receivers
                        + matmul(edges, params['edge'], dtype) + initial_edges, dtype)
    aggregated = jax.ops.segment_sum(edges.astype(jnp.float32), receivers, num_nodes,
                                     indices_are_sorted=receivers_sorted)
    nodes = node_update(params, nodes, aggregated, initial_nodes, dtype)
  return nodes, edges


@jax.custom_vjp
def gather_by_reverse(projected, senders, reverse, mask):
  """projected[senders] on (N, K) slots; its gradient is read through reverse slots."""
  del reverse, mask
  return projected[senders]


def _gather_by_reverse_fwd(projected, senders, reverse, mask):
  return projected[senders], (reverse, mask)


def _gather_by_reverse_bwd(residuals, cotangent):
  reverse, mask = residuals
  flat = cotangent.reshape((-1, cotangent.shape[-1]))
  # Slot (i, k) holds an edge j -> i; reverse[i, k] is the slot of i -> j, whose sender is i.
  to_sender = flat[reverse.reshape(-1)].reshape(cotangent.shape)
  grad = jnp.sum(jnp.where(mask[..., None], to_sender.astype(jnp.float32), 0.0), axis=1)
  return grad.astype(cotangent.dtype), None, None, None


gather_by_reverse.defvjp(_gather_by_reverse_fwd, _gather_by_reverse_bwd)


def run_dense(params, nodes, edges, initial_nodes, initial_edges, graph, dtype, num_steps,
              reverse=False):
  """Message passing on (N, K) receiver-major slots; edges (N, K, latent)."""
  senders, mask = graph['slot_senders'], graph['slot_mask']
  for _ in range(num_steps):
    projected = matmul(nodes, params['sender'], dtype)
    if reverse:
      from_senders = gather_by_reverse(projected, senders, graph['slot_reverse'], mask)
    else:
      from_senders = projected[senders]
    from_receivers = matmul(nodes, params['receiver'], dtype)[:, None, :]
    edges = edge_hidden(params, from_senders + from_receivers
                        + matmul(edges, params['edge'], dtype) + initial_edges, dtype)
    aggregated = jnp.sum(jnp.where(mask[..., None], edges.astype(jnp.float32), 0.0), axis=1)
    nodes = node_update(params, nodes, aggregated, initial_nodes, dtype)
  return nodes, edges


def dense_slots(senders: np.ndarray, receivers: np.ndarray, num_nodes: int) -> dict:
  """Receiver-major (N, K) slots of a symmetric edge list.

  Returns:
    slot_senders (N, K) int32 (padding: the receiver itself), slot_mask (N, K)
    bool, slot_reverse (N, K) int32 flat slot of each slot's reverse edge
    (padding: itself), and edge_slot (E,) the flat slot of each listed edge.
  """
  order = np.lexsort((senders, receivers))
  degree = np.bincount(receivers, minlength=num_nodes)
  num_slots = int(degree.max())
  first = np.concatenate([[0], np.cumsum(degree)[:-1]])
  rank = np.arange(len(order)) - first[receivers[order]]
  edge_slot = np.empty(len(order), np.int64)
  edge_slot[order] = receivers[order] * num_slots + rank
  slot_senders = np.repeat(np.arange(num_nodes), num_slots).reshape(num_nodes, num_slots)
  slot_mask = np.zeros((num_nodes, num_slots), bool)
  slot_senders.reshape(-1)[edge_slot] = senders
  slot_mask.reshape(-1)[edge_slot] = True
  lookup = {(int(s), int(r)): int(slot) for s, r, slot in zip(senders, receivers, edge_slot)}
  slot_reverse = np.arange(num_nodes * num_slots)
  for (s, r), slot in lookup.items():
    slot_reverse[slot] = lookup[(r, s)]
  return dict(slot_senders=slot_senders.astype(np.int32), slot_mask=slot_mask,
              slot_reverse=slot_reverse.reshape(num_nodes, num_slots).astype(np.int32),
              edge_slot=edge_slot.astype(np.int32))


def layout_problem(layout: str, senders: np.ndarray, receivers: np.ndarray, num_nodes: int,
                   dtype: jnp.dtype, num_steps: int = NUM_STEPS
                   ) -> tuple[Callable, dict, Callable, Callable]:
  """A layout's message passing, its index arrays, and maps of edge arrays to and from COO.

  Returns:
    run(params, nodes, edges, initial_nodes, initial_edges, graph) -> (nodes, edges),
    graph (the layout's index arrays), from_coo and to_coo, which map an (E, ...)
    array in the input order to the layout's edge array and back.
  """
  if layout.startswith('coo'):
    run = functools.partial(run_coo, dtype=dtype, num_steps=num_steps,
                            senders_sorted=layout.startswith('coo_sorted'),
                            gather_float32=layout.endswith('f32_gather'))
    identity = lambda x: x
    return run, dict(senders=senders, receivers=receivers), identity, identity
  if layout == 'receiver_major':
    order = np.lexsort((senders, receivers))
    inverse = np.argsort(order)
    run = functools.partial(run_coo, dtype=dtype, num_steps=num_steps, receivers_sorted=True)
    return (run, dict(senders=senders[order], receivers=receivers[order]),
            lambda x: x[order], lambda x: x[inverse])
  slots = dense_slots(senders, receivers, num_nodes)
  edge_slot = slots.pop('edge_slot')
  shape = slots['slot_mask'].shape
  def from_coo(x):
    out = np.zeros((shape[0] * shape[1],) + x.shape[1:], x.dtype)
    out[edge_slot] = x
    return out.reshape(shape + x.shape[1:])
  run = functools.partial(run_dense, dtype=dtype, num_steps=num_steps,
                          reverse=layout == 'dense_reverse')
  return run, slots, from_coo, lambda x: x.reshape((-1,) + x.shape[2:])[edge_slot]


def make_loss(run: Callable) -> Callable:
  """A scalar of the final states, weighted by fixed random read-outs, and the final edges."""
  def loss(params, nodes, edges, graph, inputs):
    out_nodes, out_edges = run(params, nodes, edges, inputs['initial_nodes'],
                               inputs['initial_edges'], graph)
    value = (jnp.sum(out_nodes * inputs['node_readout'])
             + jnp.sum(out_edges.astype(jnp.float32) * inputs['edge_readout']))
    return value, out_edges
  return loss


def random_arrays(num_nodes: int, num_edges: int, seed: int = 0) -> dict[str, np.ndarray]:
  """Float32 states (N or E, latent) in edge-list order: inputs, h^0 terms and read-outs."""
  rng = np.random.default_rng(seed)
  normal = lambda rows, scale=1.0: (scale * rng.normal(size=(rows, LATENT))).astype(np.float32)
  return dict(nodes=normal(num_nodes), edges=normal(num_edges),
              initial_nodes=normal(num_nodes, 0.1), initial_edges=normal(num_edges, 0.1),
              node_readout=normal(num_nodes), edge_readout=normal(num_edges))


def build(layout: str, senders: np.ndarray, receivers: np.ndarray, num_nodes: int,
          arrays: dict[str, np.ndarray], dtype: jnp.dtype, num_steps: int = NUM_STEPS
          ) -> tuple[Callable, tuple, Callable]:
  """The jitted value-and-gradient of a layout, its device arguments and its map back to COO."""
  run, graph, from_coo, to_coo = layout_problem(layout, senders, receivers, num_nodes, dtype,
                                                num_steps)
  params = init_params(len(senders) / num_nodes)
  inputs = dict(initial_nodes=arrays['initial_nodes'], node_readout=arrays['node_readout'],
                initial_edges=from_coo(arrays['initial_edges']),
                edge_readout=from_coo(arrays['edge_readout']))
  fn = jax.jit(jax.value_and_grad(make_loss(run), argnums=(0, 1, 2), has_aux=True))
  arguments = jax.device_put((params, arrays['nodes'], from_coo(arrays['edges']), graph, inputs))
  return fn, arguments, to_coo


def outputs(fn: Callable, arguments: tuple, to_coo: Callable) -> dict[str, np.ndarray]:
  """Loss, final edges and every gradient, edge arrays in edge-list order."""
  (value, out_edges), (g_params, g_nodes, g_edges) = fn(*arguments)
  return dict(value=np.asarray(value), out_edges=to_coo(np.asarray(out_edges)),
              g_nodes=np.asarray(g_nodes), g_edges=to_coo(np.asarray(g_edges)),
              **{f'g_{name}': np.asarray(g) for name, g in g_params.items()})


def relative_error(a, b) -> float:
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--repeats', type=int, default=20)
  parser.add_argument('--data', default=train_step.DEFAULT_DATA)
  parser.add_argument('--dtype', default='float32', choices=('float32', 'bfloat16'))
  parser.add_argument('--layouts', default=','.join(LAYOUTS))
  parser.add_argument('--tolerance', type=float, default=1e-4,
                      help='largest relative error against coo of the one-step check')
  args = parser.parse_args()
  layouts = args.layouts.split(',')
  if unknown := set(layouts) - set(LAYOUTS):
    parser.error(f'unknown layouts {sorted(unknown)}; choose from {LAYOUTS}')

  graph_set, source = train_step.load_graphs(args.data, 1)
  graph = jax.tree.map(lambda x: np.asarray(x[0]), graph_set.graphs)
  valid = graph.edges['valid']
  senders, receivers = graph.senders[valid], graph.receivers[valid]
  num_nodes = int(graph.n_node[0])
  arrays = random_arrays(num_nodes, len(senders))
  print(f'devices: {jax.devices()}; graph: {source}; {num_nodes} nodes, {len(senders)} edges, '
        f'largest in-degree {np.bincount(receivers).max()}; dtype {args.dtype}')

  # One step checks every index path; over seven, ReLUs near zero flip with the rounding
  # order and move correct layouts' gradients by up to 1e-3 in float32.
  check = lambda layout: outputs(*build(layout, senders, receivers, num_nodes, arrays,
                                        jnp.float32, num_steps=1))
  reference = check('coo')
  results = {}
  for layout in layouts:
    got = check(layout)
    errors = {name: relative_error(got[name], reference[name]) for name in reference}
    worst = max(errors, key=errors.get)
    if errors[worst] > args.tolerance:
      raise SystemExit(f'{layout}: {worst} differs from coo by {errors[worst]:.2e} relative')
    fn, arguments, _ = build(layout, senders, receivers, num_nodes, arrays, jnp.dtype(args.dtype))
    jax.block_until_ready(fn(*arguments))
    seconds = []
    for _ in range(args.repeats):
      start = time.perf_counter()
      jax.block_until_ready(fn(*arguments))
      seconds.append(time.perf_counter() - start)
    results[layout] = dict(median_s=float(np.median(seconds)), min_s=float(np.min(seconds)),
                           max_relative_error=errors[worst])
    print(f'{layout:15s} {results[layout]["median_s"] * 1e3:9.3f} ms (min '
          f'{results[layout]["min_s"] * 1e3:.3f}) | largest error vs coo {errors[worst]:.1e} '
          f'({worst})', flush=True)
  print(json.dumps(dict(benchmark='message_passing_layouts', device=jax.devices()[0].device_kind,
                        dtype=args.dtype, num_edges=len(senders), results=results)))


if __name__ == '__main__':
  main()

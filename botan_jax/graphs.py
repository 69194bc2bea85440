"""Periodic neighbor graphs as padded `jraph.GraphsTuple`s.

Nodes are particles, directed edges join every ordered pair (i, j), i != j,
closer than a cut-off at t=0 (minimum image). Edges are ordered
lexicographically by (sender, receiver), as in the authors' code. The
neighbor search is a periodic k-d tree: O(N log N), never the N x N distance
matrix.

Graph leaves used throughout the project:
  nodes['features'] (N, 1) float32  particle type as float (A = 0., B = 1.)
  edges['features'] (E, 3) float32  r_j - r_i, sender i, receiver j
  nodes/edges['target'], ['eval_mask'], ['valid'] as built by input_pipeline.
"""

import math
from collections.abc import Iterable

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from scipy import spatial


def minimum_image(displacements: np.ndarray, box: np.ndarray) -> np.ndarray:
  """Maps displacement vectors (..., 3) into the nearest periodic image of a box (3,)."""
  return displacements - box * np.round(displacements / box)


def wrap(positions: np.ndarray, box: np.ndarray) -> np.ndarray:
  """Positions (N, 3) mapped into [0, box) (3,), as a new array."""
  wrapped = np.mod(positions, box)
  wrapped[wrapped >= box] = 0.0  # np.mod can round up to exactly L.
  return wrapped


def neighbor_pairs(positions: np.ndarray, box: np.ndarray, cutoff: float) -> np.ndarray:
  """Unordered pairs of particles closer than `cutoff` under periodic boundaries.

  Args:
    positions: (N, 3) positions; they are wrapped into the box first.
    box: (3,) box lengths.
    cutoff: strict distance cut-off, at most half the smallest box length.

  Returns:
    (P, 2) int32 array of pairs (i, j) with i < j and |r_j - r_i|_mi < cutoff.
  """
  if cutoff > 0.5 * float(np.min(box)):
    raise ValueError(f'cutoff {cutoff} exceeds half the box {box}: images would repeat.')
  wrapped = wrap(positions, box)
  tree = spatial.cKDTree(wrapped, boxsize=box)
  pairs = tree.query_pairs(r=cutoff, output_type='ndarray')
  # query_pairs keeps distance <= r; the convention is strict.
  lengths = np.linalg.norm(minimum_image(wrapped[pairs[:, 1]] - wrapped[pairs[:, 0]], box), axis=1)
  return pairs[lengths < cutoff].astype(np.int32)


def directed_edges(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """Both directions of each unordered pair, in lexicographic (sender, receiver) order.

  Args:
    pairs: (P, 2) pairs (i, j) with i < j.

  Returns:
    senders (2P,), receivers (2P,), pair_index (2P,) the pair each edge comes
    from, and orientation (2P,) +1 where the edge runs i -> j, -1 for j -> i.
    Per-pair quantities expand to edges as `x[pair_index]` (symmetric) or
    `orientation * x[pair_index]` (antisymmetric, such as r_j - r_i).
  """
  num_pairs = pairs.shape[0]
  senders = np.concatenate([pairs[:, 0], pairs[:, 1]])
  receivers = np.concatenate([pairs[:, 1], pairs[:, 0]])
  order = np.lexsort((receivers, senders))
  pair_index = np.tile(np.arange(num_pairs, dtype=np.int32), 2)[order]
  orientation = np.repeat(np.array([1, -1], np.int8), num_pairs)[order]
  return senders[order], receivers[order], pair_index, orientation


def pad(graph: jraph.GraphsTuple, num_nodes: int, num_edges: int) -> jraph.GraphsTuple:
  """Pads one graph to `num_nodes` nodes (> its own) and `num_edges` edges.

  The padding forms a second graph whose edges join padding nodes only, so it
  never changes a real node's aggregate; padded features, targets and masks
  are zero (False).
  """
  return jraph.pad_with_graphs(graph, n_node=num_nodes, n_edge=num_edges, n_graph=2)


def padding_budget(num_nodes: int, num_edges: int, multiple: int = 256,
                   headroom: float = 0.0) -> tuple[int, int]:
  """Padded sizes for graphs of at most `num_nodes` nodes and `num_edges` edges.

  One budget per dataset makes jit compile once; rounding up to `multiple`
  keeps budgets stable across datasets of similar size. `headroom` (a
  fraction) enlarges both counts first, so that graphs a little larger (the
  next configuration of the same size and density) fit the same budget.
  """
  round_up = lambda x: int(-(-x // multiple) * multiple)
  grow = lambda x: math.ceil(x * (1.0 + headroom))
  return round_up(grow(num_nodes) + 1), round_up(max(grow(num_edges), 1))


def budget_for(unpadded: list[jraph.GraphsTuple]) -> tuple[int, int]:
  """The padding budget (nodes, edges) that fits every unpadded graph of `unpadded`."""
  return padding_budget(max(int(g.n_node[0]) for g in unpadded),
                        max(int(g.n_edge[0]) for g in unpadded))


def choose_budget(num_nodes: int, num_edges: int, budgets: Iterable[tuple[int, int]],
                  headroom: float = 0.05) -> tuple[int, int]:
  """The padding budget for one graph of `num_nodes` and `num_edges`, reusing a compiled one.

  Args:
    num_nodes, num_edges: the graph's sizes.
    budgets: the (nodes, edges) budgets already compiled.
    headroom: the fraction a new budget leaves above the graph's sizes.

  Returns:
    The smallest of `budgets` that holds the graph and is at most twice its
    own budget in nodes and in edges (a small graph is not run at the cost of
    a large one); else a new budget with `headroom`, so that the next
    configurations of the same size and density fit it too.
  """
  own_nodes, own_edges = padding_budget(num_nodes, num_edges)
  fitting = [(nodes, edges) for nodes, edges in budgets
             if own_nodes <= nodes <= 2 * own_nodes and own_edges <= edges <= 2 * own_edges]
  if fitting:
    return min(fitting, key=lambda budget: (budget[1], budget[0]))
  return padding_budget(num_nodes, num_edges, headroom=headroom)


def stack(graphs: list[jraph.GraphsTuple]) -> jraph.GraphsTuple:
  """Stacks equally padded graphs along a new leading axis (G, ...)."""
  return jax.tree.map(lambda *leaves: np.stack(leaves), *graphs)


def merge(stacked: jraph.GraphsTuple) -> jraph.GraphsTuple:
  """Joins a stack of equally padded graphs (B, ...) into one batched graph.

  Works under jit: shapes depend only on the padding budget. Node indices of
  graph b are offset by b times the padded node count.
  """
  num_graphs, nodes_per_graph = stacked.senders.shape[0], stacked.nodes['features'].shape[1]
  offsets = (jnp.arange(num_graphs, dtype=jnp.int32) * nodes_per_graph)[:, None]
  flatten = lambda x: x.reshape((-1,) + x.shape[2:])
  return jraph.GraphsTuple(
      nodes={k: flatten(v) for k, v in stacked.nodes.items()},
      edges={k: flatten(v) for k, v in stacked.edges.items()},
      senders=flatten(stacked.senders + offsets),
      receivers=flatten(stacked.receivers + offsets),
      n_node=flatten(stacked.n_node),
      n_edge=flatten(stacked.n_edge),
      globals=None)

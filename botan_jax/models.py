"""BOTAN: an interaction network with node and edge outputs (paper Eqs. 1-6).

  h_v^0 = f_v(x_v),  h_e^0 = f_e(r_j - r_i)                              (1, 2)
  repeated n times with the same two MLPs:
    h_e <- g_e(h_e, h_sender, h_receiver, h_e^0)                          (3)
    a_v  = sum of h_e over edges received by v                            (4)
    h_v <- g_v(h_v, a_v, h_v^0)                                           (5)
  S_v = d(h_v),  E_e = d(h_e)                                             (6)

Every MLP has `num_layers` ReLU layers of width `latent_size` (ReLU after the
last one too, as the authors); decoders end in a linear layer to one value.

The first layer of g_e and g_v is linear in its concatenated input, so it is
stored as one kernel per input block (`sender`, `receiver`, `edge`,
`initial_edge`; `node`, `aggregate`, `initial_node`). That makes the
authors' concatenation order a matter of the weight import only, and lets the
node blocks be multiplied per node before they are gathered onto edges and
the h^0 blocks once per forward pass rather than once per step.
"""

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import jraph


def torch_linear_init(fan_in: int) -> Callable[..., jax.Array]:
  """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Linear weights and biases.

  `fan_in` is the width of the whole concatenated input, also for a block.
  """
  bound = fan_in ** -0.5
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


def dense(features: int, fan_in: int, use_bias: bool = True, name: str | None = None,
          precision: str | None = None, dtype: str | None = None) -> nn.Dense:
  """A Dense layer initialised as PyTorch's Linear with `fan_in` inputs.

  `dtype` is the computation dtype (None: that of the inputs); parameters stay float32.
  """
  init = torch_linear_init(fan_in)
  return nn.Dense(features, use_bias=use_bias, kernel_init=init, bias_init=init,
                  name=name, precision=precision, dtype=dtype)


class MLP(nn.Module):
  """`num_layers` Dense layers of `latent_size`, each followed by ReLU.

  With `output_size`, a final linear layer maps to that many outputs (the
  decoders).
  """
  latent_size: int
  num_layers: int
  output_size: int | None = None
  precision: str | None = None
  dtype: str | None = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    fan_in = x.shape[-1]
    for i in range(self.num_layers):
      x = nn.relu(dense(self.latent_size, fan_in, name=f'layers_{i}',
                        precision=self.precision, dtype=self.dtype)(x))
      fan_in = self.latent_size
    if self.output_size is not None:
      x = dense(self.output_size, fan_in, name='output', precision=self.precision,
                dtype=self.dtype)(x)
    return x


class EdgeUpdate(nn.Module):
  """g_e of Eq. 3 over the concatenation [h_sender, h_receiver, h_e, h_e^0]."""
  latent_size: int
  num_layers: int
  precision: str | None = None
  dtype: str | None = None

  def setup(self):
    fan_in = 4 * self.latent_size
    block = lambda name, bias=False: dense(self.latent_size, fan_in, bias, name, self.precision,
                                           self.dtype)
    self.sender = block('sender')
    self.receiver = block('receiver')
    self.edge = block('edge')
    self.initial_edge = block('initial_edge', bias=True)
    self.hidden = MLP(self.latent_size, self.num_layers - 1, precision=self.precision,
                      dtype=self.dtype)

  def initial_term(self, initial_edges: jax.Array) -> jax.Array:
    """The h_e^0 block and bias of the first layer, (E, latent); constant over steps."""
    return self.initial_edge(initial_edges)

  def __call__(self, edges: jax.Array, nodes: jax.Array, senders: jax.Array,
               receivers: jax.Array, initial_term: jax.Array) -> jax.Array:
    """New edge states (E, latent) from edges (E, latent) and nodes (N, latent).

    The node blocks are gathered in float32 whatever the computation dtype,
    so that their gradients are float32 scatter-adds (GPUs have no native
    bfloat16 atomic add); their sum joins the edge blocks in the computation
    dtype, so no (E, latent) float32 array is made for bfloat16.
    """
    from_nodes = (self.sender(nodes).astype(jnp.float32)[senders]
                  + self.receiver(nodes).astype(jnp.float32)[receivers])
    from_edges = self.edge(edges)
    first = from_nodes.astype(from_edges.dtype) + from_edges + initial_term
    return self.hidden(nn.relu(first))


class NodeUpdate(nn.Module):
  """g_v of Eq. 5 over the concatenation [h_v, h_v^0, a_v]."""
  latent_size: int
  num_layers: int
  precision: str | None = None
  dtype: str | None = None

  def setup(self):
    fan_in = 3 * self.latent_size
    block = lambda name, bias=False: dense(self.latent_size, fan_in, bias, name, self.precision,
                                           self.dtype)
    self.node = block('node')
    self.initial_node = block('initial_node', bias=True)
    self.aggregate = block('aggregate')
    self.hidden = MLP(self.latent_size, self.num_layers - 1, precision=self.precision,
                      dtype=self.dtype)

  def initial_term(self, initial_nodes: jax.Array) -> jax.Array:
    """The h_v^0 block and bias of the first layer, (N, latent); constant over steps."""
    return self.initial_node(initial_nodes)

  def __call__(self, nodes: jax.Array, aggregated: jax.Array,
               initial_term: jax.Array) -> jax.Array:
    """New node states (N, latent) from nodes and aggregated messages (N, latent)."""
    return self.hidden(nn.relu(self.node(nodes) + self.aggregate(aggregated) + initial_term))


class Botan(nn.Module):
  """The BOTAN network; with loss weight p=1 it is the node-only NT-GNN.

  Attributes:
    latent_size: width of every hidden layer and state (64).
    num_layers: ReLU layers per MLP (2).
    num_message_passing_steps: n in the paper (7).
    share_step_weights: one g_e and one g_v for all steps (the authors), or one
      pair per step.
    share_decoder: one decoder for nodes and edges (the authors), or two.
    precision: matmul precision passed to every Dense (None: backend default).
    dtype: computation dtype of every Dense, e.g. 'bfloat16' to halve the
      memory traffic of the edge states on accelerators (None: float32).
      Parameters, the node gathers, the aggregation sums and the outputs stay
      float32.
  """
  latent_size: int = 64
  num_layers: int = 2
  num_message_passing_steps: int = 7
  share_step_weights: bool = True
  share_decoder: bool = True
  precision: str | None = None
  dtype: str | None = None

  @nn.compact
  def __call__(self, graph: jraph.GraphsTuple) -> tuple[jax.Array, jax.Array]:
    """Predicts node and edge targets.

    Args:
      graph: nodes['features'] (N, 1) particle types, edges['features'] (E, 3)
        edge vectors r_j - r_i, senders and receivers (E,); padded or not.

    Returns:
      node predictions (N,) and edge predictions (E,).
    """
    mlp = lambda name, output_size=None: MLP(
        self.latent_size, self.num_layers, output_size, self.precision, self.dtype, name=name)
    num_models = 1 if self.share_step_weights else self.num_message_passing_steps
    edge_updates = [EdgeUpdate(self.latent_size, self.num_layers, self.precision, self.dtype,
                               name=f'edge_update_{k}' if num_models > 1 else 'edge_update')
                    for k in range(num_models)]
    node_updates = [NodeUpdate(self.latent_size, self.num_layers, self.precision, self.dtype,
                               name=f'node_update_{k}' if num_models > 1 else 'node_update')
                    for k in range(num_models)]

    nodes0 = mlp('node_encoder')(graph.nodes['features'])
    edges0 = mlp('edge_encoder')(graph.edges['features'])
    num_nodes = nodes0.shape[0]
    initial_edge_terms = [g.initial_term(edges0) for g in edge_updates]
    initial_node_terms = [g.initial_term(nodes0) for g in node_updates]
    nodes, edges = nodes0, edges0
    for step in range(self.num_message_passing_steps):
      k = step % num_models
      edges = edge_updates[k](edges, nodes, graph.senders, graph.receivers,
                              initial_edge_terms[k])
      aggregated = jax.ops.segment_sum(edges.astype(jnp.float32), graph.receivers,
                                       num_segments=num_nodes)
      nodes = node_updates[k](nodes, aggregated, initial_node_terms[k])

    if self.share_decoder:
      node_decoder = edge_decoder = mlp('decoder', 1)
    else:
      node_decoder, edge_decoder = mlp('node_decoder', 1), mlp('edge_decoder', 1)
    return (node_decoder(nodes)[:, 0].astype(jnp.float32),
            edge_decoder(edges)[:, 0].astype(jnp.float32))

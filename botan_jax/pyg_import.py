"""The authors' PyTorch Geometric BOTAN weights <-> Flax parameters of `models.Botan`.

A PyTorch `Linear` stores weight (out, in) and computes x W^T + b; a Flax
`Dense` stores kernel (in, out). The authors' message-passing MLPs read
concatenations, whose column blocks map onto the named first-layer blocks:
  edge_model fc1 (64, 256): [h_sender, h_receiver, h_e, h_e^0]
  node_model fc1 (64, 192): [h_v, h_v^0, a_v]
The first-layer bias goes with the h^0 block. The mapping covers the authors'
architecture: shared step weights, one shared decoder, two layers per MLP.
"""

import os
from collections.abc import Mapping

import numpy as np

from botan_jax import errors
from botan_jax import io

# (PyTorch prefix, Flax path) for plain Linear layers.
_LINEAR_LAYERS = (
    ('node_encoder.fc1', ('node_encoder', 'layers_0')),
    ('node_encoder.fc2', ('node_encoder', 'layers_1')),
    ('edge_encoder.fc1', ('edge_encoder', 'layers_0')),
    ('edge_encoder.fc2', ('edge_encoder', 'layers_1')),
    ('decoder.fc1', ('decoder', 'layers_0')),
    ('decoder.fc2', ('decoder', 'layers_1')),
    ('decoder.fc3', ('decoder', 'output')),
    ('network.edge_model.mlp.fc2', ('edge_update', 'hidden', 'layers_0')),
    ('network.node_model.mlp.fc2', ('node_update', 'hidden', 'layers_0')),
)
# (PyTorch prefix, Flax module, input blocks in the authors' concatenation
# order, the block that carries the bias).
_CONCAT_LAYERS = (
    ('network.edge_model.mlp.fc1', 'edge_update',
     ('sender', 'receiver', 'edge', 'initial_edge'), 'initial_edge'),
    ('network.node_model.mlp.fc1', 'node_update',
     ('node', 'initial_node', 'aggregate'), 'initial_node'),
)


def _set(tree: dict, path: tuple[str, ...], value: np.ndarray) -> None:
  for key in path[:-1]:
    tree = tree.setdefault(key, {})
  tree[path[-1]] = value


def _get(tree: Mapping, path: tuple[str, ...]) -> np.ndarray:
  for key in path:
    tree = tree[key]
  return np.asarray(tree)


def expected_keys() -> list[str]:
  """Every state-dict key of the authors' model."""
  prefixes = [p for p, _ in _LINEAR_LAYERS] + [p for p, *_ in _CONCAT_LAYERS]
  return sorted(f'{p}.{kind}' for p in prefixes for kind in ('weight', 'bias'))


def state_dict_to_params(state: Mapping[str, np.ndarray], source: str = 'state dict') -> dict:
  """Converts the authors' state dict into the `params` collection of `models.Botan`.

  Raises:
    io.DataError (a ValueError): naming `source` when keys are missing or shapes disagree.
  """
  missing = [k for k in expected_keys() if k not in state]
  if missing:
    raise io.DataError(f'{source}: not a BOTAN state dict; missing keys {missing[:4]}'
                       f'{"..." if len(missing) > 4 else ""}.')
  params: dict = {}
  for prefix, path in _LINEAR_LAYERS:
    _set(params, path + ('kernel',), np.asarray(state[f'{prefix}.weight'], np.float32).T)
    _set(params, path + ('bias',), np.asarray(state[f'{prefix}.bias'], np.float32))
  for prefix, module, blocks, bias_block in _CONCAT_LAYERS:
    weight = np.asarray(state[f'{prefix}.weight'], np.float32)
    width = weight.shape[1] // len(blocks)
    if weight.shape[1] != width * len(blocks) or width != weight.shape[0]:
      raise io.DataError(f'{source}: {prefix}.weight has shape {weight.shape}; expected '
                         f'(L, {len(blocks)} L).')
    for k, block in enumerate(blocks):
      _set(params, (module, block, 'kernel'), weight[:, k * width:(k + 1) * width].T)
    _set(params, (module, bias_block, 'bias'), np.asarray(state[f'{prefix}.bias'], np.float32))
  return params


def params_to_state_dict(params: Mapping) -> dict[str, np.ndarray]:
  """Inverse of `state_dict_to_params` (also maps gradients onto the authors' names)."""
  state = {}
  for prefix, path in _LINEAR_LAYERS:
    state[f'{prefix}.weight'] = _get(params, path + ('kernel',)).T
    state[f'{prefix}.bias'] = _get(params, path + ('bias',))
  for prefix, module, blocks, bias_block in _CONCAT_LAYERS:
    state[f'{prefix}.weight'] = np.concatenate(
        [_get(params, (module, block, 'kernel')).T for block in blocks], axis=1)
    state[f'{prefix}.bias'] = _get(params, (module, bias_block, 'bias'))
  return state


def load_state_dict(path: str) -> dict[str, np.ndarray]:
  """Reads the authors' weights from an `.npz` (one array per key) or a `.pth` file.

  A `.pth` file needs PyTorch, which is optional; the `.npz` form does not.

  Raises:
    errors.NotFoundError: for a missing file; io.DataError: for a damaged one
      or another format.
  """
  if not os.path.isfile(path):
    raise errors.NotFoundError(f'{path}: no such weight file.')
  if path.endswith('.npz'):
    try:
      with np.load(path) as arrays:
        return {k: arrays[k] for k in arrays.files}
    except io.NPZ_READ_ERRORS as err:
      raise io.DataError(f'{path}: not a readable npz file ({err}); copy it again.') from err
  if path.endswith(('.pth', '.pt')):
    try:
      import torch  # pylint: disable=import-outside-toplevel
    except ImportError as err:
      raise ImportError(f'{path}: reading .pth needs PyTorch, which is not installed; '
                        'use the .npz form of the same weights.') from err
    return {k: v.detach().cpu().numpy() for k, v in
            torch.load(path, map_location='cpu', weights_only=True).items()}
  raise io.DataError(f'{path}: unknown weight format; expected .npz or .pth.')


def read_params(path: str) -> dict:
  """Flax parameters of `models.Botan` from the authors' weight file."""
  return state_dict_to_params(load_state_dict(path), source=path)

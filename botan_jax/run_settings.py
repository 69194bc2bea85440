"""The settings that give a run's parameters their meaning, and the config inference uses.

Parameters only mean something with the settings they were trained with: a
run trained with one message-passing step, or for the node target R, predicts
nonsense when read as the preset's seven-step S model. So evaluate, predict
(and any loader of a model) take these from the run, whatever the config says:

  run fields      every `model` field but dtype and precision (the
                  architecture), node_target, loss_p, data.edge_cutoff,
                  data.time_index and the input fields (INPUT_FIELDS:
                  data.pickle_time_index, data.structure; future input options join them).
                  A value the user set explicitly that differs from the run's
                  is refused; a preset's default that differs is replaced
                  (and logged).
  default fields  data.test_pattern: the run's, unless set explicitly.
  everything else from the given config: the other data patterns,
                  data.eval_bond_cutoff, data.cache_dir, model.dtype and
                  model.precision (a bfloat16 run evaluated on a CPU), and
                  the outputs. A Python caller gives `inference_config`.

Where the settings come from (`load`): the `settings` of the checkpoint's
meta (written by train.py); for runs made before, `{run}/config.json`; for the
authors' weights ('pyg:PATH'), the paper's (`paper_settings`).
"""

import dataclasses
import os
from collections.abc import Iterable
from typing import Any

import ml_collections
from absl import logging

from botan_jax import checkpoints
from botan_jax import errors
from botan_jax import run_files
from botan_jax import system

RUNTIME_MODEL_FIELDS = ('dtype', 'precision')  # model fields the command line may change.
INPUT_FIELDS = ('data.pickle_time_index', 'data.structure', 'data.inherent',
                'data.glassbench_positions')  # How inputs are read and made.
RUN_FIELDS = ('node_target', 'loss_p', 'data.edge_cutoff', 'data.time_index',
              *INPUT_FIELDS)  # Besides the architecture (model.*).
DEFAULT_FIELDS = ('data.test_pattern',)
# Reported in evaluation.json beside the run fields: what else shaped the numbers.
REPORTED_FIELDS = ('model.dtype', 'model.precision', 'data.eval_bond_cutoff',
                   'data.test_pattern')

_MISSING = object()


def run_fields(config: ml_collections.ConfigDict) -> list[str]:
  """The dotted names of the run fields of `config` (see the module docstring)."""
  model = [f'model.{name}' for name in config.get('model', {})
           if name not in RUNTIME_MODEL_FIELDS]
  return model + list(RUN_FIELDS)


def _get(tree: Any, dotted: str) -> Any:
  for part in dotted.split('.'):
    if not hasattr(tree, 'get'):
      return _MISSING
    tree = tree.get(part, _MISSING)
  return tree


def _set(tree: dict, dotted: str, value: Any) -> None:
  *parents, name = dotted.split('.')
  for part in parents:
    tree = tree.setdefault(part, {})
  tree[name] = value


def _flatten(tree: dict, prefix: str = '') -> dict[str, Any]:
  """{'a': {'b': 1}} -> {'a.b': 1}."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f'{prefix}{key}.'))
    else:
      flat[prefix + key] = value
  return flat


def _subset(config: ml_collections.ConfigDict | dict, fields: Iterable[str]) -> dict[str, Any]:
  """The nested dict of `fields` of `config` that it holds."""
  subset = {}
  for field in fields:
    value = _get(config, field)
    if isinstance(value, ml_collections.ConfigDict):
      value = value.to_dict()  # Settings are plain JSON.
    if value is not _MISSING:
      _set(subset, field, value)
  return subset


def of_config(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The settings a run made with `config` stores with its checkpoints (JSON, nested as the
  config): its run fields and default fields."""
  return _subset(config, run_fields(config) + list(DEFAULT_FIELDS))


def reported(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """What evaluation.json records of the config it used: run fields and REPORTED_FIELDS."""
  return _subset(config, run_fields(config) + list(REPORTED_FIELDS))


def inference_config(dtype: str | None = None, precision: str | None = None,
                     eval_bond_cutoff: float | None = None) -> ml_collections.ConfigDict:
  """The config of a Python caller (the API's `load_model`), to merge with a run's settings.

  It holds what the run does not fix, with the presets' values where an
  argument is None: model.dtype ('float32'), model.precision ('highest') and
  data.eval_bond_cutoff (the paper's 1.35 sigma_AA); no graph cache
  (data.cache_dir '').
  """
  pick = lambda value, default: default if value is None else value
  return ml_collections.ConfigDict(dict(
      model=dict(dtype=pick(dtype, 'float32'), precision=pick(precision, 'highest')),
      data=dict(eval_bond_cutoff=pick(eval_bond_cutoff, system.EVAL_BOND_CUTOFF), cache_dir='')))


def paper_settings() -> dict[str, Any]:
  """The settings of the authors' weights ('pyg:PATH'): the paper's BOTAN (latent 64, two-layer
  MLPs, seven shared message-passing steps), edge-pretrained (p = 0, so they predict E, not S)
  at T = 0.44, t = 13 (Table I index 3), with the edge cut-off 2.0 sigma_AA."""
  return dict(model=dict(latent_size=64, num_layers=2, num_message_passing_steps=7,
                         share_step_weights=True, share_decoder=True),
              node_target='S', loss_p=0.0,
              data=dict(edge_cutoff=system.EDGE_CUTOFF, time_index=3))


@dataclasses.dataclass(frozen=True)
class Loaded:
  """Parameters to infer with, and what gives them their meaning.

  Attributes:
    params: the model parameters (nested dicts of numpy arrays).
    settings: the run's settings (nested dict, see `of_config`), None when the
      source stores none.
    origin: where `settings` came from, for messages.
    checkpoint: the checkpoint step read, None for the authors' weights.
    epoch: the 1-based epoch after which it was saved (0: the starting
      model), None where unknown.
  """
  params: Any
  settings: dict[str, Any] | None
  origin: str
  checkpoint: checkpoints.CheckpointRef | None
  epoch: int | None


def load(source: str) -> Loaded:
  """Parameters and settings of `source`: 'pyg:PATH' or anything
  `checkpoints.find_checkpoint` accepts (a run directory: its best checkpoint,
  else its latest)."""
  params, meta, ref = checkpoints.load(source)
  if ref is None:
    logging.info('%s: the authors\' weights, with the paper\'s settings; edge-pretrained '
                 '(loss_p 0), they predict E, not S.', source)
    return Loaded(params, paper_settings(), 'the authors\' weights (the paper\'s settings)',
                  None, None)
  epoch = meta.get('epoch')
  if 'settings' in meta:
    return Loaded(params, meta['settings'], f'the run {ref.run_dir or ref.directory} ({ref})',
                  ref, epoch)
  saved = run_files.read_config(ref.run_dir)
  if saved is not None:
    return Loaded(params, of_config(saved), run_files.config_path(ref.run_dir), ref,
                  epoch)
  return Loaded(params, None, source, ref, epoch)


def _explicit(field: str, overridden: Iterable[str]) -> str | None:
  """The override in `overridden` (dotted config paths) that sets `field`, if any."""
  for name in overridden:
    if field == name or field.startswith(name + '.'):
      return name
  return None


def merge_for_inference(settings: dict[str, Any] | None, given: ml_collections.ConfigDict,
                        overridden: Iterable[str] = (),
                        origin: str = 'the run') -> ml_collections.ConfigDict:
  """The config to infer with: `given`, with the run's `settings` where they rule.

  Args:
    settings: the run's settings (`Loaded.settings`); None keeps `given` as it
      is (with a warning).
    given: the config of the command line (or of a Python caller).
    overridden: the dotted fields the user set explicitly (main.py passes the
      `--config.*` flags given); a default field among them keeps the given
      value, a run field among them must agree with the run.
    origin: where `settings` came from, for messages.

  Returns:
    A new, unlocked config (see the module docstring for which field comes from where).

  Raises:
    ValueError: naming the field, the run's value and the given one, where an
      explicitly set run field differs from the run's.
  """
  overridden = tuple(overridden)
  merged = given.to_dict()
  if settings is None:
    logging.warning('%s stores no settings (and has no config.json beside it): using the given '
                    'config\'s model, node_target, loss_p, edge cut-off and time index, which '
                    'must be those it was trained with.', origin)
    return ml_collections.ConfigDict(merged)
  taken = []
  for field, value in _flatten(settings).items():
    given_value = _get(merged, field)
    explicit = _explicit(field, overridden)
    if given_value == value or (explicit and field in DEFAULT_FIELDS):
      continue
    if explicit:
      raise errors.ConfigError(
          f'--config.{explicit}: {field} is {given_value!r} on the command line, but {origin} '
          f'was trained with {field}={value!r}; evaluate and predict take it from the run. '
          f'Drop --config.{explicit}, or give a run trained with {given_value!r}.')
    taken.append(f'{field}={value!r}' + ('' if given_value is _MISSING
                                          else f' (config: {given_value!r})'))
    _set(merged, field, value)
  if taken:
    logging.info('Settings from %s: %s.', origin, ', '.join(taken))
  return ml_collections.ConfigDict(merged)

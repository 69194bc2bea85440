"""Orbax checkpoints of training runs, and parameter initialisation sources.

A run directory keeps two managers:
  {workdir}/checkpoints/latest/{step}/  the newest states (for resuming)
  {workdir}/checkpoints/best/{step}/    the state with the best test Pearson
Each step holds `state` (the whole TrainState) and `meta` (JSON: epoch,
metrics). Orbax writes into a temporary directory and renames it when
complete, so an interrupted save never replaces a good checkpoint.
"""

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from absl import logging

from botan_jax import pyg_import

LATEST, BEST = 'latest', 'best'


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
  """Keeps Orbax's per-save INFO lines out of the training log."""
  verbosity = logging.get_verbosity()
  logging.set_verbosity(min(verbosity, logging.WARNING))  # absl: lower is quieter.
  try:
    yield
  finally:
    logging.set_verbosity(verbosity)


def manager(workdir: str, kind: str, max_to_keep: int = 1) -> ocp.CheckpointManager:
  """The checkpoint manager of `kind` ('latest' or 'best') in a run directory."""
  with _quiet():
    return ocp.CheckpointManager(
        os.path.abspath(os.path.join(workdir, 'checkpoints', kind)),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False),
        item_names=('state', 'meta'))


def save(mngr: ocp.CheckpointManager, step: int, state: Any, meta: dict) -> None:
  """Saves `state` and its JSON `meta` at `step`, waiting until it is on disk."""
  with _quiet():
    mngr.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(jax.device_get(state)), meta=ocp.args.JsonSave(meta)),
              force=True)
    mngr.wait_until_finished()


def restore(mngr: ocp.CheckpointManager, target: Any | None = None,
            step: int | None = None) -> tuple[Any, dict]:
  """The state and meta at `step` (default: the newest).

  With `target` (a pytree of the saved structure) the state comes back in that
  structure; without, as nested dicts of numpy arrays.
  """
  step = mngr.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'{mngr.directory}: holds no checkpoint.')
  state_args = (ocp.args.StandardRestore(jax.device_get(target)) if target is not None
                else ocp.args.StandardRestore())
  with _quiet():
    restored = mngr.restore(step, args=ocp.args.Composite(
        state=state_args, meta=ocp.args.JsonRestore()))
  return restored['state'], restored['meta']


def find_run_checkpoint(path: str) -> ocp.CheckpointManager:
  """The best, else the latest, checkpoint manager of a run directory `path`.

  Raises:
    FileNotFoundError: if `path` holds neither.
  """
  for kind in (BEST, LATEST):
    if os.path.isdir(os.path.join(path, 'checkpoints', kind)):
      mngr = manager(path, kind)
      if mngr.latest_step() is not None:
        return mngr
  raise FileNotFoundError(
      f'{path}: no checkpoint found (looked for checkpoints/best and checkpoints/latest).')


def check_init_source(init_from: str) -> None:
  """Fails early, naming the path, if `init_from` points at nothing usable."""
  if not init_from:
    return
  if init_from.startswith('pyg:'):
    path = init_from[len('pyg:'):]
    if not os.path.isfile(path):
      raise FileNotFoundError(f'init_from {init_from}: no such weight file {path}.')
  elif not os.path.isdir(os.path.join(init_from, 'checkpoints')):
    raise FileNotFoundError(
        f'init_from {init_from}: not a run directory with checkpoints/ '
        '(give a training workdir or pyg:PATH).')


def load_params(init_from: str) -> dict:
  """Model parameters from 'pyg:PATH' (the authors' weights) or a run directory."""
  check_init_source(init_from)
  if init_from.startswith('pyg:'):
    return pyg_import.load_params(init_from[len('pyg:'):])
  state, _ = restore(find_run_checkpoint(init_from))
  return jax.tree.map(np.asarray, state['params'])

"""Orbax checkpoints of training runs, and parameter initialisation sources.

A run directory keeps two managers:
  {workdir}/checkpoints/latest/{step}/  the newest states (for resuming)
  {workdir}/checkpoints/best/{step}/    the state with the best test Pearson
Each step holds `state` (the whole TrainState) and `meta` (JSON: epoch,
metrics, and the run's `settings`, see botan_jax/run_settings.py). Orbax
writes into a temporary directory and renames it when complete, so an
interrupted save never replaces a good checkpoint.
"""

import contextlib
import dataclasses
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
  return _manager_at(os.path.join(workdir, 'checkpoints', kind), max_to_keep)


def _manager_at(directory: str, max_to_keep: int = 1) -> ocp.CheckpointManager:
  with _quiet():
    return ocp.CheckpointManager(
        os.path.abspath(directory),
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


def drop_steps_after(mngr: ocp.CheckpointManager, step: int) -> list[int]:
  """Deletes the checkpoints of `mngr` newer than `step` (a resumed run replays them)."""
  dropped = [s for s in mngr.all_steps() if s > step]
  with _quiet():
    for s in dropped:
      mngr.delete(s)
  return dropped


def _is_step_dir(path: str) -> bool:
  return os.path.basename(os.path.normpath(path)).isdigit() and os.path.isdir(
      os.path.join(path, 'state'))


def find_checkpoint(path: str) -> tuple[ocp.CheckpointManager, int]:
  """The manager and step a checkpoint path points at.

  `path` may be a run directory (its best checkpoint, else its latest), a
  manager directory such as `{run}/checkpoints/best` (its newest step), or one
  step directory such as `{run}/checkpoints/best/400`.

  Raises:
    FileNotFoundError: naming `path`, if it holds no checkpoint.
  """
  if _is_step_dir(path):
    return _manager_at(os.path.dirname(os.path.normpath(path))), int(os.path.basename(
        os.path.normpath(path)))
  candidates = [os.path.join(path, 'checkpoints', kind) for kind in (BEST, LATEST)] + [path]
  for directory in candidates:
    if os.path.isdir(directory) and any(_is_step_dir(os.path.join(directory, name))
                                        for name in os.listdir(directory)):
      mngr = _manager_at(directory)
      return mngr, mngr.latest_step()
  raise FileNotFoundError(
      f'{path}: no checkpoint found (expected a run directory with checkpoints/best or '
      'checkpoints/latest, a checkpoint directory, or one of its step directories).')


@dataclasses.dataclass(frozen=True)
class CheckpointRef:
  """One saved step of a manager.

  Attributes:
    kind: 'best' or 'latest' (the manager of a run), else 'checkpoint'.
    step: the training step it holds (0: the starting model).
    directory: the manager's directory.
    run_dir: the run directory holding it, None outside `{run}/checkpoints/`.
  """
  kind: str
  step: int
  directory: str
  run_dir: str | None

  def __str__(self) -> str:
    return f'{self.kind}/step {self.step}'


def reference(mngr: ocp.CheckpointManager, step: int) -> CheckpointRef:
  """Names `step` of `mngr` (see `CheckpointRef`)."""
  directory = os.path.normpath(str(mngr.directory))
  kind = os.path.basename(directory)
  parent = os.path.dirname(directory)
  in_run = kind in (BEST, LATEST) and os.path.basename(parent) == 'checkpoints'
  return CheckpointRef(kind=kind if in_run else 'checkpoint', step=int(step),
                       directory=directory, run_dir=os.path.dirname(parent) if in_run else None)


def check_init_source(init_from: str) -> None:
  """Fails early, naming the path, if `init_from` points at nothing usable."""
  if not init_from:
    return
  if init_from.startswith('pyg:'):
    path = init_from[len('pyg:'):]
    if not os.path.isfile(path):
      raise FileNotFoundError(f'init_from {init_from}: no such weight file {path}.')
    return
  try:
    find_checkpoint(init_from)
  except FileNotFoundError as error:
    raise FileNotFoundError(f'init_from {error} Or give pyg:PATH for the authors\' '
                            'weights.') from None


def load(source: str) -> tuple[dict, dict, CheckpointRef | None]:
  """Model parameters, meta and reference from 'pyg:PATH' or a checkpoint path.

  A checkpoint path is anything `find_checkpoint` accepts; the authors'
  weights ('pyg:PATH') have an empty meta and no reference.
  """
  if source.startswith('pyg:'):
    check_init_source(source)
    return pyg_import.read_params(source[len('pyg:'):]), {}, None
  mngr, step = find_checkpoint(source)
  state, meta = restore(mngr, step=step)
  return jax.tree.map(np.asarray, state['params']), meta, reference(mngr, step)

"""A training run's folder: what it records besides checkpoints, read back by the same module.

  {workdir}/config.json        the run's config (ml_collections JSON)
  {workdir}/train_files.json   names of the training files
  {workdir}/metrics.jsonl      one JSON object per step or evaluation (`MetricsLog`)
  {workdir}/tensorboard/       the same scalars for TensorBoard (with `config.tensorboard`)

and the resume policy: which config changes a run may not resume with
(`check_resumable`). Names come from `layout`; checkpoints are in `checkpoints`.
"""

import json
import os
from collections.abc import Callable
from typing import Any

import jax
import ml_collections

from botan_jax import checkpoints
from botan_jax import errors
from botan_jax import io
from botan_jax import layout
from botan_jax import tensorboard

# Fields that fix a run's data, order, objective, optimizer and parameters: a resume must keep
# them (the training files too, recorded in layout.TRAIN_FILES).
RESUME_FIELDS = ('seed', 'loss_p', 'augmentation', 'node_target', 'model', 'data.edge_cutoff',
                 'data.time_index', 'data.pickle_time_index', 'learning_rate', 'adam_eps',
                 'grad_clip_norm', 'init_from', 'data.structure', 'data.inherent',
                 'data.glassbench_positions')
# What a run's config.json means by a field it lacks (it was written before the field existed).
RESUME_DEFAULTS = {'data.structure': 'thermal', 'data.glassbench_positions': 'initial'}


def write_run_record(workdir: str, config: ml_collections.ConfigDict,
                     train_names: list[str]) -> None:
  """Writes config.json and train_files.json (first process only), atomically."""
  if jax.process_index() != 0:
    return
  with io.atomic_path(layout.run_file(workdir, layout.CONFIG_FILE)) as tmp, open(tmp, 'w') as f:
    f.write(config.to_json_best_effort(indent=2))
  io.save_json(layout.run_file(workdir, layout.TRAIN_FILES), train_names)


def read_config(run_dir: str | None) -> dict[str, Any] | None:
  """The run's config.json as a dict, or None where there is none."""
  path = layout.run_file(run_dir, layout.CONFIG_FILE) if run_dir else None
  if path is None or not os.path.isfile(path):
    return None
  with open(path) as f:
    return json.load(f)


def config_path(run_dir: str) -> str:
  return layout.run_file(run_dir, layout.CONFIG_FILE)


def read_metrics(run_dir: str) -> list[dict[str, Any]]:
  """The records of `{run_dir}/metrics.jsonl`, as `MetricsLog` wrote them.

  Raises:
    errors.NotFoundError: where the run has no metrics yet.
  """
  path = layout.run_file(run_dir, layout.METRICS_FILE)
  if not os.path.exists(path):
    raise errors.NotFoundError(f'{path}: no metrics (train a run there first).')
  return io.read_jsonl(path)


class MetricsLog:
  """Appends JSON lines to {workdir}/metrics.jsonl, dropping lines past a resumed step.

  A run that resumes at step S keeps the lines of steps up to S (all written
  before checkpoint S was saved); one that starts at step 0 keeps none. A
  last line cut short by an interruption is dropped. With `write_tensorboard`,
  the scalar fields also go to TensorBoard event files under
  {workdir}/tensorboard/ (tags train/..., test/... and speed/...), a new file
  for each run that marks the same steps as dropped. Only the first process
  of a multi-host run writes.
  """

  def __init__(self, workdir: str, resume_step: int, write_tensorboard: bool = False):
    self.path = layout.run_file(workdir, layout.METRICS_FILE)
    self.enabled = jax.process_index() == 0
    first_dropped = resume_step + 1 if resume_step > 0 else 0
    if self.enabled and os.path.exists(self.path):
      kept = [record for record in io.read_jsonl(self.path) if record['step'] < first_dropped]
      with io.atomic_path(self.path) as tmp, open(tmp, 'w') as f:
        f.writelines(json.dumps(record) + '\n' for record in kept)
    self.scalars = (tensorboard.ScalarWriter(layout.run_file(workdir, layout.TENSORBOARD_DIR),
                                             first_dropped)
                    if write_tensorboard and self.enabled else None)

  def write(self, **record: Any) -> None:
    if not self.enabled:
      return
    with open(self.path, 'a') as f:
      f.write(json.dumps(record) + '\n')
    if self.scalars is not None:
      self.scalars.write(record['step'], {
          tensorboard_tag(key): value for key, value in record.items()
          if key not in ('step', 'epoch') and isinstance(value, (int, float))})


def tensorboard_tag(key: str) -> str:
  """metrics.jsonl key -> TensorBoard tag: test_x -> test/x, speeds -> speed/, else train/."""
  if key.startswith('test_'):
    return 'test/' + key[len('test_'):]
  if key in ('graphs_per_s', 'wall_s'):
    return 'speed/' + key
  return 'train/' + key


def _field(config: ml_collections.ConfigDict, dotted: str) -> Any:
  value = config
  for part in dotted.split('.'):
    value = value.get(part) if isinstance(value, ml_collections.ConfigDict) else None
  return value.to_dict() if isinstance(value, ml_collections.ConfigDict) else value


def check_resumable(config: ml_collections.ConfigDict, workdir: str, train_names: list[str],
                    graphs_per_step: Callable[[ml_collections.ConfigDict], int]) -> None:
  """Refuses to resume a run in `workdir` with a config that changes what its steps mean.

  The graphs per step (`graphs_per_step(config)`) and the fields of
  RESUME_FIELDS must match the run's config.json, and `train_names` (the
  training files' names; the data may move) its train_files.json, where the
  run recorded them; num_epochs, intervals and test files may change.

  Raises:
    errors.ConfigError: naming what differs.
  """
  latest = layout.checkpoint_dir(workdir, checkpoints.LATEST)
  saved = read_config(workdir)
  if saved is None or not (os.path.isdir(latest) and os.listdir(latest)):
    return
  saved = ml_collections.ConfigDict(saved)
  value = lambda c, field: (RESUME_DEFAULTS.get(field) if _field(c, field) is None
                           else _field(c, field))
  thermal = value(saved, 'data.structure') == value(config, 'data.structure') == 'thermal'
  differing = [field for field in RESUME_FIELDS
               if value(saved, field) != value(config, field)
               and not (thermal and field == 'data.inherent')]  # Unused by thermal runs.
  if graphs_per_step(saved) != graphs_per_step(config):
    differing.append('graphs per step (batch_size)')
  recorded = layout.run_file(workdir, layout.TRAIN_FILES)
  if os.path.exists(recorded):
    with open(recorded) as f:
      if json.load(f) != train_names:
        differing.append('training files')
  if differing:
    raise errors.ConfigError(
        f'{workdir} holds a run with other {", ".join(differing)}; resuming it with this config '
        'would mix two runs. Use a new --workdir.')

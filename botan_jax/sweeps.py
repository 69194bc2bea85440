"""Sweeps over time points, temperatures, seeds and one ablated field: `run_sweep(config, workdir)`.

Each run trains in its own sub-workdir and is evaluated on its best
checkpoint:
  {workdir}/{preset}/seed{k}/                 (no ablation)
  {workdir}/{preset}/{field}={value}/seed{k}/  (ablation; field is the last part of its path)
A run is finished when the sweep has written its `sweep_run.json` (the
run's config and evaluation) after training and evaluating it; a finished run
is skipped, one whose config differs only in `num_epochs` is trained on, and
one that differs otherwise is refused rather than mixed into the tables. An
interrupted run resumes from its latest checkpoint (train.train_and_evaluate).
After every run the tables are rewritten atomically:
  runs.csv     one row per finished run, labelled from its own config;
  results.csv  per time point (and ablated value): the number of seeds, the
               number of failed ones (a NaN Pearson, e.g. a diverged run; left
               out of the statistics and named in the log), and the median,
               best and worst test Pearson of the node target (S unless
               `train.node_target` says otherwise) and of E;
  results.md   the same as a Markdown table.
The sweep configs are botan_jax/presets/sweep.py (`--config=sweep:ARG`).

On a cluster each run is a task, addressed by its index in `plan(config)`
(`task_list`): `run_sweep(config, workdir, task=K)` runs task K alone (a job
array's tasks side by side, `--task=K` or `--task=slurm`), and
`collect_tasks` writes the tables once they are done and lists the tasks that
are not, each with the command that reruns it.
"""

import collections
import csv
import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import Any

import ml_collections
import numpy as np
from absl import logging

from botan_jax import errors
from botan_jax import inference
from botan_jax import io
from botan_jax import layout
from botan_jax import progress
from botan_jax import train
from botan_jax.presets import botan

RUN_FIELDS = ('temperature', 'time', 'time_index', 'preset', 'ablation', 'value', 'seed',
              'loss_p', 'node_target', 'pearson_node', 'pearson_edge', 'workdir')
SUMMARY_FIELDS = ('temperature', 'time', 'time_index', 'preset', 'ablation', 'value', 'loss_p',
                  'node_target', 'seeds', 'failed', 'pearson_node_median', 'pearson_node_best',
                  'pearson_node_worst', 'pearson_edge_median', 'pearson_edge_best',
                  'pearson_edge_worst')


@dataclasses.dataclass(frozen=True)
class Run:
  """One training run of a sweep.

  Attributes:
    preset: the botan preset (temperature and time point).
    seed: 0-based seed.
    value: the ablated field's value, or None without ablation.
  """
  preset: str
  seed: int
  value: float | int | str | None = None

  def directory(self, workdir: str, field: str) -> str:
    parts = [workdir, self.preset]
    if self.value is not None:
      parts.append(f'{field.split(".")[-1]}={value_text(self.value)}')
    return os.path.join(*parts, f'seed{self.seed}')


def value_text(value: float | int | str) -> str:
  """An ablated value as folder names and tables spell it: 0.4, 7, both."""
  return value if isinstance(value, str) else f'{value:g}'


def plan(config: ml_collections.ConfigDict) -> list[Run]:
  """The runs of a sweep: presets x ablated values x seeds, in that nesting order."""
  if config.seeds < 1:
    raise errors.ConfigError(f'config.seeds must be >= 1, got {config.seeds}.')
  if bool(config.ablation_field) != bool(config.ablation_values):
    raise errors.ConfigError('Set config.ablation_field and config.ablation_values together, '
                             'or neither.')
  values = tuple(config.ablation_values) or (None,)
  return [Run(preset, seed, value) for preset in config.presets for value in values
          for seed in range(config.seeds)]


def set_field(config: ml_collections.ConfigDict, path: str, value: Any) -> None:
  """Sets the existing field at dotted `path` of `config` to `value`, as ml_collections does.

  ml_collections refuses a field that `config` lacks and a value that its
  field's type does not hold exactly (2.5 for an int, 1 for a bool, 3 for a
  str), where converting it would change what the run does; an int becomes a
  float where the field is one.

  Raises:
    errors.ConfigError: naming the field, the value and ml_collections' reason.
  """
  was_locked = config.is_locked
  config.lock()  # A missing field raises rather than being added.
  try:
    config.update_from_flattened_dict({path: value})
  except (AttributeError, KeyError, TypeError) as error:
    reason = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    raise errors.ConfigError(f'config.ablation_field {path!r} = {value!r}: {reason}') from None
  finally:
    if not was_locked:
      config.unlock()


def run_config(config: ml_collections.ConfigDict, run: Run) -> ml_collections.ConfigDict:
  """The training config of `run`: `config.train` with the preset's time point, seed and init."""
  if run.preset == 'pretrain':
    raise errors.ConfigError('Sweeps run time points; "pretrain" is not one (train it with '
                             '--mode=train).')
  preset = botan.get_config(run.preset)
  result = ml_collections.ConfigDict(config.train.to_dict())
  result.preset, result.temperature, result.time = preset.preset, preset.temperature, preset.time
  result.data.time_index = preset.data.time_index
  fill = dict(temperature=preset.temperature, time_index=preset.data.time_index)
  result.data.train_pattern = config.train.data.train_pattern.format(**fill)
  result.data.test_pattern = config.train.data.test_pattern.format(**fill)
  result.seed = run.seed
  if config.init_from_authors:
    result.init_from = 'pyg:' + os.path.join(config.init_from_authors, f'model{run.seed + 1}.npz')
  if run.value is not None:
    set_field(result, config.ablation_field, run.value)
  return result


MARKER = layout.SWEEP_RUN_MARKER
# Fields that do not change what a finished run measured.
BOOKKEEPING_FIELDS = ('eval_every_epochs', 'checkpoint_every_epochs', 'log_every_steps',
                      'log_every_s', 'tensorboard', 'data.cache_dir')


def _comparable(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The config as plain JSON values, without BOOKKEEPING_FIELDS."""
  plain = json.loads(config.to_json_best_effort())
  for dotted in BOOKKEEPING_FIELDS:
    *parents, name = dotted.split('.')
    node = plain
    for parent in parents:
      node = node.get(parent, {})
    node.pop(name, None)
  return plain


def read_marker(run_dir: str) -> dict[str, Any] | None:
  """The `sweep_run.json` of a finished run ({'config', 'evaluation'}), or None."""
  path = os.path.join(run_dir, MARKER)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def is_finished(run_dir: str, run_cfg: ml_collections.ConfigDict) -> bool:
  """Whether the sweep finished `run_dir` with `run_cfg`.

  Raises:
    errors.ConfigError: naming the run, if it was finished with a config that differs
      in more than `num_epochs` (and bookkeeping fields).
  """
  marker = read_marker(run_dir)
  if marker is None:
    return False
  done, wanted = marker['config'], _comparable(run_cfg)
  if done == wanted:
    return True
  differing = sorted(key for key in set(done) | set(wanted) if done.get(key) != wanted.get(key))
  if differing == ['num_epochs']:
    return False  # Trained on from its latest checkpoint.
  raise errors.ConfigError(f'{run_dir} was finished with another config (fields {differing} '
                           'differ); use a new sweep --workdir.')


def _write_sweep_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  os.makedirs(workdir, exist_ok=True)
  with io.atomic_path(os.path.join(workdir, layout.SWEEP_CONFIG_FILE)) as tmp, open(tmp, 'w') as f:
    f.write(config.to_json_best_effort(indent=2))


def _train_and_mark(run_cfg: ml_collections.ConfigDict, run_dir: str) -> None:
  """Trains and evaluates one run, then writes its sweep_run.json (the run is finished)."""
  train.train_and_evaluate(run_cfg, run_dir)
  evaluation = inference.evaluate(run_cfg, run_dir)
  io.save_json(os.path.join(run_dir, MARKER),
               dict(config=_comparable(run_cfg), evaluation=evaluation))


def run_sweep(config: ml_collections.ConfigDict, workdir: str,
              task: int | None = None) -> list[dict[str, Any]]:
  """Trains and evaluates every unfinished run of the sweep `config`; writes the tables.

  Every run's config is checked (files, init weights, fields) before any
  training starts. With `task` (an index into `plan(config)`), only that run
  is trained (if unfinished) and no table is written: the tasks of a job array
  run side by side, and `collect_tasks` writes the tables once they are done.

  Returns:
    The rows of runs.csv (with `task`: the finished runs found after it).
  """
  runs = plan(config)
  chosen = range(len(runs)) if task is None else [task]
  configs = {k: run_config(config, runs[k]) for k in chosen}
  with errors.as_user_errors(ValueError, FileNotFoundError):
    for run_cfg in configs.values():
      train.validate_config(run_cfg)
  _write_sweep_config(config, workdir)
  field = config.ablation_field
  todo = [(k, configs[k]) for k in chosen
          if not is_finished(runs[k].directory(workdir, field), configs[k])]
  logging.info('Sweep %s: %d runs%s, %d finished, %d to do.', workdir, len(runs),
               '' if task is None else f' (task {task}: 1 run)', len(chosen) - len(todo),
               len(todo))
  start = time.monotonic()
  for n, (k, run_cfg) in enumerate(todo):
    run_dir = runs[k].directory(workdir, field)
    logging.info('Sweep run %d/%d (task %d): %s.', n + 1, len(todo), k, run_dir)
    _train_and_mark(run_cfg, run_dir)
    if task is None:
      write_tables(config, workdir)
    logging.info('Sweep %s: %s.', workdir,
                 progress.counted(n + 1, len(todo), 'runs', time.monotonic() - start))
  return write_tables(config, workdir) if task is None else collect(config, workdir)


def task_list(config: ml_collections.ConfigDict, workdir: str) -> list[str]:
  """One line per task of the sweep: its index, its run directory and whether it is finished."""
  lines = []
  for k, run in enumerate(plan(config)):
    run_dir = run.directory(workdir, config.ablation_field)
    state = 'finished' if read_marker(run_dir) is not None else 'to do'
    lines.append(f'{k}\t{run_dir}\t{state}')
  return lines


def collect_tasks(config: ml_collections.ConfigDict, workdir: str,
                  rerun_command: Callable[[int], str]) -> list[str]:
  """Writes the tables from the finished runs; returns one line per unfinished task.

  Each line names the task, its run directory, whether it never started or
  stopped before finishing (a run directory without sweep_run.json: an
  interrupted or failed task), and `rerun_command(task)`, the command that
  runs (or resumes) it. Runs whose test Pearson is NaN are counted as failed
  in results.csv, as in a one-process sweep.
  """
  _write_sweep_config(config, workdir)
  write_tables(config, workdir)
  missing = []
  for k, run in enumerate(plan(config)):
    run_dir = run.directory(workdir, config.ablation_field)
    if read_marker(run_dir) is None:
      state = 'stopped before finishing' if os.path.isdir(run_dir) else 'not started'
      missing.append(f'task {k} ({run_dir}): {state}; rerun: {rerun_command(k)}')
  return missing


def collect(config: ml_collections.ConfigDict, workdir: str) -> list[dict[str, Any]]:
  """One row (RUN_FIELDS) per finished run of the sweep, in plan order."""
  rows = []
  for run in plan(config):
    run_dir = run.directory(workdir, config.ablation_field)
    marker = read_marker(run_dir)
    if marker is None:
      continue
    done, evaluation = marker['config'], marker['evaluation']
    rows.append(dict(
        temperature=done['temperature'], time=done['time'], time_index=done['data']['time_index'],
        preset=run.preset, ablation=config.ablation_field,
        value='' if run.value is None else run.value, seed=run.seed, loss_p=done['loss_p'],
        node_target=done['node_target'], pearson_node=evaluation['pearson_node'],
        pearson_edge=evaluation['pearson_edge'], workdir=run_dir))
  return rows


def _scored(row: dict[str, Any]) -> bool:
  """Whether a run's test Pearson values are numbers: S always, E where the run trained it
  (p < 1; a p = 1 run on files without E, GlassBench's, has no E to score)."""
  return bool(np.isfinite(row['pearson_node']) and
              (np.isfinite(row['pearson_edge']) or row['loss_p'] >= 1.0))


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
  """Median, best and worst Pearson over seeds per (time point, ablated value): SUMMARY_FIELDS."""
  groups = collections.defaultdict(list)
  for row in rows:
    groups[(row['preset'], row['value'])].append(row)
  summary = []
  for group in groups.values():
    first = group[0]
    entry = {key: first[key] for key in SUMMARY_FIELDS if key in first}
    finite = [_scored(row) for row in group]
    for row, ok in zip(group, finite):
      if not ok:
        logging.warning('%s: a NaN test Pearson (a diverged run?); left out of the statistics.',
                        row['workdir'])
    entry['seeds'], entry['failed'] = len(group), finite.count(False)
    used = [row for row, ok in zip(group, finite) if ok]
    for kind in ('node', 'edge'):
      values = np.array([row[f'pearson_{kind}'] for row in used], np.float64)
      values = values[np.isfinite(values)]  # E of p = 1 runs on files without E (GlassBench).
      for stat, reduce in (('median', np.median), ('best', np.max), ('worst', np.min)):
        entry[f'pearson_{kind}_{stat}'] = float(reduce(values)) if values.size else float('nan')
    summary.append(entry)
  # Stable: the ablated values keep the sweep's order (config.ablation_values) per time point.
  return sorted(summary, key=lambda e: (e['temperature'], e['time']))


def _write_csv(path: str, fields: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
  with io.atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)


def markdown_table(summary: list[dict[str, Any]]) -> str:
  """The summary as a Markdown table (Pearson to three decimals)."""
  node = summary[0]['node_target'] if summary else 'S'
  ablation = summary[0]['ablation'] if summary else ''
  header = ['T', 't', *([ablation] if ablation else []), 'p', 'seeds', 'failed',
            f'{node} median', f'{node} best', f'{node} worst', 'E median', 'E best', 'E worst']
  lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
  for e in summary:
    cells = [f'{e["temperature"]:.2f}', f'{e["time"]:g}',
             *([value_text(e['value'])] if ablation else []), f'{e["loss_p"]:g}', str(e['seeds']),
             str(e['failed']),
             *(_pearson_text(e[f'pearson_{kind}_{stat}']) for kind in ('node', 'edge')
               for stat in ('median', 'best', 'worst'))]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def _pearson_text(value: float) -> str:
  """A Pearson value to three decimals; n/a where there is none (E without E targets)."""
  return f'{value:.3f}' if np.isfinite(value) else 'n/a'


def write_tables(config: ml_collections.ConfigDict, workdir: str) -> list[dict[str, Any]]:
  """Writes runs.csv, results.csv and results.md from the finished runs; returns the run rows."""
  rows = collect(config, workdir)
  summary = summarize(rows)
  _write_csv(os.path.join(workdir, layout.SWEEP_RUNS_FILE), RUN_FIELDS, rows)
  _write_csv(os.path.join(workdir, layout.SWEEP_RESULTS_FILE), SUMMARY_FIELDS, summary)
  with io.atomic_path(os.path.join(workdir, layout.SWEEP_TABLE_FILE)) as tmp, open(tmp, 'w') as f:
    f.write(f'Test Pearson over seeds ({len(rows)} finished runs; best = highest, '
            'worst = lowest).\n\n')
    f.write(markdown_table(summary))
  return rows


def read_results(workdir: str) -> list[dict[str, Any]]:
  """The rows of `{workdir}/results.csv` with numbers parsed (value is '' without ablation,
  and stays text where the ablated field is one, e.g. data.structure)."""
  path = os.path.join(workdir, layout.SWEEP_RESULTS_FILE)
  if not os.path.exists(path):
    raise errors.NotFoundError(f'{path}: no sweep results (run --mode=sweep first).')
  with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
  text_fields = ('preset', 'ablation', 'node_target')
  return [{key: (value if key in text_fields or value == '' else _number_or_text(value))
           for key, value in row.items()} for row in rows]


def _number_or_text(text: str) -> float | str:
  try:
    return float(text)
  except ValueError:
    return text

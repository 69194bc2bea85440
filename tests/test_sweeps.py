"""Sweeps: planning, per-run configs, tables, and an interrupted sweep that resumes."""

import csv
import functools
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from botan_jax import errors
from botan_jax import sweeps
from botan_jax import train
from botan_jax.md import generate
from botan_jax.presets import generate as generate_configs
from botan_jax.presets import sweep as sweep_configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = ('T064_t0.52', 'T064_t1.65')  # Time indices 4 and 5.


@pytest.fixture(scope='module')
def generated_data(tmp_path_factory):
  """A small dataset from the MD generator: N=256 at T=0.64, 2 + 2 configurations, 2 runs,
  time indices 4 and 5, under {root}/T0.64/{train,test}."""
  root = tmp_path_factory.mktemp('generated')
  config = generate_configs.tiny_config()
  config.num_train, config.num_test, config.num_replicas = 2, 2, 2
  config.time_indices = (4, 5)
  config.nvt_batch = config.nve_batch = 4
  generate.generate(config, str(root))
  return root


def small_sweep(tmp_path, data_root, seeds=2):
  """Two time points x `seeds` seeds of a small model, two epochs each."""
  config = sweep_configs.get_config(','.join(PRESETS))
  config.seeds = seeds
  pattern = str(data_root / 'T{temperature:.2f}' / '{split}' /
                'isoconfig_N*T{temperature:.2f}_*_tc{time_index:02d}.npz')
  config.train.data.train_pattern = pattern.replace('{split}', 'train')
  config.train.data.test_pattern = pattern.replace('{split}', 'test')
  config.train.data.cache_dir = str(tmp_path / 'cache')
  config.train.model.latent_size = 16
  config.train.model.num_message_passing_steps = 2
  config.train.num_epochs = 2
  config.train.eval_every_epochs = 1
  config.train.checkpoint_every_epochs = 1
  config.train.log_every_steps = 1
  config.train.learning_rate = 1e-3
  return config


def test_plan_and_run_configs():
  config = sweep_configs.get_config('T044')
  assert len(config.presets) == 10 and config.seeds == 5
  runs = sweeps.plan(config)
  assert len(runs) == 50 and runs[0] == sweeps.Run('T044_t0.13', 0)
  config.init_from_authors = '/weights'
  run_cfg = sweeps.run_config(config, sweeps.Run('T044_t130', 2))
  assert run_cfg.init_from == 'pyg:/weights/model3.npz' and run_cfg.seed == 2
  assert (run_cfg.temperature, run_cfg.time, run_cfg.data.time_index) == (0.44, 130.0, 4)
  assert run_cfg.data.train_pattern == 'data/T0.44/train/isoconfig_N*T0.44_*_tc04.npz'
  assert sweeps.Run('T044_t130', 2).directory('w', '') == os.path.join('w', 'T044_t130', 'seed2')


@pytest.mark.parametrize('arg,field,values,path', [
    ('steps', 'model.num_message_passing_steps', (1, 2, 3, 4, 5, 6, 7, 8),
     os.path.join('w', 'T044_t4120', 'num_message_passing_steps=3', 'seed0')),
    ('loss_p', 'loss_p', (0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
     os.path.join('w', 'T044_t4120', 'loss_p=0.4', 'seed0')),
    ('structure', 'data.structure', ('thermal', 'inherent', 'both'),
     os.path.join('w', 'T044_t4120', 'structure=both', 'seed0')),
])
def test_ablation_configs(arg, field, values, path):
  config = sweep_configs.get_config(arg)
  assert config.ablation_field == field and tuple(config.ablation_values) == values
  runs = sweeps.plan(config)
  assert len(runs) == 5 * len(values)
  run = sweeps.Run('T044_t4120', 0, values[2])
  assert run.directory('w', field) == path
  run_cfg = sweeps.run_config(config, run)
  assert functools.reduce(getattr, field.split('.'), run_cfg) == values[2]


def test_text_ablation_values_keep_their_order_through_the_tables(tmp_path):
  rows = [dict(temperature=0.44, time=4120.0, time_index=7, preset='T044_t4120',
               ablation='data.structure', value=value, seed=0, loss_p=0.4, node_target='S',
               pearson_node=0.1 * k, pearson_edge=0.2, workdir='')
          for k, value in enumerate(('thermal', 'inherent', 'both'))]
  summary = sweeps.summarize(rows)
  assert [entry['value'] for entry in summary] == ['thermal', 'inherent', 'both']
  table = sweeps.markdown_table(summary)
  assert '| 0.44 | 4120 | both | 0.4 | 1 | 0 | 0.200 |' in table
  sweeps._write_csv(str(tmp_path / 'results.csv'), sweeps.SUMMARY_FIELDS, summary)
  assert [r['value'] for r in sweeps.read_results(str(tmp_path))] == ['thermal', 'inherent',
                                                                     'both']


def test_bad_sweeps_fail_before_any_work(tmp_path, generated_data):
  with pytest.raises(ValueError, match='Unknown sweep'):
    sweep_configs.get_config('T044_t999')
  config = small_sweep(tmp_path, generated_data)
  config.init_from_authors = str(tmp_path / 'nowhere')
  with pytest.raises(FileNotFoundError, match='no such weight file'):
    sweeps.run_sweep(config, str(tmp_path / 'sweep'))
  assert not (tmp_path / 'sweep').exists()


def test_summary_gives_median_best_and_worst():
  rows = [dict(temperature=0.44, time=130.0, time_index=4, preset='T044_t130', ablation='',
               value='', seed=k, loss_p=0.4, node_target='S', pearson_node=s, pearson_edge=e,
               workdir='') for k, (s, e) in enumerate([(0.5, 0.7), (0.3, 0.9), (0.4, 0.8),
                                                       (float('nan'), 0.1)])]
  (entry,) = sweeps.summarize(rows)
  assert (entry['seeds'], entry['failed']) == (4, 1)  # The diverged seed is counted, not used.
  assert (entry['pearson_node_median'], entry['pearson_node_best'],
          entry['pearson_node_worst']) == (0.4, 0.5, 0.3)
  assert (entry['pearson_edge_median'], entry['pearson_edge_best'],
          entry['pearson_edge_worst']) == (0.8, 0.9, 0.7)
  assert '| 0.44 | 130 | 0.4 | 4 | 1 | 0.400 | 0.500 | 0.300 | 0.800 | 0.900 | 0.700 |' in (
      sweeps.markdown_table([entry]))
  # p = 1 on files without E (GlassBench): E is undefined, the run is not a failure.
  for row in rows:
    row.update(loss_p=1.0, pearson_edge=float('nan'))
  (entry,) = sweeps.summarize(rows)
  assert (entry['seeds'], entry['failed'], entry['pearson_node_median']) == (4, 1, 0.4)
  assert np.isnan(entry['pearson_edge_median'])
  assert '| 0.400 | 0.500 | 0.300 | n/a | n/a | n/a |' in sweeps.markdown_table([entry])


def test_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path, monkeypatch,
                                                                 generated_data):
  config = small_sweep(tmp_path, generated_data)
  workdir = str(tmp_path / 'sweep')
  real_train = train.train_and_evaluate
  calls = []

  def interrupted(run_cfg, run_dir):
    """Trains the first two runs; the third stops after one of its two epochs."""
    calls.append(run_dir)
    if len(calls) == 3:
      half = run_cfg.copy_and_resolve_references()
      half.num_epochs = 1
      real_train(half, run_dir)
      raise KeyboardInterrupt
    return real_train(run_cfg, run_dir)

  monkeypatch.setattr(sweeps.train, 'train_and_evaluate', interrupted)
  with pytest.raises(KeyboardInterrupt):
    sweeps.run_sweep(config, workdir)
  runs = [run.directory(workdir, '') for run in sweeps.plan(config)]
  assert calls == runs[:3]
  run_cfgs = [sweeps.run_config(config, run) for run in sweeps.plan(config)]
  assert [sweeps.is_finished(d, c) for d, c in zip(runs, run_cfgs)] == [True, True, False, False]
  (partial,) = sweeps.read_results(workdir)
  assert (partial['preset'], partial['seeds']) == (PRESETS[0], 2)
  finished_mtimes = [os.stat(os.path.join(d, sweeps.MARKER)).st_mtime_ns for d in runs[:2]]

  calls.clear()
  monkeypatch.setattr(sweeps.train, 'train_and_evaluate',
                      lambda run_cfg, run_dir: calls.append(run_dir) or real_train(run_cfg, run_dir))
  rows = sweeps.run_sweep(config, workdir)
  assert calls == runs[2:]
  assert finished_mtimes == [os.stat(os.path.join(d, sweeps.MARKER)).st_mtime_ns
                             for d in runs[:2]]
  # The interrupted run went on from its checkpoint after epoch 1: steps 1..4 once each.
  records = [json.loads(line) for line in open(os.path.join(runs[2], 'metrics.jsonl'))]
  assert [r['step'] for r in records if 'loss' in r] == [1, 2, 3, 4]
  evaluated = [r['epoch'] for r in records if 'test_pearson_node' in r]
  assert evaluated == sorted(set(evaluated)) and evaluated[-2:] == [1, 2]

  assert len(rows) == 4
  with open(os.path.join(workdir, 'runs.csv')) as f:
    assert [row['seed'] for row in csv.DictReader(f)] == ['0', '1', '0', '1']
  results = sweeps.read_results(workdir)
  assert [(r['preset'], r['time'], r['seeds']) for r in results] == [
      (PRESETS[0], 0.52, 2), (PRESETS[1], 1.65, 2)]
  for r in results:
    for kind in ('node', 'edge'):
      assert r[f'pearson_{kind}_worst'] <= r[f'pearson_{kind}_median'] <= r[f'pearson_{kind}_best']
  table = open(os.path.join(workdir, 'results.md')).read()
  assert '| T | t | p | seeds | failed | S median |' in table and table.count('| 0.64 |') == 2
  # A third call finds everything finished.
  calls.clear()
  sweeps.run_sweep(config, workdir)
  assert calls == []
  # Another objective is refused rather than mixed in; more epochs train the runs on.
  changed = config.copy_and_resolve_references()
  changed.train.loss_p = 0.6
  with pytest.raises(ValueError, match='was finished with another config .*loss_p'):
    sweeps.run_sweep(changed, workdir)
  longer = config.copy_and_resolve_references()
  longer.train.num_epochs = config.train.num_epochs + 1
  sweeps.run_sweep(longer, workdir)
  assert calls == runs
  assert all(sweeps.read_marker(d)['config']['num_epochs'] == longer.train.num_epochs
             for d in runs)


@pytest.mark.parametrize('field,value,message', [
    ('model.num_message_passing_steps', 2.5,
     "2.5 is of original type <class 'float'> and cannot be casted to type <class 'int'>"),
    ('tensorboard', 1, "cannot be casted to type <class 'bool'>"),
    ('model.num_message_passing_step', 3, 'Key "num_message_passing_step" does not exist'),
])
def test_ablated_values_must_fit_their_field(field, value, message):
  config = sweep_configs.get_config('steps')
  config.ablation_field, config.ablation_values = field, (value,)
  with pytest.raises(errors.ConfigError, match=re.escape(f'config.ablation_field {field!r} = '
                                                         f'{value!r}: ') + '.*' + re.escape(message)):
    sweeps.run_config(config, sweeps.plan(config)[0])


def test_an_int_ablated_value_of_a_float_field_becomes_a_float():
  config = sweep_configs.get_config('loss_p')
  config.ablation_values = (1,)
  run_cfg = sweeps.run_config(config, sweeps.plan(config)[0])
  assert run_cfg.loss_p == 1.0 and isinstance(run_cfg.loss_p, float)


SWEEP_CONFIG_FILE = '''
from botan_jax.presets import sweep


def get_config():
  config = sweep.get_config({presets!r})
  config.seeds = 1
  config.train.data.train_pattern = {train!r}
  config.train.data.test_pattern = {test!r}
  config.train.data.cache_dir = {cache!r}
  config.train.model.latent_size = 16
  config.train.model.num_message_passing_steps = 2
  config.train.num_epochs = 2
  config.train.eval_every_epochs = 1
  config.train.checkpoint_every_epochs = 1
  config.train.learning_rate = 1e-3
  return config
'''


def _sweep_cli(config_file, workdir, *flags, env=None):
  """Runs `python main.py --mode=sweep` in a process of its own; returns the finished process."""
  command = [sys.executable, os.path.join(ROOT, 'main.py'), '--mode=sweep',
             f'--config={config_file}', f'--workdir={workdir}', *flags]
  return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False,
                        env={**os.environ, **(env or {})}, cwd=str(workdir.parent))


def test_a_sweep_as_array_tasks_and_collect_equals_the_one_process_sweep(tmp_path,
                                                                         generated_data):
  config = small_sweep(tmp_path, generated_data, seeds=1)
  config_file = tmp_path / 'my_sweep.py'
  config_file.write_text(SWEEP_CONFIG_FILE.format(
      presets=','.join(PRESETS), train=config.train.data.train_pattern,
      test=config.train.data.test_pattern, cache=config.train.data.cache_dir))
  one_process = tmp_path / 'one'
  sweeps.run_sweep(config, str(one_process))

  array = tmp_path / 'array'
  listed = _sweep_cli(config_file, array, '--list_tasks')
  assert listed.returncode == 0, listed.stderr[-2000:]
  assert listed.stdout.strip().splitlines()[-1] == '2 tasks: 0..1'
  # Task 0 as the first task of an array submitted with --array=5-6: index (5 - 5) / 1 = 0.
  slurm = dict(SLURM_ARRAY_TASK_ID='5', SLURM_ARRAY_TASK_MIN='5', SLURM_ARRAY_TASK_STEP='1',
               SLURM_ARRAY_TASK_COUNT='2')
  first = _sweep_cli(config_file, array, '--task=slurm', env=slurm)
  assert first.returncode == 0, first.stderr[-2000:]
  partial = _sweep_cli(config_file, array, '--collect')
  assert partial.returncode == 1  # One task unfinished: a partial failure, named with its command.
  (line,) = [l for l in partial.stderr.splitlines() if 'rerun:' in l]
  assert 'task 1 (' in line and 'not started' in line and line.endswith('--task=1')
  second = _sweep_cli(config_file, array, '--task=1')
  assert second.returncode == 0, second.stderr[-2000:]
  collected = _sweep_cli(config_file, array, '--collect')
  assert collected.returncode == 0, collected.stderr[-2000:]

  expected, got = sweeps.read_results(str(one_process)), sweeps.read_results(str(array))
  assert len(got) == len(expected) == 2
  for row, want in zip(got, expected):
    assert row.keys() == want.keys()
    for key, value in want.items():
      assert row[key] == pytest.approx(value, abs=1e-6) if isinstance(value, float) else (
          row[key] == value), key
  assert (array / 'results.md').read_text().count('| 0.64 |') == 2

  beyond = _sweep_cli(config_file, array, '--task=2')
  assert beyond.returncode == 2
  assert 'task 2 does not exist; this sweep has 2 tasks, 0..1' in beyond.stderr

"""Progress lines: durations, ETAs, the training loop's periodic line and a sweep's overall ETA."""

import math
import re

import pytest

from botan_jax import progress
from botan_jax import sweeps
from botan_jax import train
from botan_jax.presets import sweep as sweep_configs
from tests import synthetic
from tests import test_train


def capture_info(monkeypatch) -> list[str]:
  """The absl INFO lines logged from now on (by any module), formatted."""
  lines = []
  monkeypatch.setattr(train.logging, 'info', lambda message, *args, **unused: lines.append(
      str(message) % args if args else str(message)))
  return lines


@pytest.mark.parametrize('seconds,text', [
    (math.nan, '?'), (math.inf, '?'), (-1.0, '?'), (0.4, '0s'), (45.0, '45s'), (725.0, '12m05s'),
    (3 * 3600 + 300, '3h05m'), (12 * 86400 + 4 * 3600 + 59, '12d04h'),
    (4800 * 3600, '200d00h')])
def test_format_duration(seconds, text):
  assert progress.format_duration(seconds) == text


def test_eta_and_counted_lines():
  assert progress.eta_seconds(remaining=30, done=10, elapsed_s=20.0) == 60.0
  assert math.isnan(progress.eta_seconds(remaining=30, done=0, elapsed_s=20.0))
  assert progress.counted(3, 10, 'runs', 600.0) == '3/10 runs | elapsed 10m00s | ETA 23m20s'
  assert [progress.format_rate(x) for x in (0.6931, 176.47, 2345.2, math.nan)] == [
      '0.693', '176', '2345', '?']


def test_interval_is_due_once_per_interval():
  now = [0.0]
  interval = progress.Interval(60.0, clock=lambda: now[0])
  due = []
  for now[0] in (10.0, 59.0, 60.0, 61.0, 119.0, 125.0):
    due.append(interval.due())
  assert due == [False, False, True, False, False, True]
  interval.restart()
  now[0] = 150.0
  assert not interval.due()
  assert all(progress.Interval(0.0, clock=lambda: 0.0).due() for _ in range(3))


def test_training_logs_a_progress_line_between_evaluations(tmp_path, monkeypatch):
  lines = capture_info(monkeypatch)
  config = test_train.small_config(tmp_path, num_epochs=2, eval_every_epochs=2, log_every_s=0.0)
  train.train_and_evaluate(config, str(tmp_path / 'run'))
  steps = [line for line in lines if line.startswith('step ')]
  # 4 steps per epoch; step 8 ends with the evaluation's own line.
  assert [line.split()[1] for line in steps] == [f'{k}/8' for k in range(1, 8)]
  assert re.fullmatch(r'step 1/8 \(epoch 1/2\) \| loss [\d.]+ \(mean of 1 steps\) \| \? graphs/s '
                      r'\| ETA \?', steps[0]), steps[0]
  assert re.fullmatch(r'step 7/8 \(epoch 2/2\) \| loss [\d.]+ \(mean of 1 steps\) \| [\d.]+ '
                      r'graphs/s \| ETA \w+', steps[-1]), steps[-1]
  assert sum(line.startswith('epoch 2/2 step 8: ') for line in lines) == 1


def test_a_sweep_logs_runs_done_and_its_overall_eta(tmp_path, monkeypatch):
  synthetic.write_dataset(tmp_path / 'data')
  config = sweep_configs.get_config('T044_t130,T044_t4120')
  config.seeds = 2
  pattern = str(tmp_path / 'data' / 'T{temperature:.2f}' / '{split}' / '*_tc{time_index:02d}.npz')
  config.train.data.train_pattern = pattern.replace('{split}', 'train')
  config.train.data.test_pattern = pattern.replace('{split}', 'test')
  monkeypatch.setattr(sweeps.train, 'train_and_evaluate', lambda run_cfg, run_dir: None)
  monkeypatch.setattr(sweeps.inference, 'evaluate',
                      lambda run_cfg, run_dir: dict(pearson_node=0.5, pearson_edge=0.6))
  lines = capture_info(monkeypatch)
  sweeps.run_sweep(config, str(tmp_path / 'sweep'))
  overall = [line for line in lines if ' runs | elapsed ' in line]
  assert [line.split(': ', 1)[1].split(' |')[0] for line in overall] == [
      f'{k}/4 runs' for k in range(1, 5)]
  assert overall[-1].endswith('| ETA 0s.')

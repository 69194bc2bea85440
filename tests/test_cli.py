"""The command line as a user meets it: one line per user error (exit 2), Ctrl-C (exit 130)."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from botan_jax import cli
from botan_jax import errors
from botan_jax import io
from tests import conftest
from tests import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOTAN = os.path.join(ROOT, 'configs', 'botan.py')
ABSL_LOG_LINE = re.compile(r'[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ ')


def main_command(*args: str) -> list[str]:
  return [sys.executable, os.path.join(ROOT, 'main.py'), *args]


def run_main(*args: str, cwd) -> subprocess.CompletedProcess:
  return subprocess.run(main_command(*args), cwd=cwd, capture_output=True, text=True,
                        timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))


def own_lines(stderr: str) -> list[str]:
  """The lines of stderr that are not absl log lines."""
  return [line for line in stderr.splitlines() if line and not ABSL_LOG_LINE.match(line)]


def assert_user_error(result: subprocess.CompletedProcess, pattern: str) -> None:
  """Exit status 2 and one line on stderr, `main.py: error: ...`, matching `pattern`.

  Progress lines logged at INFO before the mistake was found (e.g. which settings a
  model came with) may precede it; nothing else may.
  """
  assert result.returncode == 2, result.stderr[-3000:]
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  lines = [line for line in result.stderr.splitlines() if not re.match(r'I\d{4} ', line)]
  assert len(lines) == 1, result.stderr[-3000:]
  assert lines[0].startswith('main.py: error: '), lines[0]
  assert re.search(pattern, lines[0]), lines[0]


def raising(error: Exception):
  def main(argv):
    raise error
  return main


@pytest.mark.parametrize('error,status', [
    (errors.ConfigError('config.x must be > 0.'), 2), (io.DataError('a.npz: damaged.'), 2),
    (errors.NotFoundError('init_from b: no such file.'), 2),
    (errors.PartialFailure('1 of 3 inputs failed: a.npz.'), 1)])
def test_user_errors_and_partial_failures_are_reported_as_one_line(monkeypatch, capsys, error,
                                                                   status):
  monkeypatch.setattr(cli, 'main', raising(error))
  assert cli._main_reporting(['main.py']) == status  # pylint: disable=protected-access
  assert capsys.readouterr().err.endswith(f': error: {error}\n')


@pytest.mark.parametrize('error', [ValueError('a bug'), FileNotFoundError('a bug')])
def test_other_errors_keep_their_traceback(monkeypatch, error):
  monkeypatch.setattr(cli, 'main', raising(error))
  with pytest.raises(type(error)):
    cli._main_reporting(['main.py'])  # pylint: disable=protected-access


def test_as_user_errors_converts_only_the_checks_it_wraps():
  with pytest.raises(errors.ConfigError, match='bad'):
    with errors.as_user_errors(ValueError, FileNotFoundError):
      raise ValueError('bad')
  with pytest.raises(errors.NotFoundError):
    with errors.as_user_errors(ValueError, FileNotFoundError):
      raise FileNotFoundError('missing')
  with pytest.raises(KeyError):
    with errors.as_user_errors(ValueError):
      raise KeyError('other')


@pytest.mark.parametrize('args,pattern', [
    ([f'--config={BOTAN}:T044_t131', '--workdir=w'],
     r"Unknown preset 'T044_t131'.* Nearest: T044_t130"),
    (['--config=configs/botn.py:T044_t130', '--workdir=w'],
     r'--config=configs/botn.py:T044_t130: no config file configs/botn.py'),
    ([f'--config={BOTAN}:T044_t130', '--workdir=w', '--config.num_epoch=5'],
     r'--config.num_epoch=5: .* no field \'num_epoch\'\. Did you mean "num_epochs"'),
    ([f'--config={BOTAN}:T044_t130', '--workdir=w', '--config.num_epochs=five'],
     r"--config.num_epochs=five: invalid literal for int\(\)"),
    ([f'--config={BOTAN}:T044_t130', '--workdir=w', '--config.data.train_pattern=nowhere/*.npz'],
     r'nowhere/\*\.npz: matches no file .*--mode=generate'),
    ([f'--config={BOTAN}:T044_t130', '--config.data.train_pattern=nowhere/*.npz'],
     r'--workdir is required in --mode=train'),
    ([f'--config={BOTAN}:T044_t130', '--workdir=w', '--config.init_from=pyg:missing.npz'],
     r'init_from pyg:missing.npz: no such weight file'),
    ([f'--config={BOTAN}:T044_t130', '--workdir=w', '--config.loss_p=3'],
     r'config.loss_p must lie in \[0, 1\]'),
    (['--mode=evaluate', f'--config={BOTAN}:T044_t130', '--workdir=no_run'],
     r'no_run: no checkpoint found'),
    # Preset modules by name, from a directory outside the clone; the default is the demo.
    (['--config=botan:T044_t130', '--workdir=w'],
     r'data/T0\.44/train/isoconfig_N\*T0\.44_\*_tc04\.npz: matches no file'),
    (['--config=sweep:T044'], r'--workdir is required in --mode=sweep'),
    (['--config=generate:T064'], r'--workdir is required in --mode=generate'),
    (['--mode=train', '--workdir=w'],
     r'--mode=train needs a training config such as --config=botan:T044_t130; the given one is '
     r'for mode demo\.'),
    (['--config=botn:T044_t130', '--workdir=w'],
     r"--config=botn:T044_t130: no preset module 'botn' and no config file botn .* Did you mean "
     r'botan\? The preset modules are botan, generate, sweep, demo'),
    (['--config=botan:T044_t131', '--workdir=w'],
     r"--config=botan:T044_t131: Unknown preset 'T044_t131' of botan\. Nearest: T044_t130"),
])
def test_user_errors_are_one_line_with_exit_status_2(tmp_path, args, pattern):
  assert_user_error(run_main(*args, cwd=tmp_path), pattern)
  assert os.listdir(tmp_path) == []  # Refused before any work.


def test_a_truncated_input_of_predict_is_one_line_with_exit_status_2(tmp_path):
  model = conftest.shared_file('data', 'pyg_botan_pretrained', 'model1.npz')
  path, = synthetic.write_botan_files(tmp_path, 1)
  with open(path, 'rb') as f:
    data = f.read()
  with open(path, 'wb') as f:
    f.write(data[:len(data) // 2])
  result = run_main('--mode=predict', f'--config={BOTAN}:T044_t4120',
                    f'--config.init_from=pyg:{model}', f'--input={path}',
                    f'--output={tmp_path / "out"}', '--config.data.cache_dir=', cwd=tmp_path)
  assert_user_error(result, re.escape(path) + ': not a readable npz file')


def test_ctrl_c_stops_training_in_one_line_and_the_same_command_resumes(tmp_path):
  synthetic.write_botan_files(tmp_path / 'train', 4)
  synthetic.write_botan_files(tmp_path / 'test', 1, first_id=401, seed=100)
  command = main_command(
      f'--config={BOTAN}:T044_t4120', f'--workdir={tmp_path / "run"}',
      f'--config.data.train_pattern={tmp_path / "train" / "*.npz"}',
      f'--config.data.test_pattern={tmp_path / "test" / "*.npz"}', '--config.data.cache_dir=',
      '--config.model.latent_size=8', '--config.model.num_message_passing_steps=1',
      '--config.eval_every_epochs=1000', '--config.checkpoint_every_epochs=1',
      '--config.log_every_s=0')
  stderr = tmp_path / 'stderr.txt'
  with open(stderr, 'w') as f:
    process = subprocess.Popen(command + ['--config.num_epochs=100000'], cwd=tmp_path,
                               stderr=f, env=dict(os.environ, PYTHONPATH=ROOT))
  try:
    deadline = time.monotonic() + 240
    while '(epoch 3/' not in stderr.read_text():  # Epochs 1 and 2 are checkpointed.
      assert process.poll() is None and time.monotonic() < deadline, stderr.read_text()[-3000:]
      time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130, stderr.read_text()[-3000:]
  finally:
    process.kill()
  text = stderr.read_text()
  assert 'Traceback' not in text and 'KeyboardInterrupt' not in text, text[-3000:]
  assert re.search(r'step \d+/400000 \(epoch \d+/100000\) \| loss [\d.]+ \(mean of \d+ steps\) '
                   r'\| [\d.]+ graphs/s \| ETA \w+', text), text[-3000:]
  line, = own_lines(text)
  match = re.fullmatch(r'main.py: interrupted: --mode=train writing to \S+/run; its latest '
                       r'checkpoint is step (\d+); the same command resumes from there\.', line)
  assert match, line
  step = int(match[1])
  assert step >= 8 and step % 4 == 0
  resumed = subprocess.run(command + [f'--config.num_epochs={step // 4 + 1}'], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PYTHONPATH=ROOT))
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f'Resuming from step {step} ' in resumed.stderr


def test_interrupted_messages_say_what_is_kept_and_how_to_resume(tmp_path):
  assert cli.interrupted_message('train', str(tmp_path)) == (
      f'interrupted: --mode=train writing to {tmp_path} before its first checkpoint; the same '
      'command starts the run again.')
  for name in ('8', '12.orbax-checkpoint-tmp'):  # The second one was cut short.
    (tmp_path / 'checkpoints' / 'latest' / name).mkdir(parents=True)
  assert cli.interrupted_message('train', str(tmp_path)) == (
      f'interrupted: --mode=train writing to {tmp_path}; its latest checkpoint is step 8; the '
      'same command resumes from there.')
  assert cli.interrupted_message('predict', 'preds') == (
      'interrupted: --mode=predict writing to preds; the predictions written are complete; the '
      'same command skips them and predicts the rest.')
  assert all(cli.interrupted_message(mode, 'w').endswith('.') for mode in cli.MODES)


def test_a_ctrl_c_dropped_by_a_gc_callback_is_sent_again():
  # Python drops a KeyboardInterrupt raised inside a garbage-collection callback (JAX's runs at
  # every collection); the first one is swallowed here as such a callback would.
  ctrl_c = cli._CtrlC()  # pylint: disable=protected-access
  ctrl_c.repeat_s = 0.05
  handler, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
  try:
    ctrl_c.install()
    try:
      os.kill(os.getpid(), signal.SIGINT)
      time.sleep(1.0)
    except KeyboardInterrupt:
      pass  # Dropped.
    with pytest.raises(KeyboardInterrupt):
      time.sleep(5.0)  # The Ctrl-C comes again.
    ctrl_c.reporting()
    os.kill(os.getpid(), signal.SIGINT)  # Ignored while the interruption is reported.
    time.sleep(0.2)
  finally:
    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = hook


def test_a_figure_mistake_is_one_line_with_exit_status_2(tmp_path):
  # A slab outside the box of the configuration (the figures' own checks are user errors).
  sample = synthetic.random_sample(256, num_runs=2, seed=1)
  data = tmp_path / 'isoconfig_N256T0.64_1_tc04.npz'
  io.save_npz(data, types=sample.types.astype(np.int8), initial_positions=sample.initial_positions,
              positions=sample.trajectory_positions)
  synthetic.write_prediction(tmp_path / 'pred.npz', sample)
  result = run_main('--mode=figures', '--figure=maps', f'--input={tmp_path / "pred.npz"}',
                    f'--data={data}', '--slab=20,21', f'--output={tmp_path / "fig"}', cwd=tmp_path)
  assert_user_error(result, r'The slab 20 < z < 21 is not inside the box 0 < z < 5\.9')

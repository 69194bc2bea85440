"""Training over several processes of JAX's distributed runtime, with real processes on 127.0.0.1.

Two processes with one CPU device each (gloo collectives) must train to the
parameters of one process with two devices and of one device on the same
global batch; a process killed mid-run must stop the other within the
heartbeat timeout with one clear line, and rerunning both must resume to the
uninterrupted run's parameters.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from botan_jax import checkpoints
from tests import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_EPOCHS = 6  # Two steps of two graphs per epoch.


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp('distributed_data')
  synthetic.write_botan_files(root / 'train', 4)
  synthetic.write_botan_files(root / 'test', 2, first_id=401, seed=100)
  return root


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _command(data_dir, workdir, *extra):
  return [sys.executable, os.path.join(ROOT, 'main.py'), '--config=botan:T044_t4120',
          f'--config.data.train_pattern={data_dir}/train/*.npz',
          f'--config.data.test_pattern={data_dir}/test/*.npz', '--config.data.cache_dir=',
          '--config.model.latent_size=16', '--config.model.num_message_passing_steps=2',
          '--config.batch_size=2', f'--config.num_epochs={NUM_EPOCHS}',
          '--config.eval_every_epochs=1', '--config.checkpoint_every_epochs=1',
          f'--workdir={workdir}', *extra]


def _env(num_devices: int) -> dict[str, str]:
  return {**os.environ, 'JAX_PLATFORMS': 'cpu',
          'XLA_FLAGS': f'--xla_force_host_platform_device_count={num_devices}'}


def _one_process(data_dir, workdir, num_devices):
  result = subprocess.run(_command(data_dir, workdir), env=_env(num_devices), capture_output=True,
                          text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]


def _start_processes(data_dir, workdir, port, **popen):
  return [subprocess.Popen(
      _command(data_dir, workdir, '--distributed', f'--coordinator_address=127.0.0.1:{port}',
               '--num_processes=2', f'--process_id={k}', '--heartbeat_timeout_s=20'),
      env=_env(1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen)
      for k in range(2)]


def _finish(processes, timeout=600):
  errors = [p.communicate(timeout=timeout)[1] for p in processes]
  for p, stderr in zip(processes, errors):
    assert p.returncode == 0, stderr[-3000:]
  return errors


def _params(workdir):
  state, _ = checkpoints.restore(checkpoints.manager(str(workdir), checkpoints.LATEST))
  assert int(state['step']) == 2 * NUM_EPOCHS
  return state['params']


def _max_difference(a, b) -> float:
  return max(jax.tree.leaves(jax.tree.map(
      lambda x, y: float(np.max(np.abs(np.asarray(x) - np.asarray(y)))), a, b)))


@pytest.fixture(scope='module')
def two_devices(data_dir, tmp_path_factory):
  """The run of one process with two devices: the reference."""
  workdir = tmp_path_factory.mktemp('two_devices') / 'run'
  _one_process(data_dir, workdir, 2)
  return _params(workdir)


def test_two_processes_train_as_one_process_with_two_devices_and_as_one_device(
    data_dir, tmp_path, two_devices):
  _one_process(data_dir, tmp_path / 'one_device', 1)
  stderrs = _finish(_start_processes(data_dir, tmp_path / 'two_processes', _free_port()))
  assert _max_difference(_params(tmp_path / 'two_processes'), two_devices) < 2e-5
  assert _max_difference(_params(tmp_path / 'one_device'), two_devices) < 2e-5
  # Progress and results come from process 0 alone.
  assert 'test Pearson' in stderrs[0] and 'test Pearson' not in stderrs[1]
  assert sorted(os.listdir(tmp_path / 'two_processes')) == [
      'checkpoints', 'config.json', 'metrics.jsonl', 'tensorboard', 'train_files.json']


def test_a_killed_process_stops_the_other_and_both_resume(data_dir, tmp_path, two_devices):
  workdir = tmp_path / 'killed'
  processes = _start_processes(data_dir, workdir, _free_port())
  latest = workdir / 'checkpoints' / 'latest'
  deadline = time.monotonic() + 300
  while not (latest.is_dir() and any(int(s) >= 4 for s in os.listdir(latest) if s.isdigit())):
    assert time.monotonic() < deadline and processes[0].poll() is None, 'no checkpoint at step 4'
    time.sleep(0.05)
  processes[1].send_signal(signal.SIGKILL)
  killed_at = time.monotonic()
  _, stderr = processes[0].communicate(timeout=90)
  assert time.monotonic() - killed_at < 60
  assert processes[0].returncode == 1
  (line,) = [l for l in stderr.splitlines() if 'error:' in l]
  assert 'process 0:' in line and 'another process of this distributed run stopped' in line
  assert 'Rerun the same command on every process to resume' in line
  assert 'Traceback' not in stderr
  processes[1].communicate()

  stderrs = _finish(_start_processes(data_dir, workdir, _free_port()))
  assert 'Resuming from step' in stderrs[0]
  assert _max_difference(_params(workdir), two_devices) < 2e-5

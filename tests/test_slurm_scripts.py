"""The SLURM scripts in scripts/slurm: valid bash, flags that exist, and the sweep submission
run against a stand-in `sbatch` (SLURM itself is not here)."""

import glob
import os
import re
import shlex
import stat
import subprocess
import sys

import pytest

from botan_jax import cli  # pylint: disable=unused-import  (defines the flags)
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(glob.glob(os.path.join(ROOT, 'scripts', 'slurm', '*')))


def test_there_is_a_script_for_each_job():
  names = {os.path.basename(p) for p in SCRIPTS}
  assert {'generate_array.sbatch', 'train_multinode.sbatch', 'sweep_task.sbatch',
          'sweep_collect.sbatch', 'submit_sweep.sh'} <= names


@pytest.mark.parametrize('script', SCRIPTS, ids=os.path.basename)
def test_scripts_parse_and_use_existing_flags(script):
  subprocess.run(['bash', '-n', script], check=True)
  text = open(script).read().replace('\\\n', ' ')
  commands = [line[line.index('botan-jax'):] for line in text.splitlines()
              if 'botan-jax ' in line and not line.lstrip().startswith('#')]
  for command in commands:
    for word in shlex.split(command.split('|')[0])[1:]:
      name = re.match(r'--(?:no)?([a-z_]+)', word)
      if name and not word.startswith('--config.'):
        assert name.group(1) in flags.FLAGS, f'{script}: --{name.group(1)} is not a flag'


def test_submit_sweep_queues_the_array_and_a_dependent_collect(tmp_path):
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  log = tmp_path / 'sbatch.log'
  fakes = {
      'sbatch': f'#!/bin/bash\necho "$@" >> {log}\necho 4242\n',
      'botan-jax': f'#!/bin/bash\nexec {sys.executable} {os.path.join(ROOT, "main.py")} "$@"\n',
  }
  for name, body in fakes.items():
    path = bin_dir / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
  result = subprocess.run(
      ['bash', os.path.join(ROOT, 'scripts', 'slurm', 'submit_sweep.sh'), 'T044',
       str(tmp_path / 'sweep')], cwd=tmp_path, capture_output=True, text=True, timeout=300,
      env={**os.environ, 'PATH': f'{bin_dir}:{os.environ["PATH"]}'}, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  array, collect = log.read_text().splitlines()
  assert array.startswith('--parsable --array=0-49 ') and array.endswith(
      f'sweep_task.sbatch T044 {tmp_path / "sweep"}')  # 10 time points x 5 seeds.
  assert collect.startswith('--dependency=afterany:4242 ') and 'sweep_collect.sbatch' in collect
  assert 'Submitted 50 sweep tasks (job 4242)' in result.stdout

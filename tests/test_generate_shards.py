"""A dataset made in shards by real processes equals the one a single process makes."""

import os
import subprocess
import sys

import numpy as np
import pytest

from botan_jax import cluster
from botan_jax import errors
from botan_jax.md import generate
from botan_jax.presets import generate as generate_configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def small_config():
  """The tiny preset cut down: 3 configurations in batches 1-2 and 3, 2 replicas, 2 times."""
  config = generate_configs.tiny_config()
  config.num_train, config.num_test = 2, 1
  config.time_indices = (1, 2)
  config.num_replicas = 2
  config.nvt_batch, config.nve_batch = 2, 1  # 1 and 2 are batch-mates.
  return config


# The same config for the command line: a config file of the user's own.
CONFIG_FILE = """
from tests import test_generate_shards


def get_config():
  return test_generate_shards.small_config()
"""


def _files(root) -> dict[str, str]:
  found = {}
  for directory, _, names in os.walk(root):
    for name in names:
      found[os.path.relpath(os.path.join(directory, name), root)] = os.path.join(directory, name)
  return found


def test_shards_make_whole_batches_of_consecutive_ids():
  config = generate_configs.tiny_config()
  config.num_train, config.num_test, config.nvt_batch = 8, 3, 4  # Batches 1-4, 5-8, 9-11.
  assert generate.shard_ids(config, cluster.Shard()) == list(range(1, 12))
  assert generate.shard_ids(config, cluster.Shard(0, 2)) == [1, 2, 3, 4, 9, 10, 11]
  assert generate.shard_ids(config, cluster.Shard(1, 2)) == [5, 6, 7, 8]
  with pytest.raises(errors.ConfigError, match='4 shards for 11 configurations in 3 batches'):
    generate.shard_ids(config, cluster.Shard(3, 4))


def test_two_shards_in_two_processes_make_the_one_process_dataset(tmp_path):
  one = tmp_path / 'one'
  generate.generate(small_config(), str(one))

  config_file = tmp_path / 'shards.py'
  config_file.write_text(CONFIG_FILE)
  shared = tmp_path / 'sharded'
  command = [sys.executable, os.path.join(ROOT, 'main.py'), f'--config={config_file}',
             f'--workdir={shared}']
  slurm = dict(SLURM_ARRAY_TASK_ID='3', SLURM_ARRAY_TASK_MIN='3', SLURM_ARRAY_TASK_COUNT='2')
  processes = [
      subprocess.Popen(command + ['--shard=slurm'], env={**os.environ, **slurm},
                       stderr=subprocess.PIPE, text=True),  # Shard 0: ids 1 and 2.
      subprocess.Popen(command + ['--shard=1/2'], stderr=subprocess.PIPE, text=True)]  # Id 3.
  stderrs = [p.communicate(timeout=900)[1] for p in processes]
  for p, stderr in zip(processes, stderrs):
    assert p.returncode == 0, stderr[-3000:]
  assert 'shard 0/2: ids 1-2' in stderrs[0] and 'shard 1/2: ids 3' in stderrs[1]

  expected, got = _files(one), _files(shared)
  assert sorted(got) == sorted(expected) and len(got) == 3 * 2
  for name, path in expected.items():
    with np.load(path) as want, np.load(got[name]) as have:
      assert sorted(have.files) == sorted(want.files)
      for key in want.files:
        np.testing.assert_array_equal(have[key], want[key], err_msg=f'{name}: {key}')
  # A rerun of one shard finds its files complete and leaves the others' alone.
  rerun = subprocess.run(command + ['--shard=1/2'], capture_output=True, text=True, timeout=600,
                         check=False)
  assert rerun.returncode == 0 and '0 of 1 configurations to do' in rerun.stderr

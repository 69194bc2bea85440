"""Shared test fixtures: paths into the shared data, skipped with a reason where it is absent.

The shared data (the authors' sample, weights and reference outputs) is found through one
setting: the `BOTAN_SHARED` environment variable, by default `../shared` beside the project.
Every test that needs it asks for its paths here, so that it skips when they are absent.
"""

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_root() -> str:
  """The shared-data folder: $BOTAN_SHARED, or ../shared beside the project."""
  return os.path.abspath(os.environ.get('BOTAN_SHARED') or os.path.join(ROOT, '..', 'shared'))


SHARED = shared_root()


def shared_file(*parts: str) -> str:
  """The path of a file or folder under the shared data, or a skip naming what is missing."""
  path = os.path.join(SHARED, *parts)
  if not os.path.exists(path):
    pytest.skip(f'{path} is absent: this test needs the shared data (BOTAN_SHARED, by default '
                '../shared beside the project; see README).')
  return path


def botan_small(*parts: str) -> str:
  """A path under the authors' T=0.44 sample (botan_small/T0.44), or a skip."""
  return shared_file('data', 'botan_small', 'T0.44', *parts)


def model1() -> str:
  """The authors' edge-pretrained model 1 (.npz), or a skip."""
  return shared_file('data', 'pyg_botan_pretrained', 'model1.npz')


def test_file(config_id: int) -> str:
  return botan_small('test', f'isoconfig_N4096T0.44_{config_id}_tc07.npz')


def train_file(config_id: int) -> str:
  return botan_small('train', f'isoconfig_N4096T0.44_{config_id}_tc07.npz')

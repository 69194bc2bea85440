"""Shared test fixtures: paths into ../shared, skipped with a reason where it is absent."""

import os

import pytest

SHARED = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
DATA = os.path.join(SHARED, 'data')
REFERENCE = os.path.join(SHARED, 'reference')
BOTAN_SMALL = os.path.join(DATA, 'botan_small', 'T0.44')
MODEL1 = os.path.join(DATA, 'pyg_botan_pretrained', 'model1.npz')


def shared_file(*parts: str) -> str:
  """The path of a file under ../shared, or a skip naming what is missing."""
  path = os.path.join(SHARED, *parts)
  if not os.path.exists(path):
    pytest.skip(f'{path} is absent: this test needs the shared data beside the project '
                '(../shared, see README).')
  return path


def test_file(config_id: int) -> str:
  return shared_file('data', 'botan_small', 'T0.44', 'test',
                     f'isoconfig_N4096T0.44_{config_id}_tc07.npz')


def train_file(config_id: int) -> str:
  return shared_file('data', 'botan_small', 'T0.44', 'train',
                     f'isoconfig_N4096T0.44_{config_id}_tc07.npz')

"""Benchmarks and peer checks, run from the repository root as `python -m benchmarks.NAME`."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_path(*parts: str) -> str:
  """A path under the shared data: $BOTAN_SHARED, or ../shared beside the project (as the tests)."""
  shared = os.environ.get('BOTAN_SHARED') or os.path.join(ROOT, '..', 'shared')
  return os.path.abspath(os.path.join(shared, *parts))

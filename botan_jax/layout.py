"""Where botan-jax keeps what the user did not name: the graph cache (WORKSPACE.md lists every
place it writes)."""

import os
import tempfile

APP_DIR = 'botan-jax'


def user_cache_dir() -> str:
  """botan-jax's folder in the user's cache directory.

  $XDG_CACHE_HOME/botan-jax where that is an absolute path (the XDG base
  directory rule ignores a relative one), else ~/.cache/botan-jax; where no home
  directory is known, {temporary directory}/botan-jax-{user id}. Never relative
  to the current directory.
  """
  xdg = os.environ.get('XDG_CACHE_HOME', '')
  if os.path.isabs(xdg):
    return os.path.join(xdg, APP_DIR)
  home = os.path.expanduser('~')
  if os.path.isabs(home):
    return os.path.join(home, '.cache', APP_DIR)
  return os.path.join(tempfile.gettempdir(), f'{APP_DIR}-{os.getuid()}')


def default_cache_dir() -> str:
  """The graph cache of the training presets (`config.data.cache_dir`): {user cache}/graphs.

  Shared by every run, evaluation and prediction of the user: entries are keyed
  by the data file (path, size, mtime) and the graph definition, so a sweep's
  seeds and a later predict reuse the graphs that the first run built.
  """
  return os.path.join(user_cache_dir(), 'graphs')

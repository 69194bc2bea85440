"""The presets inside the package: named from any directory (botan_jax/cli.py), re-exported by
the clone's configs/, never imported from there by the library; the graph cache's default."""

import os
import re

import pytest

import configs.botan
import configs.demo
import configs.generate
import configs.sweep
from botan_jax import cli
from botan_jax import layout
from botan_jax import presets
from botan_jax.presets import botan
from botan_jax.presets import demo
from botan_jax.presets import generate
from botan_jax.presets import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESET_DIR = os.path.join(ROOT, 'botan_jax', 'presets')


@pytest.mark.parametrize('value,path', [
    ('botan:T044_t130', os.path.join(PRESET_DIR, 'botan.py') + ':T044_t130'),
    ('sweep:T044_t130,T044_t4120', os.path.join(PRESET_DIR, 'sweep.py') + ':T044_t130,T044_t4120'),
    ('generate:tiny', os.path.join(PRESET_DIR, 'generate.py') + ':tiny'),
    ('demo', os.path.join(PRESET_DIR, 'demo.py')),
    # Anything else is a path, relative to the current directory.
    ('configs/botan.py:T044_t130', 'configs/botan.py:T044_t130'),
    ('./botan:T044_t130', './botan:T044_t130'),
    ('botn:T044_t130', 'botn:T044_t130'),
])
def test_preset_names_are_package_files_and_paths_stay_paths(value, path):
  assert cli.config_path(value) == path


def test_every_preset_module_is_in_the_package():
  for name in presets.NAMES:
    assert os.path.isfile(presets.module_path(name))
  with pytest.raises(ValueError, match='the preset modules are botan, generate, sweep, demo'):
    presets.module_path('botn')


def test_clone_configs_are_the_package_presets():
  assert configs.botan.get_config is botan.get_config
  assert configs.botan.list_presets is botan.list_presets
  assert configs.botan.unknown_preset_message is botan.unknown_preset_message
  assert configs.botan.nearest_presets is botan.nearest_presets
  assert configs.generate.get_config is generate.get_config
  assert configs.generate.tiny_config is generate.tiny_config
  assert configs.generate.paper_config is generate.paper_config
  assert configs.generate.PRESET_TEMPERATURES is generate.PRESET_TEMPERATURES
  assert configs.sweep.get_config is sweep.get_config
  assert configs.demo.get_config is demo.get_config


def test_no_library_module_imports_the_clone_configs():
  imports_configs = re.compile(r'^\s*(from\s+configs[\s.]|import\s+configs\b)', re.MULTILINE)
  offenders = []
  for directory, _, names in os.walk(os.path.join(ROOT, 'botan_jax')):
    for name in names:
      path = os.path.join(directory, name)
      if name.endswith('.py') and imports_configs.search(open(path).read()):
        offenders.append(os.path.relpath(path, ROOT))
  assert offenders == []


def test_graph_cache_defaults_to_the_user_cache_directory(tmp_path, monkeypatch):
  (tmp_path / 'cwd').mkdir()
  monkeypatch.chdir(tmp_path / 'cwd')
  monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
  xdg = str(tmp_path / 'xdg' / 'botan-jax' / 'graphs')
  assert layout.default_cache_dir() == xdg
  assert botan.get_config('T044_t130').data.cache_dir == xdg
  assert sweep.get_config('T044').train.data.cache_dir == xdg
  assert demo.get_config().train.data.cache_dir == ''  # The demo builds its graphs anew.
  monkeypatch.setenv('HOME', str(tmp_path / 'home'))
  home = str(tmp_path / 'home' / '.cache' / 'botan-jax' / 'graphs')
  monkeypatch.setenv('XDG_CACHE_HOME', 'relative')  # Ignored, as the XDG rule says.
  assert layout.default_cache_dir() == home
  monkeypatch.delenv('XDG_CACHE_HOME')
  assert layout.default_cache_dir() == home
  for cache in (xdg, home, botan.get_config('pretrain').data.cache_dir):
    assert os.path.isabs(cache) and not cache.startswith(os.getcwd() + os.sep)

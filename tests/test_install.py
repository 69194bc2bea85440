"""The package installs from a clone into a fresh virtual environment and runs from elsewhere.

The fresh environment reaches the running one's packages (less any botan_jax install of
its own) through a `.pth` file, so that the dependencies are not installed again, and pip
builds offline (`--no-deps --no-build-isolation`): each install takes seconds.
"""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clone_files(root: str) -> list[str]:
  """The files a clone of `root` would hold, with the working tree's changes (relative paths)."""
  if shutil.which('git') is None or not os.path.exists(os.path.join(root, '.git')):
    pytest.skip(f'{root} is not a git checkout: the install test copies its files with git.')
  listed = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
                          cwd=root, capture_output=True, text=True, check=True).stdout.splitlines()
  return [path for path in listed if os.path.isfile(os.path.join(root, path))]


def copy_clone(root: str, destination: str) -> str:
  """Copies the clone's files of `root` to `destination`; returns `destination`."""
  for path in clone_files(root):
    os.makedirs(os.path.dirname(os.path.join(destination, path)), exist_ok=True)
    shutil.copy2(os.path.join(root, path), os.path.join(destination, path))
  return destination


def dependencies_view(path: str) -> str:
  """A folder at `path` of links to the running environment's packages, less botan_jax's own."""
  site = sysconfig.get_paths()['purelib']
  os.makedirs(path)
  for name in os.listdir(site):
    if not name.startswith(('botan_jax', '__editable__')):
      os.symlink(os.path.join(site, name), os.path.join(path, name))
  return path


def fresh_venv(path: str, dependencies: str) -> str:
  """A venv at `path` that also sees the packages in `dependencies`; returns its python."""
  subprocess.run([sys.executable, '-m', 'venv', '--without-pip', path], check=True)
  python = os.path.join(path, 'bin', 'python')
  site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                        capture_output=True, text=True, check=True).stdout.strip()
  with open(os.path.join(site, 'dependencies.pth'), 'w') as f:
    f.write(dependencies + '\n')
  return python


def clean_env() -> dict[str, str]:
  """The environment without PYTHONPATH, so that only the install provides botan_jax."""
  return {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}


def run(command: list[str], cwd: str) -> subprocess.CompletedProcess:
  return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                        env=clean_env(), check=False)


@pytest.fixture(scope='module', params=['regular', 'editable'])
def installed(request, tmp_path_factory) -> tuple[str, str, str]:
  """(venv python, clone, kind): the clone pip-installed into a fresh venv."""
  base = tmp_path_factory.mktemp(request.param)
  clone = copy_clone(ROOT, str(base / 'clone'))
  python = fresh_venv(str(base / 'venv'), dependencies_view(str(base / 'dependencies')))
  editable = ['-e'] if request.param == 'editable' else []
  result = run([python, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
                '--no-index', '--ignore-installed', *editable, clone], cwd=str(base))
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return python, clone, request.param


def test_the_installed_package_is_imported_from_another_directory(installed, tmp_path):
  python, clone, kind = installed
  result = run([python, '-c', 'import botan_jax; print(botan_jax.__file__)'], cwd=str(tmp_path))
  assert result.returncode == 0, result.stderr[-3000:]
  location = os.path.realpath(result.stdout.strip())
  home = clone if kind == 'editable' else os.path.dirname(os.path.dirname(python))
  assert location.startswith(os.path.realpath(home) + os.sep), (location, home)
  assert location.endswith(os.path.join('botan_jax', '__init__.py'))


def test_the_console_command_shows_its_help(installed, tmp_path):
  python, clone, _ = installed
  if not os.path.exists(os.path.join(clone, 'botan_jax', 'cli.py')):
    pytest.skip('botan_jax/cli.py (the `botan-jax` entry point) is not written yet.')
  result = run([os.path.join(os.path.dirname(python), 'botan-jax'), '--help'], cwd=str(tmp_path))
  output = result.stdout + result.stderr
  assert '--mode' in output and 'Traceback' not in output, output[-3000:]
  assert os.listdir(tmp_path) == []

"""botan-jax's on-disk layout: every file name and folder it reads or writes, in one place.

WORKSPACE.md mirrors this module. Three families:

  datasets     {data}/T{T:.2f}/{train,test}/isoconfig_N{N}T{T:.2f}_{id}_tc{XX:02d}.npz
               (the authors' name; XX is the 1-based index into the file's time table),
               the generator's per-configuration state in {data}/T{T:.2f}/checkpoints/.
  run folder   {workdir}/config.json, train_files.json, metrics.jsonl, tensorboard/,
               checkpoints/{latest,best}/{step}/, evaluation.json; a sweep's
               {preset}[/{field}={value}]/seed{k}/ runs and runs.csv, results.csv, results.md.
  predictions  {output}/{input stem}_pred.npz, or the .npz file the user named, and beside it
               for OVITO {stem}_pred.extxyz and {stem}_pred_bonds.dump (--write_extxyz).
Input files are recognised by suffix: DATASET_SUFFIXES and STRUCTURE_SUFFIXES.
  downloads    {data}/downloads/ (partial and kept archives), {data}/glassbench/ (GlassBench's
               members, tarballs extracted beside them: KA_models/T{T:.2f}/{train,test}/
               N{N}T{T:.2f}_{id}.npz), benchmark tables {output}.md, .csv, .png, .pdf.

and the user's cache directory for what the user did not name (the graph cache).
"""

import os
import re
import tempfile

APP_DIR = 'botan-jax'

# Datasets.
DATASET_NAME = re.compile(
    r'isoconfig_N(?P<n>\d+)T(?P<t>[\d.]+?)_(?P<id>\d+)_tc(?P<tc>\d+)\.npz$')
DATASET_FILE = 'isoconfig_N{num_particles}T{temperature:.2f}_{config_id}_tc{time_index:02d}.npz'
TEMPERATURE_DIR = 'T{temperature:.2f}'
DEFAULT_DATA_DIR = 'data'  # Where the training presets look, relative to the current directory.
SPLITS = ('train', 'test')
GENERATOR_STATE_DIR = 'checkpoints'

# A training run's folder.
CONFIG_FILE = 'config.json'
TRAIN_FILES = 'train_files.json'
METRICS_FILE = 'metrics.jsonl'
TENSORBOARD_DIR = 'tensorboard'
CHECKPOINTS_DIR = 'checkpoints'
EVALUATION_FILE = 'evaluation.json'

# A sweep's folder.
SWEEP_CONFIG_FILE = 'sweep_config.json'
SWEEP_RUN_MARKER = 'sweep_run.json'  # In each finished run of a sweep.
SWEEP_RUNS_FILE = 'runs.csv'
SWEEP_RESULTS_FILE = 'results.csv'
SWEEP_TABLE_FILE = 'results.md'

# Inputs, by suffix: datasets, and simulation files (botan_jax/formats.py) by format.
DATASET_SUFFIXES = ('.npz', '.pickle', '.pkl')
STRUCTURE_SUFFIXES = {'.data': 'lammps-data', '.lmp': 'lammps-data', '.lammpstrj': 'lammps-dump',
                      '.dump': 'lammps-dump', '.extxyz': 'extxyz', '.xyz': 'extxyz', '.gsd': 'gsd'}

# Predictions, and their files for OVITO (botan_jax/export.py).
PREDICTION_SUFFIX = '_pred.npz'
OVITO_PARTICLES_SUFFIX = '.extxyz'
OVITO_BONDS_SUFFIX = '_bonds.dump'

# Downloads (botan_jax/datasets) and GlassBench (the Roadmap's benchmark, Zenodo 10118191).
DOWNLOADS_DIR = 'downloads'  # Under the data folder: partial and kept archives.
PARTIAL_SUFFIX = '.partial'  # A download in progress, resumed with HTTP Range.
BOTAN_ARCHIVE = 'public_dataset.tar.gz'  # The authors' archive, as it is named on their server.
GLASSBENCH_DIR = 'glassbench'  # Under the data folder: the zip's members, at their zip paths.
GLASSBENCH_MODELS = 'KA_models'  # 3-D Kob-Andersen tarballs, KA_models/T{T:.2f}.tar.gz.
GLASSBENCH_RESULTS = 'KA_results'  # FIG*.dat, times_{T}.dat of the Roadmap's figures.
GLASSBENCH_NAME = re.compile(r'(?<![\w.])N(?P<n>\d+)T(?P<t>[\d.]+?)_(?P<id>\d+)\.npz$')


def dataset_file_name(num_particles: int | str, temperature: float, config_id: int | str,
                      time_index: int) -> str:
  """`isoconfig_N{N}T{T:.2f}_{id}_tc{XX:02d}.npz`; '*' for N or id makes it a glob."""
  return DATASET_FILE.format(num_particles=num_particles, temperature=temperature,
                             config_id=config_id, time_index=time_index)


def parse_dataset_name(path: str) -> dict | None:
  """num_particles, temperature, config_id and time_index of a dataset file name, else None."""
  match = DATASET_NAME.search(os.path.basename(path))
  if match is None:
    return None
  return dict(num_particles=int(match['n']), temperature=float(match['t']),
              config_id=int(match['id']), time_index=int(match['tc']))


def parse_glassbench_name(path: str) -> dict | None:
  """num_particles, temperature and config_id of a GlassBench file name
  (`N{N}T{T}_{id}.npz`), else None."""
  match = GLASSBENCH_NAME.search(os.path.basename(path))
  if match is None:
    return None
  return dict(num_particles=int(match['n']), temperature=float(match['t']),
              config_id=int(match['id']))


def glassbench_dir(data_dir: str) -> str:
  """`{data_dir}/glassbench`: GlassBench's members, at the paths they have in the zip."""
  return os.path.join(data_dir, GLASSBENCH_DIR)


def glassbench_tarball(temperature: float) -> str:
  """The zip member of one 3-D temperature: `KA_models/T{T:.2f}.tar.gz`."""
  return f'{GLASSBENCH_MODELS}/{TEMPERATURE_DIR.format(temperature=temperature)}.tar.gz'


def glassbench_split_dir(data_dir: str, temperature: float, split: str) -> str:
  """`{data_dir}/glassbench/KA_models/T{T:.2f}/{split}`: where a tarball's files land."""
  if split not in SPLITS:
    raise ValueError(f'split {split!r}; expected one of {SPLITS}')
  return os.path.join(glassbench_dir(data_dir), GLASSBENCH_MODELS,
                      TEMPERATURE_DIR.format(temperature=temperature), split)


def downloads_dir(data_dir: str) -> str:
  """`{data_dir}/downloads`: archives being downloaded (`*.partial`) or kept."""
  return os.path.join(data_dir, DOWNLOADS_DIR)


def temperature_dir(data_dir: str, temperature: float) -> str:
  """`{data_dir}/T{T:.2f}`: one temperature's dataset."""
  return os.path.join(data_dir, TEMPERATURE_DIR.format(temperature=temperature))


def split_dir(data_dir: str, temperature: float, split: str) -> str:
  """`{data_dir}/T{T:.2f}/{split}`, split 'train' or 'test'."""
  if split not in SPLITS:
    raise ValueError(f'split {split!r}; expected one of {SPLITS}')
  return os.path.join(temperature_dir(data_dir, temperature), split)


def dataset_pattern(data_dir: str, temperature: float, split: str, time_index: int) -> str:
  """The glob of one split's files at one time index, any N and id."""
  return os.path.join(split_dir(data_dir, temperature, split),
                      dataset_file_name('*', temperature, '*', time_index))


def dataset_pattern_template(data_dir: str, split: str) -> str:
  """`dataset_pattern` with `{temperature:.2f}` and `{time_index:02d}` left to fill in."""
  if split not in SPLITS:
    raise ValueError(f'split {split!r}; expected one of {SPLITS}')
  name = DATASET_FILE.replace('{num_particles}', '*').replace('{config_id}', '*')
  return os.path.join(data_dir, TEMPERATURE_DIR, split, name)


def generator_state_dir(data_dir: str, temperature: float) -> str:
  """Where the generator keeps its per-configuration MD states while a configuration runs."""
  return os.path.join(temperature_dir(data_dir, temperature), GENERATOR_STATE_DIR)


def generator_state_name(num_particles: int, temperature: float, config_id: int) -> str:
  return f'isoconfig_N{num_particles}T{temperature:.2f}_{config_id}_state.npz'


def run_file(workdir: str, name: str) -> str:
  """`{workdir}/{name}` for one of the run folder's names above."""
  return os.path.join(workdir, name)


def checkpoint_dir(workdir: str, kind: str) -> str:
  """`{workdir}/checkpoints/{kind}`, kind 'latest' or 'best'."""
  return os.path.join(workdir, CHECKPOINTS_DIR, kind)


def prediction_name(input_path: str) -> str:
  """`{input stem}_pred.npz`: the prediction of one input file."""
  return os.path.splitext(os.path.basename(input_path))[0] + PREDICTION_SUFFIX


def ovito_files(prediction_path: str) -> tuple[str, str]:
  """The extxyz (particles) and LAMMPS dump local (bonds) files beside a prediction `{stem}.npz`."""
  stem = os.path.splitext(prediction_path)[0]
  return stem + OVITO_PARTICLES_SUFFIX, stem + OVITO_BONDS_SUFFIX


def cache_entry(cache_dir: str, data_path: str, digest: str, kind: str) -> str:
  """`{cache_dir}/{data file name}.{digest}.{kind}.npz`: a cached graph ('graph') or inherent
  structure ('inherent') of one data file."""
  return os.path.join(cache_dir, f'{os.path.basename(data_path)}.{digest}.{kind}.npz')


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

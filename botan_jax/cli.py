"""botan-jax command line: one call per mode.

  python main.py                                    # the demo: generate, train, evaluate, figures
  python main.py --config=botan:T044_t130 --workdir=runs/T044_t130                   # train
  python main.py --mode=evaluate --config=botan:T044_t130 --workdir=runs/T044_t130
  python main.py --mode=predict --config=botan:T044_t4120 \\
      --config.init_from=pyg:model1.npz --input='data/T0.44/test/*.npz' --output=preds/
  python main.py --config=generate:T064 --workdir=data                 # generate a dataset
  python main.py --config=sweep:T044 --workdir=runs/sweep_T044
  python main.py --mode=figures --figure=pearson --runs=runs/sweep_T044 --output=figures/fig5
  python main.py --mode=predict --config=botan:T044_t4120 --config.init_from=pyg:model1.npz \\
      --input=conf.lammpstrj --type_map=1:A,2:B --output=preds/ --write_extxyz   # LAMMPS, OVITO
  python main.py --mode=convert --input='replica_*.lammpstrj' --times=0.1,0.52 --temperature=0.64 \\
      --config_id=1 --output=data/T0.64/train                 # your replicas -> BOTAN npz
  python main.py --mode=download --dataset=botan --temperature=0.44 --time_index=7
  python main.py --mode=download --dataset=glassbench --temperature=0.44
  python main.py --mode=benchmark --temperature=0.44 --runs=runs/sweep_T044 \\
      --output=benchmark/T044

--config names a preset module of botan_jax/presets, botan, generate, sweep or
demo (the default), from any directory, with its argument after ':'; any other
value is a config file's path (`--config=configs/botan.py:T044_t130` from the
clone, or a file of your own with a `get_config`). Without --mode, the config's
own `mode` field decides (train for botan).

Exit status:
  0    done.
  1    an unexpected error, shown with its traceback (a bug, or a failure
       nobody foresaw); or some inputs of a batch failed and were skipped
       (`errors.PartialFailure`, one line); or, with --distributed, another
       process of the run stopped (one line; rerun on every process to resume).
  2    a user error, one line `PROG: error: ...` saying what was wrong and what
       to do, no traceback: a mistyped flag, preset, config file, config field
       or value, a flag combination that cannot work, a glob that matches
       nothing, a damaged or inconsistent data file, a missing checkpoint or
       weight file, a config refused by a mode's checks (`errors.UserError`,
       which `io.DataError` is; see botan_jax/errors.py for the rule).
  130  interrupted (Ctrl-C): one line saying where the job stopped. Every file
       is written atomically, so the same command resumes from what is complete.

Each mode's module is imported when that mode runs: jax-md alone takes 15-20 s
to import on a 2-core CPU, which every other mode and every mistyped command
would otherwise wait for.
"""

import difflib
import os
import shlex
import signal
import sys
import threading
import time
from typing import Any

from absl import app
from absl import flags
import ml_collections
from absl import logging
from ml_collections import config_flags

from botan_jax import errors
from botan_jax import presets

MODES = ('train', 'evaluate', 'predict', 'generate', 'sweep', 'figures', 'convert', 'download',
         'benchmark', 'demo')
TRAINING_MODES = ('train', 'evaluate', 'predict')  # They take a botan preset's config.
EXIT_USER_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED = 2, 1, 130


def config_path(value: str) -> str:
  """--config's value as ml_collections reads it (a file's path, then ':' and its argument).

  `NAME[:ARG]` with NAME one of presets.NAMES (botan, generate, sweep, demo)
  is that preset module's file in the package, whatever the current directory;
  any other value is a path, relative to the current directory (to load a file
  of your own named like a preset, write ./NAME).
  """
  name, colon, arg = value.partition(':')
  return presets.module_path(name) + colon + arg if name in presets.NAMES else value


class PresetFileParser(flags.ArgumentParser):
  """ml_collections' config file parser (`file_parser`), taking preset modules by name as well
  (`config_path`)."""

  def __init__(self, file_parser: flags.ArgumentParser):
    self.file_parser = file_parser

  def parse(self, argument: str) -> Any:
    return self.file_parser.parse(config_path(argument))

  def flag_type(self) -> str:
    return self.file_parser.flag_type()


FLAGS = flags.FLAGS
config_flags.DEFINE_config_file(
    'config', None, 'A preset module, botan, generate, sweep or demo, or a config file\'s path, '
    'with its argument after ":", e.g. botan:T044_t130 or configs/botan.py:T044_t130; default: '
    'the demo.', lock_config=True)
FLAGS['config'].parser = PresetFileParser(FLAGS['config'].parser)
FLAGS.set_default('config', 'demo')  # Parsed here unless --config is on the command line.
flags.DEFINE_enum('mode', None, MODES, 'What to run; default: the config\'s `mode`, else train.')
flags.DEFINE_string('workdir', None, 'Run directory: checkpoints, metrics, evaluation '
                    '(generate and download: the data folder, default data; sweep: the directory of all '
                    'its runs).')
flags.DEFINE_string('input', None, 'predict: a file, directory or glob of configurations (npz, '
                    'pickle, LAMMPS data or dump, extxyz, GSD); convert: a glob of trajectories, one '
                    'per replica; '
                    'figures: predict outputs, comma-separated: one per model of one '
                    'configuration (maps), files, directories or globs (scatter), a file or '
                    'directory (pdf_e).')
flags.DEFINE_string('output', None, 'predict: a file ending in .npz (one input), else a directory; '
                    'convert: the directory of the BOTAN npz files; '
                    'figures: the figure path, written as .png and .pdf.')
flags.DEFINE_string('figure', None, 'figures: which figure, e.g. pearson or maps (a wrong name '
                    'lists them all).')
flags.DEFINE_list('runs', [], 'figures: sweep directories (pearson, ablation) or run '
                  'directories (loss); benchmark: run or sweep directories to score.')
flags.DEFINE_string('data', None, 'figures: dataset files, a directory or glob (pdf_e, fs), '
                    'or the configuration of --input (maps); benchmark: the GlassBench test '
                    'files (default data/glassbench/KA_models/T{T}/test).')
flags.DEFINE_list('slab', None, 'figures: z range of the cross-section maps in sigma_AA, as '
                  'LOW,HIGH; default: 0.8 thick at the middle of the box.')
flags.DEFINE_list('labels', None, 'figures: the models\' names, one per --input (maps), e.g. '
                  'BOTAN,NT-GNN.')
flags.DEFINE_enum('format', None, ('npz', 'pickle', 'lammps-data', 'lammps-dump', 'extxyz', 'gsd'),
                  'predict, convert: the format of --input, when its suffix does not say it '
                  '(default: .npz, .pickle, .data/.lmp, .lammpstrj/.dump, .extxyz/.xyz, .gsd).')
flags.DEFINE_string('type_map', None, 'predict, convert: the file\'s atom types to A and B, e.g. '
                    '1:A,2:B or Ar:A,Ne:B; default LAMMPS types 1->A, 2->B and names A, B.')
flags.DEFINE_integer('frame', 0, 'predict: the 0-based frame of a dump, extxyz or GSD with '
                     'several (negative: from the end).')
flags.DEFINE_bool('strict', False, 'predict, convert: refuse a number density more than 1% off '
                  '1.2 (default: a warning).')
flags.DEFINE_bool('write_extxyz', False, 'predict: also write {stem}_pred.extxyz (particles: '
                  'type, predicted and actual S, error) and {stem}_pred_bonds.dump (E per pair, '
                  'LAMMPS dump local) for OVITO.')
flags.DEFINE_list('times', None, 'convert: the times of the frames to convert, in LJ units, e.g. '
                  '0.1,0.52.')
flags.DEFINE_float('dt', None, 'convert: the MD time step of the trajectories (t = step * dt); '
                   'default 0.001.')
flags.DEFINE_integer('config_id', None, 'convert: the configuration\'s id in the file names.')
flags.DEFINE_enum('dataset', None, ('botan', 'glassbench'), 'download: the authors\' dataset '
                  '(botan) or the Roadmap\'s benchmark (glassbench).')
flags.DEFINE_string('url', None, 'download: another URL of the dataset (a mirror).')
flags.DEFINE_bool('keep_archive', True, 'download: keep the downloaded archive after extraction.')
flags.DEFINE_bool('stream', False, 'download --dataset=botan: extract while downloading, '
                  'keeping no archive (a rerun streams it again, skipping extracted files).')
flags.DEFINE_string('ids', None, 'download --dataset=botan: configuration ids FIRST-LAST, e.g. '
                    '401-450.')
flags.DEFINE_integer('max_configs', None, 'download --dataset=botan: at most this many '
                     'configurations per temperature and split (lowest ids first).')
# Comma-separated lists of download and benchmark: name -> (default, help).
_LIST_FLAGS = {
    'temperature': (['0.44'], 'download, benchmark: temperatures, e.g. 0.44,0.50 (benchmark: '
                    'one); convert: the ensemble\'s temperature (file name and stored value; '
                    'required).'),
    'time_index': ([], 'download --dataset=botan: 1-based time indices (tcXX) to extract; '
                   'default all ten.'),
    'split': ([], 'download --dataset=botan: train and/or test (ids 1-400 and 401-500); '
              'default both.'),
    'members': ([], 'download --dataset=glassbench: zip members or folders ending in / '
                '(default: KA_models/T{T}.tar.gz of each --temperature and KA_results/).'),
}
for _name, (_default, _help) in _LIST_FLAGS.items():
  flags.DEFINE_list(_name, _default, _help)
flags.DEFINE_string('shard', None, 'generate: make only this share of the configurations: I/N '
                    '(shard I of N, 0-based), slurm (this SLURM array task\'s) or processes '
                    '(this process\'s, the default with --distributed); shards make whole batches '
                    'of nvt_batch consecutive ids.')
flags.DEFINE_string('task', None, 'sweep: run only this task (0-based index into --list_tasks), '
                    'or slurm: the index of this SLURM array task; then --collect writes the '
                    'tables.')
flags.DEFINE_bool('collect', False, 'sweep: write the tables from the finished tasks and list '
                  'the unfinished ones with the command that reruns each; trains nothing.')
flags.DEFINE_bool('list_tasks', False, 'sweep: print the tasks (index, run directory, state) '
                  'and their count, e.g. for sbatch --array=0-(count-1); trains nothing.')
flags.DEFINE_bool('distributed', False, 'train, generate: join JAX\'s '
                  'distributed runtime first (several processes, e.g. one per node or GPU); the '
                  'coordinator, process count and id come from the three flags below, else from '
                  'SLURM or Open MPI as JAX detects them. CPUs use gloo collectives.')
flags.DEFINE_string('coordinator_address', None, '--distributed: HOST:PORT of process 0.')
flags.DEFINE_integer('num_processes', None, '--distributed: the number of processes.')
flags.DEFINE_integer('process_id', None, '--distributed: this process\'s id, 0..num_processes-1.')
flags.DEFINE_integer('heartbeat_timeout_s', 60, '--distributed: seconds after which a silent '
                     'process counts as dead and the others stop.')
DISTRIBUTED_MODES = ('train', 'generate')  # evaluate and predict take seconds per file.
MODE_FLAGS = {'shard': ('generate',), 'task': ('sweep',), 'collect': ('sweep',),
              'list_tasks': ('sweep',)}  # Flags that only some modes take.


def main(argv: list[str]) -> None:
  """Runs the mode of the parsed flags; user errors raise `errors.UserError` or `app.UsageError`."""
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}: quote globs '
                         '(--input="dir/*.npz") and write flags as --flag=value.')
  config = FLAGS.config
  mode = _mode(config)
  _check(mode, config)
  if FLAGS.distributed:
    if mode not in DISTRIBUTED_MODES:
      raise app.UsageError(f'--distributed: mode {mode} runs in one process; it applies to '
                           f'{" and ".join(DISTRIBUTED_MODES)} (a sweep spreads as --task array '
                           'tasks; evaluate and predict take seconds per file).')
    from botan_jax import cluster  # pylint: disable=g-import-not-at-top
    # Shards of a dataset end hours apart; training processes end together.
    shutdown_timeout_s = 30 * 24 * 3600 if mode == 'generate' else 300
    cluster.initialize_distributed(FLAGS.coordinator_address, FLAGS.num_processes,
                                   FLAGS.process_id, FLAGS.heartbeat_timeout_s,
                                   shutdown_timeout_s)
    import jax  # pylint: disable=g-import-not-at-top
    if mode == 'train' and jax.process_index() > 0:  # One run: process 0 logs its progress.
      logging.set_verbosity(logging.WARNING)
  _run(mode, config)


def _mode(config: ml_collections.ConfigDict) -> str:
  """The mode: --mode, else the config's `mode` field, else train."""
  mode = FLAGS.mode or config.get('mode', 'train')
  if mode not in MODES:
    raise app.UsageError(f'mode {mode!r} (from the config) is not one of {", ".join(MODES)}.')
  if mode in TRAINING_MODES and config.get('mode', 'train') != 'train':
    raise app.UsageError(f'--mode={mode} needs a training config such as '
                         f'--config=botan:T044_t130; the given one is for '
                         f'mode {config.mode}.')
  return mode


def _check(mode: str, config: ml_collections.ConfigDict) -> None:
  """The checks of what was asked that can run before any work; each failure is a user error.

  The checks called here (train.validate_config, run_files.check_resumable and
  the checkpoint look-ups) raise plain ValueError or FileNotFoundError, made
  user errors by `errors.as_user_errors` for these calls only.
  """
  # pylint: disable=g-import-not-at-top
  for name, modes in MODE_FLAGS.items():
    if FLAGS[name].present and mode not in modes:
      raise app.UsageError(f'--{name} applies to --mode={" or --mode=".join(modes)}, not to '
                           f'mode {mode}.')
  with errors.as_user_errors(ValueError, FileNotFoundError):
    if mode == 'train':
      from botan_jax import model_setup
      from botan_jax import run_files
      from botan_jax import train
      workdir = _required('workdir', mode)
      train_files, _ = train.validate_config(config)
      run_files.check_resumable(config, workdir, [os.path.basename(p) for p in train_files],
                                model_setup.graphs_per_step)
    elif mode == 'evaluate':
      _check_model_source(mode, config)
    elif mode == 'predict':
      _required('input', mode)
      _required('output', mode)
      _check_model_source(mode, config)
    elif mode in ('generate', 'sweep'):
      _required('workdir', mode)
      if mode == 'generate' and FLAGS.shard:
        from botan_jax import cluster
        cluster.parse_shard(FLAGS.shard)
    elif mode == 'convert':
      _required('input', mode)
      _required('output', mode)
      _times(_required('times', mode))
      if FLAGS.config_id is None:
        _required('config_id', mode)
      if not FLAGS['temperature'].present or len(_temperatures()) != 1:
        raise app.UsageError('--mode=convert needs --temperature: the one temperature of the '
                             'ensemble, e.g. --temperature=0.64.')
      if FLAGS.dt is not None and FLAGS.dt <= 0:
        raise app.UsageError(f'--dt={FLAGS.dt}: the time step must be > 0.')
    elif mode == 'figures':
      from botan_jax.analysis import figures
      if _required('figure', mode) not in figures.FIGURES:
        raise app.UsageError(f'--figure={FLAGS.figure}: not one of {", ".join(figures.FIGURES)}.')
      _required('output', mode)
      _slab(FLAGS.slab)
    elif mode == 'download':
      _required('dataset', mode)
      _temperatures()
    elif mode == 'benchmark':
      _required('output', mode)
      if len(_temperatures()) != 1:
        raise app.UsageError('--mode=benchmark scores one temperature; give one --temperature.')


def _check_model_source(mode: str, config: ml_collections.ConfigDict) -> None:
  """The weights exist: predict's --config.init_from if set, else the checkpoint of --workdir."""
  from botan_jax import checkpoints  # pylint: disable=g-import-not-at-top
  if mode == 'predict' and config.init_from:
    checkpoints.check_init_source(config.init_from)
  elif mode == 'predict' and not FLAGS.workdir:
    raise app.UsageError('--mode=predict needs --workdir (a training run) or --config.init_from '
                         '(e.g. pyg:PATH for the authors\' weights).')
  else:
    checkpoints.find_checkpoint(_required('workdir', mode))


def _run(mode: str, config: ml_collections.ConfigDict) -> None:
  """Does the work of `mode` (its checks passed)."""
  # pylint: disable=g-import-not-at-top
  if mode == 'train':
    from botan_jax import train
    train.train_and_evaluate(config, FLAGS.workdir)
  elif mode == 'evaluate':
    from botan_jax import inference
    inference.evaluate(config, FLAGS.workdir, _overridden())
  elif mode == 'predict':
    from botan_jax import inference
    inference.predict(config, FLAGS.workdir, FLAGS.input, FLAGS.output, _overridden(),
                      read_options=_read_options(), write_extxyz=FLAGS.write_extxyz)
  elif mode == 'generate':
    from botan_jax import cluster
    from botan_jax.md import generate
    shard = cluster.parse_shard(FLAGS.shard or ('processes' if FLAGS.distributed else None))
    generate.generate(config, FLAGS.workdir, shard)
  elif mode == 'sweep':
    _run_sweep(config)
  elif mode == 'figures':
    from botan_jax.analysis import figures
    written = figures.make_figure(FLAGS.figure, FLAGS.output, runs=FLAGS.runs,
                                  inputs=_list(FLAGS.input), data=FLAGS.data,
                                  labels=FLAGS.labels or (), slab=_slab(FLAGS.slab))
    logging.info('Wrote %s.', ', '.join(written))
  elif mode == 'convert':
    from botan_jax import convert
    from botan_jax import system
    convert.convert(FLAGS.input, FLAGS.output, _times(FLAGS.times), _temperatures()[0],
                    FLAGS.config_id, FLAGS.dt or system.TIME_STEP, FLAGS.format, FLAGS.type_map,
                    FLAGS.strict)
  elif mode == 'demo':
    from botan_jax import demo
    demo.run_demo(config, _written_to(mode, config))
  elif mode == 'download':
    from botan_jax import datasets
    result = datasets.download(
        FLAGS.dataset, _written_to(mode, config), url=FLAGS.url, temperatures=_temperatures(),
        time_indices=[int(k) for k in FLAGS.time_index], splits=FLAGS.split, ids=FLAGS.ids,
        max_configs=FLAGS.max_configs, members=FLAGS.members, keep_archive=FLAGS.keep_archive,
        stream=FLAGS.stream)
    logging.info('Download done: %d files in %s.', len(result['files']), _written_to(mode, config))
  elif mode == 'benchmark':
    from botan_jax import layout
    from botan_jax.analysis import benchmark
    temperature, = _temperatures()
    data = FLAGS.data or layout.glassbench_split_dir(layout.DEFAULT_DATA_DIR, temperature, 'test')
    written = benchmark.benchmark(data, FLAGS.output, runs=FLAGS.runs, temperature=temperature)
    logging.info('Wrote %s.', ', '.join(written))


def _run_sweep(config: ml_collections.ConfigDict) -> None:
  """--mode=sweep: all runs, one task (--task), the task list or the collect step."""
  # pylint: disable=g-import-not-at-top
  from botan_jax import cluster
  from botan_jax import sweeps
  chosen = [name for name in ('task', 'collect', 'list_tasks') if FLAGS[name].present]
  if len(chosen) > 1:
    raise app.UsageError(f'--{" and --".join(chosen)}: give one of them.')
  if FLAGS.list_tasks:
    lines = sweeps.task_list(config, FLAGS.workdir)
    print('\n'.join(lines + [f'{len(lines)} tasks: 0..{len(lines) - 1}']))
  elif FLAGS.collect:
    missing = sweeps.collect_tasks(config, FLAGS.workdir, _rerun_command)
    for line in missing:
      logging.warning('%s', line)
    logging.info('Sweep %s: tables written; %d tasks unfinished.', FLAGS.workdir, len(missing))
    if missing:
      raise errors.PartialFailure(f'{len(missing)} of {len(sweeps.plan(config))} sweep tasks are '
                                  'unfinished (listed above with their commands).')
  else:
    task = (None if FLAGS.task is None
            else cluster.parse_task(FLAGS.task, len(sweeps.plan(config))))
    sweeps.run_sweep(config, FLAGS.workdir, task)


def _rerun_command(task: int) -> str:
  """This command line with --collect replaced by --task=TASK."""
  program = os.path.basename(sys.argv[0])
  prefix = ['python', sys.argv[0]] if program.endswith('.py') else ['botan-jax']
  kept = [arg for arg in sys.argv[1:]
          if not arg.startswith(('--collect', '--nocollect', '--task', '--list_tasks'))]
  return shlex.join(prefix + kept + [f'--task={task}'])


def _overridden() -> tuple[str, ...]:
  """The config fields set explicitly on the command line (--config.FIELD=VALUE)."""
  return tuple(config_flags.get_override_values(FLAGS['config']))


def _read_options() -> Any:
  """`io.ReadOptions` of --format, --type_map, --frame and --strict."""
  from botan_jax import io  # pylint: disable=g-import-not-at-top
  return io.ReadOptions(format=FLAGS.format, type_map=FLAGS.type_map, frame=FLAGS.frame,
                        strict=FLAGS.strict)


def _times(values: list[str]) -> list[float]:
  """--times as numbers > 0."""
  try:
    times = [float(value) for value in values]
  except ValueError:
    raise app.UsageError(f'--times takes numbers, e.g. 0.1,0.52; got {",".join(values)}.'
                         ) from None
  if min(times) <= 0:
    raise app.UsageError(f'--times={",".join(values)}: times must be > 0 (t=0 is the '
                         'configuration itself).')
  return times


def _list(value: str | None) -> list[str]:
  """The comma-separated entries of a flag's value ([] when unset)."""
  return [entry for entry in (value or '').split(',') if entry]


def _temperatures() -> list[float]:
  """--temperature as numbers."""
  try:
    return [float(value) for value in FLAGS.temperature]
  except ValueError:
    raise app.UsageError(f'--temperature takes numbers, e.g. 0.44,0.50, got '
                         f'{",".join(FLAGS.temperature)}.') from None


def _slab(values: list[str] | None) -> tuple[float, float] | None:
  """--slab as (low, high), None when not given."""
  if values is None:
    return None
  try:
    low, high = map(float, values)
  except ValueError:
    raise app.UsageError(f'--slab takes LOW,HIGH (two numbers), got {",".join(values)}.') from None
  return low, high


def _required(name: str, mode: str) -> str:
  """The value of flag `name`; a usage error naming it and what it is for when it is empty."""
  value = FLAGS[name].value
  if not value:
    raise app.UsageError(f'--{name} is required in --mode={mode}; --{name}: {FLAGS[name].help}')
  return value


def _written_to(mode: str, config: ml_collections.ConfigDict) -> str | None:
  """Where `mode` writes: --output for predict and figures, else --workdir (the demo's default)."""
  if mode in ('predict', 'figures', 'convert', 'benchmark'):
    return FLAGS.output
  if mode == 'demo':
    return FLAGS.workdir or config.default_workdir
  if mode == 'download':
    from botan_jax import layout  # pylint: disable=g-import-not-at-top
    return FLAGS.workdir or layout.DEFAULT_DATA_DIR
  return FLAGS.workdir


# What is kept when a mode is interrupted, and what the same command then does.
RESUMES = {
    'evaluate': 'nothing was written; the same command starts it again',
    'predict': 'the predictions written are complete; the same command skips them and '
               'predicts the rest',
    'generate': 'complete files and the configurations\' MD checkpoints are kept; the same '
                'command resumes from them',
    'sweep': 'finished runs are kept; the same command resumes the interrupted run from its '
             'latest checkpoint',
    'figures': 'nothing was written; the same command starts it again',
    'convert': 'the files written are complete; the same command writes them all again',
    'demo': 'finished stages are kept; the same command resumes',
    'download': 'the bytes and files complete are kept; the same command fetches only the rest',
    'benchmark': 'nothing was written; the same command starts it again',
}


def interrupted_message(mode: str, destination: str | None) -> str:
  """One line: where an interrupted mode stopped and that the same command resumes it.

  Args:
    destination: where the mode writes (`_written_to`); for train, the workdir.
  """
  where = f'--mode={mode}' + (f' writing to {destination}' if destination else '')
  if mode != 'train':
    return f'interrupted: {where}; {RESUMES[mode]}.'
  step = latest_checkpoint_step(destination)
  if step is None:
    return (f'interrupted: {where} before its first checkpoint; the same command starts the '
            'run again.')
  return (f'interrupted: {where}; its latest checkpoint is step {step}; the same command '
          'resumes from there.')


def latest_checkpoint_step(workdir: str | None) -> int | None:
  """The newest complete step in {workdir}/checkpoints/latest (Orbax renames a step's
  temporary directory to its number when complete), or None."""
  from botan_jax import checkpoints  # pylint: disable=g-import-not-at-top
  directory = os.path.join(workdir or '', 'checkpoints', checkpoints.LATEST)
  steps = [int(name) for name in (os.listdir(directory) if os.path.isdir(directory) else ())
           if name.isdigit()]
  return max(steps, default=None)


def _say(message: str) -> None:
  """Writes `PROG: message` as one line to stderr."""
  line = ' '.join(message.split())
  sys.stderr.write(f'{os.path.basename(sys.argv[0])}: {line}\n')
  sys.stderr.flush()


def _exit_at_once(status: int) -> None:
  """Ends the process now, without the interpreter's shutdown.

  After Ctrl-C, a background thread may still be writing (Orbax saves a
  checkpoint's metadata in one), and the shutdown would break it with a
  traceback. Nothing is lost by skipping it: every file is written atomically
  or appended one record at a time, and Orbax removes an unfinished
  checkpoint's temporary directory at the next save.
  """
  logging.flush()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


class _CtrlC:
  """SIGINT raises KeyboardInterrupt, and keeps raising it until the process reports it.

  Python drops an exception raised while a garbage-collection callback runs
  ("Exception ignored in: <function _xla_gc_callback ...>"), and JAX's runs
  at every collection: a single Ctrl-C then vanished and training went on.
  After the first Ctrl-C the signal is sent again every second until
  `reporting()` is called, after which further ones are ignored, so the
  one-line report is not itself interrupted.
  """
  repeat_s = 1.0

  def __init__(self):
    self.received = False
    self.reported = False

  def install(self) -> None:
    signal.signal(signal.SIGINT, self._handle)
    default_hook = sys.unraisablehook

    def hook(unraisable):  # A dropped Ctrl-C: silent, it is sent again.
      if not issubclass(unraisable.exc_type, KeyboardInterrupt):
        default_hook(unraisable)

    sys.unraisablehook = hook

  def reporting(self) -> None:
    self.reported = True

  def _handle(self, signum, frame) -> None:
    del signum, frame
    if self.reported:
      return
    if not self.received:
      self.received = True
      threading.Thread(target=self._repeat, daemon=True).start()
    raise KeyboardInterrupt

  def _repeat(self) -> None:
    while not self.reported:
      time.sleep(self.repeat_s)
      if not self.reported:
        os.kill(os.getpid(), signal.SIGINT)


_CTRL_C = _CtrlC()


def _main_reporting(argv: list[str]) -> int:
  """`main`, with user errors, partial failures and Ctrl-C reported as one line."""
  _CTRL_C.install()
  try:
    main(argv)
  except KeyboardInterrupt:
    _CTRL_C.reporting()
    mode = _mode(FLAGS.config)
    _say(interrupted_message(mode, _written_to(mode, FLAGS.config)))
    _exit_at_once(EXIT_INTERRUPTED)
  except (errors.UserError, app.UsageError) as error:
    _say(f'error: {error}')
    return EXIT_USER_ERROR
  except errors.PartialFailure as error:
    _say(f'error: {error}')
    return EXIT_PARTIAL
  except Exception as error:  # pylint: disable=broad-except
    if not (FLAGS.is_parsed() and FLAGS.distributed and _lost_a_process(error)):
      raise
    _say(f'error: process {_process_id()}: {_first_line(error)}: another process of this '
         'distributed run stopped, so this one stops too. Rerun the same command on every '
         'process to resume from the last checkpoint.')
    # Skips JAX's shutdown barrier, which would wait for the lost process until its heartbeat
    # times out and then abort the interpreter.
    _exit_at_once(EXIT_PARTIAL)
  return 0


def _lost_a_process(error: BaseException) -> bool:
  """Whether `error` is a collective or the coordination service failing for want of a peer."""
  text = str(error)
  return any(mark in text for mark in ('Gloo', 'NCCL', 'heartbeat', 'coordination service',
                                       'Connection reset', 'UNAVAILABLE'))


def _first_line(error: BaseException) -> str:
  return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def _process_id() -> int:
  import jax  # pylint: disable=g-import-not-at-top
  return jax.process_index()


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with a mistake on the command line reported as one line (exit 2).

  Catches what the config flag raises for a wrong config file, preset, field
  or value; any other exception (e.g. a bug inside a config file) keeps its
  traceback.
  """
  try:
    remaining = FLAGS(argv)
    getattr(FLAGS.config, 'mode', None)  # A config file that failed to load raises here.
    return remaining
  except flags.Error as error:
    message = _flag_error_message(error, argv)
  except (AttributeError, KeyError) as error:
    message = _missing_field_message(error, argv)
    if message is None:
      raise
  except OSError:
    message = _config_file_message(argv)
    if message is None:
      raise
  _say(f'error: {message}')
  sys.exit(EXIT_USER_ERROR)


def _config_arg(argv: list[str]) -> str | None:
  """The value of --config on the command line, None when absent."""
  for arg in argv:
    for prefix in ('--config=', '-config='):
      if arg.startswith(prefix):
        return arg[len(prefix):]
  return None


def _overrides(argv: list[str]) -> list[str]:
  """The `--config.FIELD=VALUE` arguments."""
  return [arg for arg in argv if arg.lstrip('-').startswith('config.')]


def _root_cause(error: BaseException) -> BaseException:
  while (cause := error.__cause__ or error.__context__) is not None:
    error = cause
  return error


def _flag_error_message(error: flags.Error, argv: list[str]) -> str:
  """One line for an absl flag error; a config file's own error (e.g. an unknown preset) as is."""
  text = str(error)
  if '\n' in text:  # ml_collections puts the config file's traceback into the message.
    return f'--config={_config_arg(argv)}: {_root_cause(error)}'
  if text.startswith('flag --config.'):
    return f'{text}; give a value of the type of that field in the config file.'
  return f'{text} (--helpfull lists the flags.)'


def _missing_field_message(error: Exception, argv: list[str]) -> str | None:
  """One line for an override of a field the config lacks, or None if `error` is not that.

  ml_collections raises KeyError("'name'\\nDid you mean ...?"), sometimes
  inside an AttributeError; it is an override's mistake only if `name` is a
  part of a --config.FIELD on the command line.
  """
  while error.args and isinstance(error.args[0], Exception):
    error = error.args[0]
  text = str(error.args[0]) if error.args else ''
  name, _, hint = text.partition('\n')
  name = name.strip('\'"')
  for override in _overrides(argv):
    if name in override.split('=', 1)[0].lstrip('-').split('.')[1:]:
      return (f'{override}: the config of --config={_config_arg(argv)} has no field {name!r}. '
              + (hint or 'See the config file for its fields.'))
  return None


def _config_file_message(argv: list[str]) -> str | None:
  """One line for a --config naming neither a preset module nor a file, or None if it names one."""
  value = _config_arg(argv)
  if value is None:
    return None
  path = config_path(value).split(':', 1)[0]
  if os.path.isfile(path):
    return None
  stem = os.path.splitext(os.path.basename(path))[0]
  nearest = difflib.get_close_matches(stem, presets.NAMES, n=1)
  hint = f' Did you mean {nearest[0]}?' if nearest else ''
  bare = os.sep not in path and not path.endswith('.py')
  what = f'no preset module {path!r} and no config file {path}' if bare else f'no config file {path}'
  return (f'--config={value}: {what} (paths are relative to {os.getcwd()}).{hint} The preset '
          f'modules are {", ".join(presets.NAMES)}, e.g. --config=botan:T044_t130; any other '
          'value is a config file\'s path.')


def run(argv: list[str] | None = None) -> None:
  """The command line's entry point (main.py, and the `botan-jax` command); exits with a status
  of the module docstring."""
  # absl's --help prints __main__'s docstring and --helpshort the key flags of sys.argv[0].
  sys.modules['__main__'].__doc__ = __doc__
  for flag in FLAGS.get_key_flags_for_module(__name__):
    FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  app.run(_main_reporting, argv=argv, flags_parser=parse_flags)

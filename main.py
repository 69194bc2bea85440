"""botan-jax command line: one call per mode.

  python main.py                                    # the demo: generate, train, evaluate, figures
  python main.py --config=configs/botan.py:T044_t130 --workdir=runs/T044_t130        # train
  python main.py --mode=evaluate --config=configs/botan.py:T044_t130 --workdir=runs/T044_t130
  python main.py --mode=predict --config=configs/botan.py:T044_t4120 \
      --config.init_from=pyg:model1.npz --input='data/T0.44/test/*.npz' --output=preds/
  python main.py --config=configs/generate.py:T064 --workdir=data      # generate a dataset
  python main.py --config=configs/sweep.py:T044 --workdir=runs/sweep_T044
  python main.py --mode=figures --figure=pearson --runs=runs/sweep_T044 --output=figures/fig5
  python main.py --mode=figures --figure=scatter --input=preds/ --output=figures/scatter

Without --mode, the config's own `mode` field decides (train for configs/botan.py).
"""

import os

import jax
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from botan_jax import demo
from botan_jax import inference
from botan_jax import train
from botan_jax.analysis import figures
from botan_jax.analysis import sweeps
from botan_jax.md import generate

MODES = ('train', 'evaluate', 'predict', 'generate', 'sweep', 'figures', 'demo')
TRAINING_MODES = ('train', 'evaluate', 'predict')  # They take a configs/botan.py config.
EXIT_PARTIAL_FAILURE = 1  # predict: some inputs could not be read (the rest were written).

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs', 'demo.py'),
    'Configuration file (and preset after ":"); default: the demo.', lock_config=True)
flags.DEFINE_enum('mode', None, MODES, 'What to run; default: the config\'s `mode`, else train.')
flags.DEFINE_string('workdir', None, 'Run directory: checkpoints, metrics, evaluation '
                    '(generate: the dataset root; sweep: the directory of all its runs).')
flags.DEFINE_string('input', None, 'predict: a file, directory or glob of configurations; '
                    'figures: predict outputs, comma-separated: one per model of one '
                    'configuration (maps), files, directories or globs (scatter), a file or '
                    'directory (pdf_e).')
flags.DEFINE_string('output', None, 'predict: a file ending in .npz (one input), else a directory; '
                    'figures: the figure path, written as .png and .pdf.')
flags.DEFINE_enum('figure', None, list(figures.FIGURES), 'figures: which figure.')
flags.DEFINE_list('runs', [], 'figures: sweep directories (pearson, ablation) or run '
                  'directories (loss).')
flags.DEFINE_string('data', None, 'figures: dataset files, a directory or glob (pdf_e, fs), '
                    'or the configuration of --input (maps).')
flags.DEFINE_list('slab', None, 'figures: z range of the cross-section maps in sigma_AA, as '
                  'LOW,HIGH; default: 0.8 thick at the middle of the box.')
flags.DEFINE_list('labels', None, 'figures: the models\' names, one per --input (maps), e.g. '
                  'BOTAN,NT-GNN.')
flags.DEFINE_bool('distributed', False, 'Call jax.distributed.initialize() first (multi-host).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}: quote globs '
                         '(--input="dir/*.npz") and write flags as --flag=value.')
  config = FLAGS.config
  mode = FLAGS.mode or config.get('mode', 'train')
  if mode not in MODES:
    raise app.UsageError(f'mode {mode!r} (from the config) is not one of {", ".join(MODES)}.')
  if mode in TRAINING_MODES and config.get('mode', 'train') != 'train':
    raise app.UsageError(f'--mode={mode} needs a training config such as '
                         f'--config=configs/botan.py:T044_t130; the given one is for '
                         f'mode {config.mode}.')
  if FLAGS.distributed:
    jax.distributed.initialize()
  logging.info('Mode %s, devices %s.', mode, jax.devices())
  if mode == 'train':
    train.train_and_evaluate(config, _required('workdir', mode))
  elif mode == 'evaluate':
    inference.evaluate(config, _required('workdir', mode), _overridden())
  elif mode == 'predict':
    try:
      inference.predict(config, FLAGS.workdir, _required('input', mode),
                        _required('output', mode), _overridden())
    except inference.PartialFailure as failure:
      logging.error('%s', failure)
      return EXIT_PARTIAL_FAILURE
  elif mode == 'generate':
    generate.generate(config, _required('workdir', mode))
  elif mode == 'sweep':
    sweeps.run_sweep(config, _required('workdir', mode))
  elif mode == 'figures':
    written = figures.make_figure(_required('figure', mode), _required('output', mode),
                                  runs=FLAGS.runs, inputs=_list(FLAGS.input), data=FLAGS.data,
                                  labels=FLAGS.labels or (), slab=_slab(FLAGS.slab))
    logging.info('Wrote %s.', ', '.join(written))
  elif mode == 'demo':
    demo.run_demo(config, FLAGS.workdir or config.default_workdir)


def _overridden() -> tuple[str, ...]:
  """The config fields set explicitly on the command line (--config.FIELD=VALUE)."""
  return tuple(config_flags.get_override_values(FLAGS['config']))


def _list(value: str | None) -> list[str]:
  """The comma-separated entries of a flag's value ([] when unset)."""
  return [entry for entry in (value or '').split(',') if entry]


def _slab(values: list[str] | None) -> tuple[float, float] | None:
  if not values:
    return None
  try:
    low, high = map(float, values)
  except ValueError:
    raise app.UsageError(f'--slab takes LOW,HIGH (two numbers), got {",".join(values)}.') from None
  return low, high


def _required(name: str, mode: str) -> str:
  value = FLAGS[name].value
  if not value:
    raise app.UsageError(f'--{name} is required in --mode={mode}.')
  return value


if __name__ == '__main__':
  app.run(main)

"""botan-jax command line: train, evaluate, predict, sweep, figures and generate.

  python main.py --config=configs/botan.py:T044_t130 --workdir=runs/T044_t130
  python main.py --mode=evaluate --config=configs/botan.py:T044_t130 --workdir=runs/T044_t130
  python main.py --mode=predict --config=configs/botan.py:T044_t4120 \
      --config.init_from=pyg:model1.npz --input='data/T0.44/test/*.npz' --output=preds/
  python main.py --mode=sweep --config=configs/sweep.py:T044 --workdir=runs/sweep_T044
  python main.py --mode=figures --figure=pearson --runs=runs/sweep_T044 --output=figures/fig5
"""

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from botan_jax import inference
from botan_jax import train
from botan_jax.analysis import figures
from botan_jax.analysis import sweeps

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Configuration file (and preset after ":").',
                                lock_config=True)
flags.DEFINE_enum('mode', 'train', ['train', 'evaluate', 'predict', 'sweep', 'figures'],
                  'What to run.')
flags.DEFINE_string('workdir', None, 'Run directory: checkpoints, metrics, evaluation '
                    '(sweep: the directory of all its runs and tables).')
flags.DEFINE_string('input', None, 'predict: a file, directory or glob of configurations; '
                    'figures: a predict output (maps), or a file or directory of them (pdf_e).')
flags.DEFINE_string('output', None, 'predict: an npz file (one input) or a directory; '
                    'figures: the figure path, written as .png and .pdf.')
flags.DEFINE_enum('figure', None, list(figures.FIGURES), 'figures: which figure.')
flags.DEFINE_list('runs', [], 'figures: sweep directories (pearson, ablation) or run '
                  'directories (loss).')
flags.DEFINE_string('data', None, 'figures: dataset files, a directory or glob (pdf_e, fs), '
                    'or the configuration of --input (maps).')
flags.DEFINE_list('slab', [str(z) for z in figures.DEFAULT_SLAB],
                  'figures: z range of the cross-section maps, as LOW,HIGH.')
flags.register_multi_flags_validator(
    ['config', 'mode'], lambda f: f['config'] is not None or f['mode'] == 'figures',
    message='--config is required (in every mode but figures).')


def main(argv):
  del argv
  config = FLAGS.config
  logging.info('Mode %s, devices %s.', FLAGS.mode, __import__('jax').devices())
  if FLAGS.mode == 'train':
    train.train_and_evaluate(config, _required('workdir'))
  elif FLAGS.mode == 'evaluate':
    inference.evaluate(config, _required('workdir'))
  elif FLAGS.mode == 'predict':
    inference.predict(config, FLAGS.workdir, _required('input'), _required('output'))
  elif FLAGS.mode == 'sweep':
    sweeps.run_sweep(config, _required('workdir'))
  elif FLAGS.mode == 'figures':
    low, high = map(float, FLAGS.slab)
    written = figures.make_figure(_required('figure'), _required('output'), runs=FLAGS.runs,
                                  input_path=FLAGS.input, data=FLAGS.data, slab=(low, high))
    logging.info('Wrote %s.', ', '.join(written))


def _required(name: str) -> str:
  value = FLAGS[name].value
  if not value:
    raise app.UsageError(f'--{name} is required in --mode={FLAGS.mode}.')
  return value


if __name__ == '__main__':
  app.run(main)

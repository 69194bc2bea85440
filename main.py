"""botan-jax command line: train, evaluate, predict and generate.

  python main.py --config=configs/botan.py:T044_t130 --workdir=runs/T044_t130
  python main.py --mode=evaluate --config=configs/botan.py:T044_t130 --workdir=runs/T044_t130
  python main.py --mode=predict --config=configs/botan.py:T044_t4120 \
      --config.init_from=pyg:model1.npz --input='data/T0.44/test/*.npz' --output=preds/
"""

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from botan_jax import inference
from botan_jax import train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Configuration file (and preset after ":").',
                                lock_config=True)
flags.DEFINE_enum('mode', 'train', ['train', 'evaluate', 'predict'], 'What to run.')
flags.DEFINE_string('workdir', None, 'Run directory: checkpoints, metrics, evaluation.')
flags.DEFINE_string('input', None, 'predict: a file, directory or glob of configurations.')
flags.DEFINE_string('output', None, 'predict: an npz file (one input) or a directory.')
flags.mark_flags_as_required(['config'])


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


def _required(name: str) -> str:
  value = FLAGS[name].value
  if not value:
    raise app.UsageError(f'--{name} is required in --mode={FLAGS.mode}.')
  return value


if __name__ == '__main__':
  app.run(main)

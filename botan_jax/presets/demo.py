"""The embedded default: `python main.py` (or `--config=demo`).

Generates a small isoconfigurational dataset with the jax-md generator
(N = 256 at T = 0.64; 8 training and 2 test configurations, 8 runs each,
recorded at t = 0.52, Table I index 4), trains BOTAN on it from scratch,
evaluates the best checkpoint and draws the loss curves and a cross-section
map: a few minutes on a 2-core CPU. Everything lands under `--workdir`
(default `runs/demo`).
"""

import ml_collections

from botan_jax.presets import botan
from botan_jax.presets import generate


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.mode = 'demo'
  config.default_workdir = 'runs/demo'

  config.generate = generate.tiny_config()
  config.generate.num_train = 8
  config.generate.num_test = 2
  config.generate.num_replicas = 8
  config.generate.t_hold = 1.0
  config.generate.t_cool = 1.0
  config.generate.time_indices = (4,)
  config.generate.nvt_batch = 10
  config.generate.nve_batch = 10

  config.train = botan.get_config('T064_t0.52')
  config.train.num_epochs = 100
  config.train.eval_every_epochs = 5
  config.train.checkpoint_every_epochs = 20
  config.train.learning_rate = 1e-3
  config.train.data.cache_dir = ''  # The demo's graphs are built in a moment.
  return config

"""The embedded default pipeline (configs/demo.py), on a reduced budget."""

import json
import os

from botan_jax import demo
from botan_jax.presets import demo as demo_config


def test_demo_generates_trains_evaluates_and_draws(tmp_path):
  config = demo_config.get_config()
  config.generate.num_train, config.generate.num_test = 2, 1
  config.generate.num_replicas = 2
  config.train.num_epochs = 2
  config.train.eval_every_epochs = 1
  config.train.model.num_message_passing_steps = 2
  evaluation = demo.run_demo(config, str(tmp_path))
  assert len(os.listdir(tmp_path / 'data' / 'T0.64' / 'train')) == 2
  saved = json.load(open(tmp_path / 'run' / 'evaluation.json'))
  assert saved['pearson_edge'] == evaluation['pearson_edge']
  assert os.listdir(tmp_path / 'run' / 'checkpoints' / 'best')
  for name in ('loss.png', 'maps.png', 'scatter.png'):
    assert os.path.getsize(tmp_path / 'figures' / name) > 10_000
  assert len(os.listdir(tmp_path / 'predictions')) == 1

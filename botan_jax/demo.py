"""The embedded default pipeline: generate -> train -> evaluate -> figures.

`run_demo(config, workdir)` (configs/demo.py) writes
  {workdir}/data/T0.64/{train,test}/*.npz   the generated dataset
  {workdir}/run/                            the training run (checkpoints, metrics, evaluation.json)
  {workdir}/predictions/                    predictions for the test configurations
  {workdir}/figures/loss, maps, scatter     loss curves, a cross-section map, predicted
                                            against actual S and E (.png and .pdf)
Each stage resumes or skips what is complete, so a rerun finishes quickly.
"""

import os
from typing import Any

import ml_collections
from absl import logging

from botan_jax import inference
from botan_jax import io
from botan_jax import layout
from botan_jax import train
from botan_jax.analysis import figures
from botan_jax.md import generate


def run_demo(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Runs the demo of `config` under `workdir`; returns the test evaluation."""
  data_dir = os.path.join(workdir, 'data')
  run_dir = os.path.join(workdir, 'run')
  generate.generate(config.generate, data_dir)

  train_config = config.train.copy_and_resolve_references()
  pattern = lambda split: layout.dataset_pattern(data_dir, config.generate.temperature, split,
                                                 train_config.data.time_index)
  train_config.data.train_pattern, train_config.data.test_pattern = pattern('train'), pattern('test')
  train.train_and_evaluate(train_config, run_dir)
  evaluation = inference.evaluate(train_config, run_dir)

  predictions = inference.predict(train_config, run_dir, train_config.data.test_pattern,
                                  os.path.join(workdir, 'predictions'))
  first_test = io.find_files(train_config.data.test_pattern)[0]
  figure_dir = os.path.join(workdir, 'figures')
  written = figures.make_figure('loss', os.path.join(figure_dir, 'loss'), runs=[run_dir])
  written += figures.make_figure('maps', os.path.join(figure_dir, 'maps'),
                                 inputs=predictions[:1], data=first_test, labels=['BOTAN'])
  written += figures.make_figure('scatter', os.path.join(figure_dir, 'scatter'),
                                 inputs=predictions)
  logging.info('Demo done: test Pearson S %.3f, E %.3f; figures %s.',
               evaluation['pearson_node'], evaluation['pearson_edge'], ', '.join(written))
  return evaluation

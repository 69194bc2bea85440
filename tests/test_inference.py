"""evaluate and predict take the run's own settings; damaged inputs; undefined Pearson values."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import ml_collections
import numpy as np
import pytest
from absl import logging as absl_logging

from botan_jax import checkpoints
from botan_jax import inference
from botan_jax import io
from botan_jax import metrics
from botan_jax import run_settings
from botan_jax import train
from botan_jax.presets import botan
from tests import conftest
from tests import synthetic
from tests.test_train import ROOT, small_config


@pytest.fixture(scope='module')
def odd_run(tmp_path_factory):
  """A run whose settings differ from the preset's: one message-passing step, latent 16,
  node target R; trained two epochs on its test files (so that it improves)."""
  base = tmp_path_factory.mktemp('odd')
  config = small_config(base, num_train=2, num_epochs=3, learning_rate=1e-2)
  config.data.test_pattern = config.data.train_pattern
  config.model.num_message_passing_steps = 1
  config.node_target = 'R'
  run = str(base / 'run')
  train.train_and_evaluate(config, run)
  return run


@pytest.fixture
def info_log(caplog):
  """caplog with absl's INFO lines (absl's verbosity, which checkpoints._quiet restores, rules)."""
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.INFO)
  yield caplog
  absl_logging.set_verbosity(verbosity)


def plain_preset(run: str) -> ml_collections.ConfigDict:
  """The preset the run was made from, as typed without overrides (the cache aside)."""
  config = botan.get_config('T044_t4120')
  config.data.cache_dir = os.path.join(os.path.dirname(run), 'cache')
  return config


def stored_best(run: str) -> tuple[int, dict]:
  best = checkpoints.manager(run, checkpoints.BEST)
  _, meta = checkpoints.restore(best)
  return best.latest_step(), meta


def assert_same_evaluation(evaluation: dict, stored: dict) -> None:
  assert evaluation['per_file'].keys() == stored['per_file'].keys()
  for path, values in stored['per_file'].items():
    assert evaluation['per_file'][path] == pytest.approx(values, abs=1e-6), path
  for key in ('pearson_node', 'pearson_edge'):
    assert evaluation[key] == pytest.approx(stored[key], abs=1e-6)


def test_evaluate_takes_the_model_and_target_from_the_run(odd_run, info_log):
  evaluation = inference.evaluate(plain_preset(odd_run), odd_run)
  step, meta = stored_best(odd_run)
  assert_same_evaluation(evaluation, meta['evaluation'])
  assert evaluation['checkpoint'] == dict(kind='best', step=step, epoch=meta['epoch'],
                                          directory=os.path.join(odd_run, 'checkpoints', 'best'))
  test_files = sorted(glob.glob(os.path.join(os.path.dirname(odd_run), 'train', '*.npz')))
  assert evaluation['test_files'] == test_files  # The run's own test pattern.
  settings = evaluation['settings']
  assert (settings['node_target'], settings['model']['num_message_passing_steps'],
          settings['model']['latent_size']) == ('R', 1, 16)
  assert json.load(open(os.path.join(odd_run, 'evaluation.json'))) == json.loads(
      json.dumps(evaluation))
  assert (f'Evaluated checkpoint best/step {step} (epoch {meta["epoch"]}) of {odd_run} on 2 test '
          'files: Pearson R') in info_log.text
  assert 'model.num_message_passing_steps=1 (config: 7)' in info_log.text
  assert ('is the starting model' in info_log.text) == (step == 0)


@pytest.mark.parametrize('field,value', [('model.num_message_passing_steps', 3),
                                         ('node_target', 'S'), ('loss_p', 1.0),
                                         ('data.edge_cutoff', 1.8)])
def test_explicit_overrides_contradicting_the_run_are_refused(odd_run, field, value):
  config = plain_preset(odd_run)
  parent, _, name = field.rpartition('.')
  (config[parent] if parent else config)[name] = value
  with open(os.path.join(odd_run, 'config.json')) as f:
    run_value = run_settings._get(json.load(f), field)  # pylint: disable=protected-access
  with pytest.raises(ValueError, match=re.escape(
      f'--config.{field}: {field} is {value!r} on the command line, but the run {odd_run}')) as e:
    inference.evaluate(config, odd_run, overridden=(field,))
  assert f'was trained with {field}={run_value!r}; evaluate and predict take it' in str(e.value)


def test_command_line_fields_and_agreeing_overrides_are_accepted(odd_run, tmp_path):
  config = plain_preset(odd_run)
  config.model.dtype, config.model.precision = 'bfloat16', 'default'
  config.model.num_message_passing_steps, config.node_target = 1, 'R'  # As the run.
  config.data.test_pattern = os.path.join(os.path.dirname(odd_run), 'test', '*.npz')
  evaluation = inference.evaluate(config, odd_run, overridden=(
      'model.dtype', 'model.precision', 'model.num_message_passing_steps', 'node_target',
      'data.test_pattern'))
  assert evaluation['settings']['model']['dtype'] == 'bfloat16'
  assert [os.path.basename(p) for p in evaluation['test_files']] == [
      'isoconfig_N160T0.44_401_tc07.npz', 'isoconfig_N160T0.44_402_tc07.npz']
  # predict too reads the run's settings: its values are those of the run's own evaluation.
  _, meta = stored_best(odd_run)
  first = sorted(meta['evaluation']['per_file'])[0]
  written = inference.predict(plain_preset(odd_run), odd_run, first, str(tmp_path / 'out.npz'))
  prediction = np.load(written[0])
  assert {key: float(prediction[key]) for key in ('pearson_node', 'pearson_edge')} == (
      pytest.approx(meta['evaluation']['per_file'][first], abs=1e-6))


def _drop_settings_from_checkpoints(run: str) -> None:
  """Makes `run` look like a run trained before checkpoints stored their settings."""
  for path in glob.glob(os.path.join(run, 'checkpoints', '*', '*', 'meta', 'metadata')):
    with open(path) as f:
      meta = json.load(f)
    del meta['settings']
    with open(path, 'w') as f:
      json.dump(meta, f)


def test_runs_made_before_are_evaluated_with_their_config_json(odd_run, tmp_path):
  old = str(tmp_path / 'old')
  shutil.copytree(odd_run, old)
  _drop_settings_from_checkpoints(old)
  assert 'settings' not in stored_best(old)[1]
  evaluation = inference.evaluate(plain_preset(old), old)
  assert evaluation['settings_from'] == os.path.join(old, 'config.json')
  assert_same_evaluation(evaluation, stored_best(old)[1]['evaluation'])


def test_predict_skips_a_damaged_input_writes_the_rest_and_says_so(odd_run, tmp_path, caplog):
  inputs = tmp_path / 'inputs'
  good = synthetic.write_botan_files(inputs, 2, first_id=500, seed=5)
  damaged = str(inputs / 'isoconfig_N160T0.44_700_tc07.npz')
  shutil.copy(good[0], damaged)
  with open(damaged, 'r+b') as f:
    f.truncate(200)
  with pytest.raises(inference.PartialFailure) as failure:
    inference.predict(plain_preset(odd_run), odd_run, str(inputs), str(tmp_path / 'out'))
  assert list(failure.value.failures) == [damaged]
  assert 'not a readable npz file' in failure.value.failures[damaged]
  assert '1 of 3 inputs could not be predicted' in str(failure.value)
  assert sorted(os.listdir(tmp_path / 'out')) == ['isoconfig_N160T0.44_500_tc07_pred.npz',
                                                  'isoconfig_N160T0.44_501_tc07_pred.npz']
  assert f'Skipped {damaged}: not a readable npz file' in caplog.text
  with pytest.raises(io.DataError, match='_700_tc07.npz: not a readable npz file'):
    inference.predict(plain_preset(odd_run), odd_run, damaged, str(tmp_path / 'alone'))


def run_main(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=600,
                        env=dict(os.environ, PYTHONPATH=ROOT))


def test_main_exits_1_after_a_damaged_input_and_refuses_contradicting_overrides(odd_run,
                                                                                tmp_path):
  inputs = tmp_path / 'inputs'
  synthetic.write_botan_files(inputs, 1, first_id=500, seed=5)
  (inputs / 'isoconfig_N160T0.44_700_tc07.npz').write_bytes(b'not an npz')
  common = ['--mode=predict', '--config=' + os.path.join(ROOT, 'configs', 'botan.py') +
            ':T044_t4120', f'--workdir={odd_run}', f'--input={inputs}', '--config.data.cache_dir=']
  result = run_main(*common, f'--output={tmp_path / "out"}')
  assert result.returncode == 1, result.stderr[-3000:]
  assert '_700_tc07.npz: not a readable npz file' in result.stderr
  assert os.listdir(tmp_path / 'out') == ['isoconfig_N160T0.44_500_tc07_pred.npz']
  result = run_main(*common, f'--output={tmp_path / "refused"}', '--config.node_target=S')
  assert result.returncode != 0
  assert "node_target is 'S' on the command line, but the run" in result.stderr
  assert "was trained with node_target='R'" in result.stderr
  assert not os.path.exists(tmp_path / 'refused')


def test_undefined_pearson_values_say_why_on_deepmind_test_small(tmp_path, caplog):
  pickle_path = conftest.shared_file('data', 'deepmind_glassy', 'test_small.pickle')
  config = botan.get_config('T044_t4120')
  config.init_from = f'pyg:{conftest.model1()}'
  config.data.cache_dir = ''
  written = inference.predict(config, None, pickle_path, str(tmp_path / 'small.npz'))
  prediction = np.load(written[0])
  assert np.isnan(prediction['pearson_node']) and np.isnan(prediction['pearson_edge'])
  assert str(prediction['pearson_edge_undefined']) == '0 evaluated items, fewer than 2'
  assert str(prediction['pearson_node_undefined']) == 'all 20 predictions are equal'
  assert ('Pearson E (A-A pairs with r(0) < 1.35) undefined: 0 evaluated items, fewer than 2'
          in caplog.text)
  assert 'the graph has no edge (no pair within the edge cut-off 2)' in caplog.text


def test_evaluate_says_why_a_pearson_value_is_undefined(odd_run, caplog):
  pickle_path = conftest.shared_file('data', 'deepmind_glassy', 'test_small.pickle')
  config = plain_preset(odd_run)
  config.data.test_pattern = pickle_path
  evaluation = inference.evaluate(config, odd_run, overridden=('data.test_pattern',))
  assert np.isnan(evaluation['pearson_edge'])
  assert evaluation['per_file'][pickle_path]['pearson_edge_undefined'] == (
      '0 evaluated items, fewer than 2')
  assert f'{pickle_path}: Pearson E (A-A pairs with r(0) < 1.35) undefined' in caplog.text


@pytest.mark.parametrize('prediction,target,mask,reason', [
    ([1.0, 2.0], [1.0, 3.0], [True, False], '1 evaluated item, fewer than 2'),
    ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [True] * 3, 'all 3 targets are equal'),
    ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], [True] * 3, 'all 3 predictions are equal'),
    ([np.nan, 2.0, 3.0], [1.0, 2.0, 3.0], [True] * 3, '1 of the 3 predictions are not finite'),
    ([1.0, 2.0, 4.0], [1.0, 2.0, 3.0], [True] * 3, None),
    ([1.0, 2.0, 4.0], [np.nan] * 3, [True] * 3, metrics.NO_TARGETS),
    ([1.0, 2.0, 4.0], [np.nan, 2.0, 3.0], [True] * 3, '1 of the 3 targets are not finite'),
])
def test_pearson_gives_the_reason_it_is_undefined(prediction, target, mask, reason):
  value, why = metrics.pearson_with_reason(np.array(prediction), np.array(target),
                                           np.array(mask))
  assert why == reason
  assert np.isnan(value) == (reason is not None)


def test_the_authors_weights_carry_the_settings_of_the_pretrain_preset():
  pretrain = run_settings.of_config(botan.get_config('pretrain'))
  # Input options are not the weights' to fix: the authors' model takes any structure (its new
  # input columns zero), any pickle time and any GlassBench positions.
  for field in ('pickle_time_index', 'test_pattern', 'structure', 'inherent',
                'glassbench_positions'):
    del pretrain['data'][field]
  assert run_settings.paper_settings() == pretrain


def test_evaluate_warns_when_it_scores_the_starting_model(tmp_path, info_log):
  run = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(tmp_path, num_epochs=0), run)
  evaluation = inference.evaluate(small_config(tmp_path, num_epochs=0), run)
  assert (evaluation['checkpoint']['step'], evaluation['checkpoint']['epoch']) == (0, 0)
  assert 'Checkpoint best/step 0 is the starting model, before any training step' in info_log.text

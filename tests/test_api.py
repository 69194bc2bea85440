"""The Python API (botan_jax/api.py): settings from the run, checked inputs, one compilation."""

import dataclasses
import glob
import logging
import os
import re
import subprocess
import sys

import jax
import numpy as np
import pytest
from absl import logging as absl_logging

import botan_jax
from botan_jax import checkpoints
from botan_jax import errors
from botan_jax import graphs
from botan_jax import io
from botan_jax import train
from tests import conftest
from tests import synthetic
from tests.test_train import ROOT, small_config

# The README's example, until README.md has a section "## Python API" (then its first python
# block is run instead).
EXAMPLE = """\
import botan_jax
model = botan_jax.load_model('pyg:../shared/data/pyg_botan_pretrained/model1.npz')
sample = botan_jax.read('../shared/data/botan_small/T0.44/test/isoconfig_N4096T0.44_401_tc07.npz')
prediction = model.predict(sample.initial_positions, sample.types, sample.box)
print(prediction.edge_index.shape, prediction.edge[:3], model.evaluate(sample).pearson_edge)
"""


def readme_example() -> str:
  """The python block under README.md's "## Python API", else EXAMPLE."""
  with open(os.path.join(ROOT, 'README.md')) as f:
    readme = f.read()
  section = re.search(r'^## Python API\n(.*?)(?=^## |\Z)', readme, re.S | re.M)
  if section is None:
    return EXAMPLE
  block = re.search(r'^```python\n(.*?)^```', section[1], re.S | re.M)
  assert block, 'README.md: "## Python API" has no ```python block.'
  return block[1]


@pytest.fixture(scope='module')
def small_run(tmp_path_factory):
  """A run unlike the preset: latent 16, one message-passing step, node target R."""
  base = tmp_path_factory.mktemp('api')
  config = small_config(base, num_train=2, num_epochs=1)
  config.model.num_message_passing_steps = 1
  config.node_target = 'R'
  run = str(base / 'run')
  train.train_and_evaluate(config, run)
  return run


@pytest.fixture(scope='module')
def small_model(small_run):
  return botan_jax.load_model(small_run)


def first_test_file(run: str) -> str:
  """The first test file of a `small_run`."""
  return sorted(glob.glob(os.path.join(os.path.dirname(run), 'test', '*.npz')))[0]


def test_load_model_carries_the_run_s_architecture_and_node_target(small_run, small_model):
  assert small_model.config.model.num_message_passing_steps == 1
  assert small_model.config.model.latent_size == 16
  assert small_model.node_target == 'R'
  path = first_test_file(small_run)
  sample = botan_jax.read(path)
  prediction = small_model.predict(sample.initial_positions, sample.types, sample.box)
  assert prediction.node_target == 'R'
  assert prediction.node.shape == (sample.num_particles,)
  assert prediction.edge_index.shape == (2, len(prediction.edge))
  # The run's own evaluation of its best checkpoint, during training, is the API's.
  _, meta = checkpoints.restore(checkpoints.manager(small_run, checkpoints.BEST))
  evaluation = small_model.evaluate(sample)
  stored = meta['evaluation']['per_file'][path]
  assert evaluation.pearson_node == pytest.approx(stored['pearson_node'], abs=1e-6)
  assert evaluation.pearson_edge == pytest.approx(stored['pearson_edge'], abs=1e-6)
  # A checkpoint directory of the run reads as the run.
  again = botan_jax.load_model(os.path.join(small_run, 'checkpoints', 'best'))
  np.testing.assert_array_equal(again.predict_sample(sample).edge, prediction.edge)


def test_predictions_do_not_depend_on_the_periodic_image(small_run, small_model):
  sample = botan_jax.read(first_test_file(small_run))
  inside = small_model.predict(sample.initial_positions, sample.types, sample.box[0])
  shift = np.array([1, -2, 3]) * sample.box
  outside = small_model.predict(sample.initial_positions + shift, sample.types, sample.box)
  np.testing.assert_array_equal(outside.edge_index, inside.edge_index)
  np.testing.assert_allclose(outside.node, inside.node, atol=1e-5)
  np.testing.assert_allclose(outside.edge, inside.edge, atol=1e-5)


def bad_arrays(kind: str) -> dict:
  """predict's arguments for a synthetic configuration of 160 particles, spoilt as `kind` says."""
  sample = synthetic.random_sample()
  positions, types, box = sample.initial_positions.copy(), sample.types.copy(), sample.box
  if kind == 'type 2':
    types[5] = 2
  elif kind == 'NaN positions':
    positions[3] = np.nan
  elif kind == 'positions (N, 2)':
    positions = positions[:, :2]
  elif kind == 'types (N - 1,)':
    types = types[:-1]
  elif kind == 'box (2,)':
    box = box[:2]
  elif kind == 'box too small':
    box = 3.5
  elif kind == 'positions not numbers':
    positions = 'a string'
  return dict(positions=positions, types=types, box=box)


@pytest.mark.parametrize('kind,message', [
    ('type 2', r'particle types must be 0 \(A\) or 1 \(B\); found \[2\]'),
    ('NaN positions', 'initial positions contain 3 NaN/inf values'),
    ('positions (N, 2)', r'initial positions must have shape \(N, 3\) with N >= 2, got \(160, 2\)'),
    ('types (N - 1,)', r'types must have shape \(160,\) to match the positions, got \(159,\)'),
    ('box (2,)', 'box must be 3 positive finite lengths'),
    ('box too small', r'the box \[3.5, 3.5, 3.5\] is too small for the edge cut-off 2.0'),
    ('positions not numbers', 'positions and box must be arrays of numbers'),
])
def test_bad_inputs_raise_a_clear_data_error(small_model, kind, message):
  with pytest.raises(io.DataError, match=f'^model.predict: {message}'):
    small_model.predict(**bad_arrays(kind))


def test_evaluate_needs_trajectories_and_load_model_checks_its_arguments(small_run,
                                                                         small_model, tmp_path):
  sample = botan_jax.read(first_test_file(small_run))
  with pytest.raises(io.DataError, match='no trajectories'):
    small_model.evaluate(dataclasses.replace(sample, trajectory_positions=None))
  with pytest.raises(errors.ConfigError, match="dtype 'float16'"):
    botan_jax.load_model(small_run, dtype='float16')
  with pytest.raises(errors.ConfigError, match="precision 'hihgest'"):
    botan_jax.load_model(small_run, precision='hihgest')
  with pytest.raises(errors.NotFoundError, match='no checkpoint found'):
    botan_jax.load_model(str(tmp_path))
  with pytest.raises(io.DataError, match='unknown format'):
    botan_jax.read(str(tmp_path / 'configuration.cif'))
  with pytest.raises(io.DataError, match='configuration.xyz: no such file'):
    botan_jax.read(str(tmp_path / 'configuration.xyz'))


def test_predict_and_evaluate_write_no_file_and_compile_once(small_run, tmp_path, monkeypatch,
                                                             caplog):
  cwd = tmp_path / 'cwd'
  cwd.mkdir()
  monkeypatch.chdir(cwd)
  model = botan_jax.load_model(small_run, precision='default', eval_bond_cutoff=1.2)
  assert model.config.data.eval_bond_cutoff == 1.2
  sample = botan_jax.read(first_test_file(small_run))
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.INFO)
  caplog.set_level(logging.INFO)
  try:
    with jax.log_compiles(True):
      model.predict(sample.initial_positions, sample.types, sample.box)
      model.predict_sample(sample)
      model.evaluate(sample)  # Its graph has targets and masks, which the network never reads.
  finally:
    absl_logging.set_verbosity(verbosity)
  assert not os.listdir(cwd)
  assert _compilations(caplog) == 1
  assert sum(r.getMessage().startswith('Compiling for budget (256 nodes, ')
             for r in caplog.records) == 1


def test_budgets_are_reused_while_a_graph_fits_without_doubling_the_work():
  first = graphs.choose_budget(4096, 166240, [], headroom=0.05)
  assert first == (4352, 174592)
  assert graphs.choose_budget(4096, 166706, [first]) == first  # Configuration 402.
  assert graphs.choose_budget(4096, 180000, [first]) == (4352, 189184)  # Too many edges.
  assert graphs.choose_budget(500, 20000, [first]) == (768, 21248)  # Too small for it.


def _compilations(caplog) -> int:
  return sum('Compiling jit(predict)' in r.getMessage() for r in caplog.records)


def test_model1_predictions_equal_the_command_line_s_and_the_reference(tmp_path, caplog):
  model_path = conftest.shared_file('data', 'pyg_botan_pretrained', 'model1.npz')
  reference = np.load(conftest.shared_file('reference', 'pyg_botan_401_model1.npz'))
  path_401, path_402 = conftest.test_file(401), conftest.test_file(402)
  model = botan_jax.load_model(f'pyg:{model_path}')
  sample = botan_jax.read(path_401)
  caplog.set_level(logging.WARNING, logger='jax')
  with jax.log_compiles(True):
    ours = model.predict(sample.initial_positions, sample.types, sample.box)
    assert _compilations(caplog) == 1
    other = botan_jax.read(path_402)
    model.predict(other.initial_positions, other.types, other.box)  # 466 edges more.
    assert _compilations(caplog) == 1
  assert ours.node_target == 'S'

  order = np.lexsort(reference['edge_index'][::-1])
  np.testing.assert_array_equal(ours.edge_index, reference['edge_index'][:, order])
  np.testing.assert_allclose(ours.node, reference['node_pred'], atol=1e-4)
  np.testing.assert_allclose(ours.edge, reference['edge_pred'][order], atol=1e-4)

  output = tmp_path / 'cli.npz'
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'main.py'), '--mode=predict',
       f'--config={os.path.join(ROOT, "configs", "botan.py")}:T044_t4120',
       f'--config.init_from=pyg:{model_path}', '--config.data.cache_dir=',
       f'--input={path_401}', f'--output={output}'],
      cwd=tmp_path, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr
  cli = np.load(output)
  np.testing.assert_array_equal(ours.edge_index, cli['edge_index'])
  np.testing.assert_allclose(ours.node, cli['node_pred'], atol=1e-6)
  np.testing.assert_allclose(ours.edge, cli['edge_pred'], atol=1e-6)
  evaluation = model.evaluate(sample)
  assert evaluation.pearson_node == pytest.approx(float(cli['pearson_node']), abs=1e-6)
  assert evaluation.pearson_edge == pytest.approx(float(cli['pearson_edge']), abs=1e-6)


def test_readme_example_runs_verbatim(monkeypatch, capsys):
  conftest.shared_file('data', 'pyg_botan_pretrained', 'model1.npz')
  if not os.path.isdir(os.path.join(ROOT, '..', 'shared', 'data')):
    pytest.skip('the example reads ../shared/data beside the repository, which is absent.')
  monkeypatch.chdir(ROOT)
  exec(compile(readme_example(), 'README.md (Python API)', 'exec'), {})  # pylint: disable=exec-used
  shape, pearson_edge = re.fullmatch(r'\((\d+, \d+)\) \[.*\] (\S+)\n', capsys.readouterr().out,
                                     re.S).groups()
  assert shape == '2, 166240'
  assert float(pearson_edge) == pytest.approx(0.540481834, abs=1e-4)


def test_import_botan_jax_is_light():
  script = ('import sys, botan_jax; assert "jax" not in sys.modules, "jax"; '
            'botan_jax.load_model; assert "jax_md" not in sys.modules, "jax_md"; '
            'from botan_jax import train; assert hasattr(train, "train_and_evaluate"); '
            'print(" ".join(botan_jax.__all__))')
  result = subprocess.run([sys.executable, '-c', script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  assert result.stdout.split() == sorted(['Evaluation', 'Model', 'Prediction', 'Sample',
                                          'benchmark', 'download', 'generate', 'load_model',
                                          'read', 'train_and_evaluate'])

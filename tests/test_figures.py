"""Every figure command writes a PNG and a PDF, from the shared data or tiny runs made here.

The runs are tiny sweeps through `main.py --mode=sweep` (BOTAN, NT-GNN and a
loss-weight ablation on synthetic files); the subprocesses share a persistent
XLA compilation cache so that each compiles little.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import collections as mcollections
from matplotlib import pyplot as plt

from botan_jax import io
from botan_jax import system
from botan_jax.analysis import figures
from botan_jax.analysis import sweeps
from tests import conftest
from tests import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  """Subprocess environment with a persistent compilation cache shared by this module."""
  cache = tmp_path_factory.mktemp('xla_cache')
  return dict(os.environ, PYTHONPATH=ROOT, JAX_COMPILATION_CACHE_DIR=str(cache),
              JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0',
              JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES='-1')


def run_main(env, *args):
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def draw(env, directory, name, *args):
  """Runs `--mode=figures --figure=name` into `directory` and checks the PNG and PDF it writes."""
  output = directory / name
  run_main(env, '--mode=figures', f'--figure={name}', f'--output={output}', *args)
  png, pdf = output.with_suffix('.png'), output.with_suffix('.pdf')
  assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 10_000
  assert pdf.read_bytes()[:5] == b'%PDF-'
  return png


@pytest.fixture(scope='module')
def sweeps_dir(tmp_path_factory, env):
  """BOTAN and NT-GNN sweeps over two time points and a p ablation (0.4, 1): one seed, 2 epochs."""
  root = tmp_path_factory.mktemp('sweeps')
  synthetic.write_dataset(root / 'data')
  pattern = str(root / 'data' / 'T{temperature:.2f}' / '{split}' /
                'isoconfig_N*T{temperature:.2f}_*_tc{time_index:02d}.npz')
  common = ['--config.seeds=1',
            '--config.train.data.train_pattern=' + pattern.replace('{split}', 'train'),
            '--config.train.data.test_pattern=' + pattern.replace('{split}', 'test'),
            f'--config.train.data.cache_dir={root / "cache"}',
            '--config.train.model.latent_size=8', '--config.train.model.num_message_passing_steps=2',
            '--config.train.num_epochs=2', '--config.train.log_every_steps=1',
            '--config.train.eval_every_epochs=1', '--config.train.learning_rate=1e-3']
  times = os.path.join(ROOT, 'configs', 'sweep.py') + ':T044_t130,T044_t4120'
  run_main(env, '--mode=sweep', f'--config={times}', *common, f'--workdir={root / "botan"}')
  run_main(env, '--mode=sweep', f'--config={times}', *common, '--config.train.loss_p=1.0',
           '--config.train.batch_size=1', f'--workdir={root / "ntgnn"}')
  run_main(env, '--mode=sweep', '--config=' + os.path.join(ROOT, 'configs', 'sweep.py') + ':loss_p',
           '--config.ablation_values=(0.4, 1.0)', *common, f'--workdir={root / "ablation"}')
  return root


@pytest.fixture(scope='module')
def prediction(tmp_path_factory, env):
  """The authors' model 1 on shared test configuration 401: (prediction file, data file)."""
  data = conftest.test_file(401)
  output = tmp_path_factory.mktemp('predictions') / '401_pred.npz'
  run_main(env, '--mode=predict',
           '--config=' + os.path.join(ROOT, 'configs', 'botan.py') + ':T044_t4120',
           f'--config.init_from=pyg:{conftest.model1()}', f'--input={data}', f'--output={output}',
           '--config.data.cache_dir=')
  return str(output), data


def test_pearson_against_time_of_botan_and_ntgnn(env, tmp_path, sweeps_dir):
  draw(env, tmp_path, 'pearson', f'--runs={sweeps_dir / "botan"},{sweeps_dir / "ntgnn"}')


def test_ablation(env, tmp_path, sweeps_dir):
  draw(env, tmp_path, 'ablation', f'--runs={sweeps_dir / "ablation"}')
  rows = sweeps.read_results(str(sweeps_dir / 'ablation'))
  assert [(r['ablation'], r['value'], r['loss_p']) for r in rows] == [('loss_p', 0.4, 0.4),
                                                                      ('loss_p', 1.0, 1.0)]


def test_loss_curves(env, tmp_path, sweeps_dir):
  runs = [sweeps_dir / kind / 'T044_t130' / 'seed0' for kind in ('botan', 'ntgnn')]
  draw(env, tmp_path, 'loss', '--runs=' + ','.join(map(str, runs)))


def test_cross_section_maps(env, tmp_path, prediction):
  path, data = prediction
  draw(env, tmp_path, 'maps', f'--input={path}', f'--data={data}')
  with pytest.raises(ValueError, match='No particle lies in the slab'):
    figures.make_figure('maps', str(tmp_path / 'empty'), input_path=path, data=data,
                        slab=(20.0, 21.0))


def test_pdf_of_e_from_data_and_from_a_prediction(env, tmp_path, prediction):
  path, data = prediction
  draw(env, tmp_path, 'pdf_e', f'--data={os.path.dirname(data)}')
  draw(env, tmp_path / 'predicted', 'pdf_e', f'--data={data}', f'--input={path}')


def write_diffusive_data(directory, temperature=0.64, time_indices=(4, 5, 6, 7, 8, 9)):
  """Two configurations whose runs take Gaussian steps with F_s(2 pi, t) = exp(-t / tau_alpha)."""
  times = system.TIME_POINTS[temperature]
  tau = times[system.TAU_ALPHA_INDEX - 1]
  rng = np.random.default_rng(0)
  box = np.full(3, system.box_length(160))
  for config_id in (1, 2):
    initial = rng.uniform(0, box, (160, 3))
    types = (np.arange(160) >= 128).astype(np.int8)
    for index in time_indices:
      sigma = np.sqrt(2.0 * times[index - 1] / tau) / (2 * np.pi)
      io.save_npz(f'{directory}/isoconfig_N160T{temperature:.2f}_{config_id}_tc{index:02d}.npz',
                  types=types, initial_positions=initial,
                  positions=initial + sigma * rng.normal(size=(32, 160, 3)))


def test_relaxation_of_generated_and_shared_data(env, tmp_path):
  write_diffusive_data(tmp_path / 'generated')
  draw(env, tmp_path, 'fs', f'--data={tmp_path / "generated"}')
  draw(env, tmp_path / 'shared', 'fs', f'--data={os.path.dirname(conftest.test_file(401))}')


def test_unknown_figures_and_missing_flags_are_named(tmp_path):
  with pytest.raises(ValueError, match='Unknown figure'):
    figures.make_figure('fig11', str(tmp_path / 'x'))
  with pytest.raises(ValueError, match='--figure=maps needs --input, --data'):
    figures.make_figure('maps', str(tmp_path / 'x'))
  with pytest.raises(FileNotFoundError, match='no sweep results'):
    figures.make_figure('pearson', str(tmp_path / 'x'), runs=[str(tmp_path)])


def test_maps_and_pdf_refuse_predictions_of_other_configurations(prediction, tmp_path):
  path, data = prediction
  other = conftest.test_file(402)
  with pytest.raises(ValueError, match='_401_tc07.npz, not from .*_402_tc07.npz'):
    figures.cross_section_maps(path, other, str(tmp_path / 'maps'))
  with pytest.raises(ValueError, match='is one prediction, but --data matches 2 files'):
    figures.pdf_of_e(os.path.dirname(data), str(tmp_path / 'pdf'), predictions=path)
  with pytest.raises(ValueError, match='no bond shorter than 0.5 .* widen --slab'):
    figures.cross_section_maps(path, data, str(tmp_path / 'maps'), bond_cutoff=0.5)
  assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('times,expected', [
    ((0.2, 0.3, 0.52), ['0.2', '0.5']),                     # Under a decade: 1-2-5, plain.
    ((0.13, 1.3, 5.2), ['0.2', '0.5', '1', '2', '5']),
    ((0.1, 10.0, 1e4), None),                                # Decades: matplotlib's own labels.
])
def test_log_time_axes_label_short_spans_without_crowding(times, expected):
  fig, ax = plt.subplots()
  ax.plot(times, times, 'o')
  figures._log_time_axis(ax)  # pylint: disable=protected-access
  fig.canvas.draw()
  low, high = ax.get_xlim()
  labels = [tick.get_text() for tick in ax.get_xticklabels()
            if tick.get_text() and low <= tick.get_position()[0] <= high]
  if expected is None:
    assert len(labels) == 6 and all('10^' in label for label in labels)
  else:
    assert labels == expected
  assert not any(t.get_text() for t in ax.xaxis.get_minorticklabels())
  plt.close(fig)


def test_a_single_time_point_still_shows_the_seed_spread():
  fig, ax = plt.subplots()
  row = dict(pearson_node_median=0.5, pearson_node_worst=0.4, pearson_node_best=0.7)
  figures._band(ax, np.array([4120.0]), [row], 'node', 'one point')  # pylint: disable=protected-access
  bars = [c for c in ax.collections if isinstance(c, mcollections.LineCollection)]
  assert any(np.allclose(segment[:, 1], [0.4, 0.7]) for c in bars for segment in c.get_segments())
  plt.close(fig)

"""Every figure command writes a PNG and a PDF, from the shared data or tiny runs made here.

The runs are tiny sweeps through `main.py --mode=sweep` (BOTAN, NT-GNN and a
loss-weight ablation on synthetic files); the subprocesses share a persistent
XLA compilation cache so that each compiles little.
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import collections as mcollections
from matplotlib import pyplot as plt
from matplotlib import quiver

from botan_jax import io
from botan_jax import metrics
from botan_jax import sweeps
from botan_jax import system
from botan_jax import targets
from botan_jax.analysis import figures
from botan_jax.analysis import relaxation
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


def test_cross_section_maps_of_two_models_and_the_scatter(env, tmp_path, prediction):
  path, data = prediction
  draw(env, tmp_path, 'maps', f'--input={path},{path}', '--labels=BOTAN,NT-GNN', f'--data={data}')
  draw(env, tmp_path, 'scatter', f'--input={os.path.dirname(path)}')
  with pytest.raises(ValueError, match=r'slab 20 < z < 21 is not inside the box 0 < z < 15.057'):
    figures.make_figure('maps', str(tmp_path / 'empty'), inputs=[path], data=data,
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
    figures.cross_section_maps([path], other)
  with pytest.raises(ValueError, match='is one prediction, but --data matches 2 files'):
    figures.pdf_of_e(os.path.dirname(data), predictions=path)
  with pytest.raises(ValueError, match='no bond shorter than 0.5 .* widen --slab'):
    figures.cross_section_maps([path], data, bond_cutoff=0.5)
  assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('times,expected', [
    ((0.2, 0.3, 0.52), ['0.2', '0.3', '0.4', '0.5', '0.6']),  # Under a decade: 1, 2, ..., 9.
    ((130.0, 412.0, 1300.0), ['100', '200', '500', '1000', '2000']),  # 1-2-5.
    ((0.13, 1.3, 5.2), ['0.1', '0.3', '1', '3', '10']),       # 1-3; the decade below 1 labelled.
    ((0.13, 1.3, 13.0), ['0.1', '0.3', '1', '3', '10']),
    ((0.52, 1.65, 5.2, 16.5, 52.0, 165.0), ['0.3', '1', '3', '10', '30', '100', '300']),
    ((0.1, 10.0, 1e4), None),                                  # Decades: 10^k labels.
])
def test_log_time_axes_label_short_spans_without_crowding(times, expected):
  fig, ax = plt.subplots()
  ax.plot(times, times, 'o')
  figures._log_time_axis(ax)  # pylint: disable=protected-access
  assert ax.get_xlabel() == figures.TIME_LABEL
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


# In-process figures from small synthetic inputs: labels, units, ticks and the new figures.

SWEEP_FIELDS = ('temperature', 'time', 'time_index', 'preset', 'ablation', 'value', 'loss_p',
                'node_target', 'seeds', 'failed', 'pearson_node_median', 'pearson_node_best',
                'pearson_node_worst', 'pearson_edge_median', 'pearson_edge_best',
                'pearson_edge_worst')


def write_results(directory, rows):
  """A sweep's results.csv from dicts of temperature, time, ablation, value, loss_p, median."""
  os.makedirs(directory, exist_ok=True)
  with open(os.path.join(directory, 'results.csv'), 'w', newline='') as f:
    writer = csv.DictWriter(f, SWEEP_FIELDS)
    writer.writeheader()
    for k, row in enumerate(rows):
      median = row.pop('median')
      writer.writerow(dict(
          time_index=k + 1, preset=f'T{row["temperature"]}_t{row["time"]:g}', seeds=3, failed=0,
          node_target='S', **row, **{f'pearson_{kind}_{stat}': median + shift
                                     for kind in ('node', 'edge')
                                     for stat, shift in (('median', 0), ('best', 0.05),
                                                         ('worst', -0.05))}))
  return str(directory)


def write_run(directory, node_target='S', epochs=3, steps_per_epoch=4):
  """A run directory with config.json and metrics.jsonl as train.py writes them."""
  os.makedirs(directory, exist_ok=True)
  io.save_json(os.path.join(directory, 'config.json'), dict(node_target=node_target))
  records = [dict(step=0, epoch=0, test_pearson_node=0.1, test_pearson_edge=0.2, test_loss=0.09)]
  for epoch in range(1, epochs + 1):
    for step in range((epoch - 1) * steps_per_epoch + 1, epoch * steps_per_epoch + 1):
      records.append(dict(step=step, epoch=epoch, loss=0.1 / step ** 0.3, node_mse=0.1,
                          edge_mse=0.05))
    records.append(dict(step=epoch * steps_per_epoch, epoch=epoch, train_loss=0.1 / epoch,
                        test_pearson_node=0.1 + 0.1 * epoch, test_pearson_edge=0.2 + 0.1 * epoch,
                        test_loss=0.09 / epoch))
  with open(os.path.join(directory, 'metrics.jsonl'), 'w') as f:
    f.writelines(json.dumps(r) + '\n' for r in records)
  return str(directory)


@pytest.fixture(scope='module')
def small_box(tmp_path_factory):
  """A demo-sized configuration (N = 256, L = 5.98) and two models' predictions of it."""
  root = tmp_path_factory.mktemp('small_box')
  sample = synthetic.random_sample(256, num_runs=4, seed=3)
  data = str(root / 'isoconfig_N256T0.64_1_tc04.npz')
  io.save_npz(data, types=sample.types.astype(np.int8), initial_positions=sample.initial_positions,
              positions=sample.trajectory_positions)
  first = synthetic.write_prediction(root / 'botan' / 'isoconfig_N256T0.64_1_tc04_pred.npz',
                                     sample, noise=0.05, seed=1)
  second = synthetic.write_prediction(root / 'ntgnn' / 'isoconfig_N256T0.64_1_tc04_pred.npz',
                                      sample, noise=0.2, seed=2)
  return dict(data=data, root=root, box=sample.box[2], predictions=(first, second),
              paths=[str(root / m / 'isoconfig_N256T0.64_1_tc04_pred.npz')
                     for m in ('botan', 'ntgnn')])


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, small_box):
  """build_figure's arguments for every figure, from synthetic files."""
  root = tmp_path_factory.mktemp('inputs')
  times = system.time_row(0.44)
  sweep = write_results(root / 'sweep', [
      dict(temperature=0.44, time=t, ablation='', value='', loss_p=0.4, median=0.2 + 0.05 * k)
      for k, t in enumerate(times)])
  steps = write_results(root / 'steps', [
      dict(temperature=0.44, time=4120.0, ablation='model.num_message_passing_steps', value=n,
           loss_p=0.4, median=0.1 * n) for n in (1, 2, 3, 4, 5, 6, 7)])
  write_diffusive_data(root / 'fs')
  return dict(
      pearson=dict(runs=[sweep]), ablation=dict(runs=[steps]),
      loss=dict(runs=[write_run(root / 'run_a'), write_run(root / 'run_b', node_target='R')]),
      maps=dict(inputs=small_box['paths'], data=small_box['data'], labels=['BOTAN', 'NT-GNN']),
      scatter=dict(inputs=[str(small_box['root'] / '*' / '*_pred.npz')]),
      pdf_e=dict(inputs=[small_box['paths'][0]], data=small_box['data']),
      fs=dict(data=str(root / 'fs' / 'isoconfig_N160T0.64_1_*.npz')))


def is_colorbar(ax):
  return ax.get_label() == '<colorbar>'


def shown_tick_labels(axis):
  return [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]


@pytest.mark.parametrize('name', list(figures.FIGURES))
def test_every_axis_and_colourbar_is_labelled(name, inputs):
  fig = figures.build_figure(name, **inputs[name])
  fig.canvas.draw()
  panels = [ax for ax in fig.axes if not is_colorbar(ax)]
  for ax in panels:
    if shown_tick_labels(ax.xaxis):
      assert ax.get_xlabel(), f'{name}: an x axis without a label'
    if shown_tick_labels(ax.yaxis):
      assert ax.get_ylabel(), f'{name}: a y axis without a label'
  for bar in filter(is_colorbar, fig.axes):
    assert bar.get_ylabel(), f'{name}: a colourbar without a label'
  labels = ' '.join(ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes)
  if name in ('maps', 'pdf_e', 'scatter'):
    assert labels.count(figures.SIGMA_AA) >= 3  # Lengths, S and E in sigma_AA.
  if name in ('pearson', 'fs'):
    assert figures.TIME_LABEL in labels
  plt.close(fig)


def test_the_slab_defaults_to_the_middle_of_a_small_box(small_box):
  box = small_box['box']
  assert box < 11.9  # The old absolute default 11.1 < z < 11.9 lies outside it.
  low, high = figures.default_slab(box)
  assert high - low == pytest.approx(figures.SLAB_WIDTH)
  assert (low + high) / 2 == pytest.approx(box / 2)
  fig = figures.build_figure('maps', inputs=small_box['paths'][:1], data=small_box['data'])
  assert f'slab {low:.2f} < $z$ < {high:.2f}' in fig.get_suptitle()
  plt.close(fig)
  with pytest.raises(ValueError, match=rf'not inside the box 0 < z < {box:.3f}.*leave --slab '
                                       rf'out for the box middle {low:.2f},{high:.2f}'):
    figures.build_figure('maps', inputs=small_box['paths'][:1], data=small_box['data'],
                         slab=(box - 0.5, box + 0.3))


def test_maps_of_two_models_show_each_prediction_error_and_the_displacement_field(small_box,
                                                                                  tmp_path):
  fig = figures.build_figure('maps', inputs=small_box['paths'], data=small_box['data'],
                             labels=['BOTAN', 'NT-GNN'])
  titles = [ax.get_title() or ax.get_title(loc='left') for ax in fig.axes if not is_colorbar(ax)]
  botan, ntgnn = (p['pearson_node'] for p in small_box['predictions'])
  assert titles[:3] == ['actual propensity $S_i$', f'BOTAN: predicted $S_i$ (Pearson {botan:.2f})',
                        f'NT-GNN: predicted $S_i$ (Pearson {ntgnn:.2f})']
  assert titles[4:6] == ['BOTAN: error, predicted $-$ actual',
                         'NT-GNN: error, predicted $-$ actual']
  panels = np.array([ax for ax in fig.axes if not is_colorbar(ax)]).reshape(3, 3)
  assert any(isinstance(c, quiver.Quiver) for c in panels[1, 0].collections)
  # Each row shares one colour scale; the errors' is centred at 0.
  for row in panels:
    norms = {(c.norm.vmin, c.norm.vmax) for ax in row for c in ax.collections
             if c.get_array() is not None and not isinstance(c, quiver.Quiver)}
    assert len(norms) == 1
  (error_low, error_high), = {(c.norm.vmin, c.norm.vmax) for c in panels[1, 1].collections}
  assert error_low == -error_high
  bars = [ax.get_ylabel() for ax in fig.axes if is_colorbar(ax)]
  assert bars == ['$S_i$ ($\\sigma_{AA}$)', '$S_i$ predicted $-$ actual ($\\sigma_{AA}$)',
                  '$E_{ij}$ ($\\sigma_{AA}$)']
  plt.close(fig)
  written = figures.make_figure('maps', str(tmp_path / 'fig7'), inputs=small_box['paths'],
                                data=small_box['data'], labels=['BOTAN', 'NT-GNN'])
  assert [os.path.basename(p) for p in written] == ['fig7.png', 'fig7.pdf']
  with pytest.raises(ValueError, match='--labels names 1 models .* for 2 predictions'):
    figures.build_figure('maps', inputs=small_box['paths'], data=small_box['data'],
                         labels=['BOTAN'])


def test_the_displacement_field_is_the_ensemble_mean_of_eq16(small_box):
  fig = figures.cross_section_maps(small_box['paths'][:1], small_box['data'])
  arrows, = [c for ax in fig.axes for c in ax.collections if isinstance(c, quiver.Quiver)]
  sample = io.load_sample(small_box['data'])
  field = targets.local_average_displacement(sample.initial_positions,
                                             sample.trajectory_positions, sample.box).mean(axis=0)
  low, high = figures.default_slab(sample.box[2])
  z = np.mod(sample.initial_positions[:, 2], sample.box[2])
  in_slab = (z > low) & (z < high)
  np.testing.assert_allclose(arrows.U, field[in_slab, 0])
  np.testing.assert_allclose(arrows.V, field[in_slab, 1])
  plt.close(fig)


def test_scatter_states_the_pearson_values_of_metrics(small_box, tmp_path):
  predictions = small_box['predictions']
  fig = figures.build_figure('scatter', inputs=[str(small_box['root'] / '*' / '*_pred.npz')])
  texts = [' '.join(t.get_text() for t in ax.texts) for ax in fig.axes if not is_colorbar(ax)]
  for text, kind in zip(texts, ('node', 'edge')):
    per_file = [metrics.pearson(p[f'{kind}_pred'], p[f'{kind}_target'], p[f'{kind}_mask'])
                for p in predictions]
    pooled = metrics.pearson(*(np.concatenate([p[f'{kind}_{key}'] for p in predictions])
                               for key in ('pred', 'target', 'mask')))
    assert f'mean of 2 configurations: {np.mean(per_file):.3f}' in text
    assert f'pooled: {pooled:.3f}' in text
    assert 'y = x' in text
  plt.close(fig)
  fig = figures.build_figure('scatter', inputs=small_box['paths'][:1])
  first = predictions[0]
  node_pearson = metrics.pearson(first['node_pred'], first['node_target'], first['node_mask'])
  assert fig.axes[0].texts[0].get_text().startswith(f'Pearson {node_pearson:.3f}\n')
  assert '1 configuration' in fig.axes[0].get_title()
  plt.close(fig)
  with pytest.raises(FileNotFoundError, match='matches no prediction file'):
    figures.build_figure('scatter', inputs=[str(tmp_path / 'none_*.npz')])


def integer_ticks(ax, which='x'):
  fig = ax.figure
  fig.canvas.draw()
  low, high = getattr(ax, f'get_{which}lim')()
  ticks = [t for t in getattr(ax, f'get_{which}ticks')() if low <= t <= high]
  return ticks and all(float(t).is_integer() for t in ticks)


def test_epochs_and_message_passing_steps_get_integer_ticks(inputs):
  fig = figures.build_figure('loss', **inputs['loss'])
  loss_ax, pearson_ax = fig.axes
  assert integer_ticks(loss_ax) and integer_ticks(pearson_ax)
  assert len(shown_tick_labels(loss_ax.yaxis)) >= 3  # The log loss axis is labelled.
  legend = [t.get_text() for t in pearson_ax.get_legend().get_texts()]
  assert legend[0] == 'node target (type A)'
  runs = [t.get_text() for t in fig.legends[0].get_texts()]
  assert runs == ['run_a ($S_i$)', 'run_b ($R_i$)']  # Each run's node target, as its logs say.
  plt.close(fig)
  fig = figures.build_figure('ablation', **inputs['ablation'])
  assert all(integer_ticks(ax) for ax in fig.axes)
  assert fig.axes[0].get_xlabel() == 'message-passing steps $n$'
  plt.close(fig)


def test_pearson_labels_the_decade_below_one_and_keeps_tau_alpha_inside(inputs):
  fig = figures.build_figure('pearson', **inputs['pearson'])
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  for ax in fig.axes:
    assert '0.1' in shown_tick_labels(ax.xaxis) or any(
        '10^{-1}' in label for label in shown_tick_labels(ax.xaxis))
    tau, = [t for t in ax.texts if 'tau_\\alpha' in t.get_text()]
    inside = ax.get_window_extent(renderer)
    extent = tau.get_window_extent(renderer)
    assert inside.x0 <= extent.x0 and extent.x1 <= inside.x1
    assert inside.y0 <= extent.y0 and extent.y1 <= inside.y1
  plt.close(fig)


def test_fs_names_one_configuration_in_the_singular(inputs):
  fig = figures.build_figure('fs', **inputs['fs'])
  legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
  assert legend[0] == '$T$ = 0.64 (1 configuration)'
  assert any('(Table I)' in text for text in legend)
  assert not fig.axes[0].get_title()

def test_fs_figure_marks_tau_alpha_by_both_definitions_or_says_why_not():
  mark = figures._mark_measured_tau_alpha  # pylint: disable=protected-access
  times = np.geomspace(0.03, 500.0, 30)
  fig, ax = plt.subplots()
  mark(ax, times, relaxation.two_step_decay(times, 16.5, 0.77, 0.82, 0.26, 2.0), 'C0')
  labels = ax.get_legend_handles_labels()[1]
  assert labels[0].endswith('= 11.4 (F$_s$ = 1/e)')
  assert labels[1].endswith(r'= 16.5 (fit: A = 0.77, $\beta$ = 0.82)')
  marks = {tuple(np.round(line.get_xydata()[0], 3)) for line in ax.lines
           if len(line.get_xdata()) == 1}
  assert (16.5, round(0.77 / np.e, 3)) in marks
  mark(ax, times, np.exp(-times / 3.0), 'C1')
  assert ax.get_legend_handles_labels()[1][3] == (
      r'$\tau_\alpha$ by fit: none (F_s shows no plateau)')
  plt.close(fig)


def test_maps_and_scatter_name_the_node_quantity_the_predictions_hold(small_box, tmp_path):
  # A model trained on node_target=R writes node_quantity 'R'; files without it mean S.
  paths = []
  for name, quantity in (('r_model', 'R'), ('s_model', 'S')):
    arrays = dict(np.load(small_box['paths'][0]))
    path = tmp_path / name / 'isoconfig_N256T0.64_1_tc04_pred.npz'
    os.makedirs(path.parent)
    io.save_npz(path, node_quantity=np.array(quantity), **arrays)
    paths.append(str(path))
  fig = figures.build_figure('scatter', inputs=paths[:1])
  assert '$R_i$' in fig.axes[0].get_title() and '$R_i$' in fig.axes[0].get_xlabel()
  plt.close(fig)
  fig = figures.build_figure('maps', inputs=paths[:1], data=small_box['data'])
  assert any('predicted $R_i$' in ax.get_title() for ax in fig.axes)
  plt.close(fig)
  assert figures.predicted_quantity([dict(np.load(small_box['paths'][0]))]) == 'S'
  with pytest.raises(ValueError, match=r"different node quantities \['R', 'S'\]"):
    figures.build_figure('scatter', inputs=paths)


def test_a_structure_ablation_is_drawn_as_categories_in_the_sweep_order(tmp_path):
  sweep = write_results(tmp_path / 'structure', [
      dict(temperature=0.44, time=4120.0, ablation='data.structure', value=value, loss_p=0.4,
           median=0.3 + 0.1 * k) for k, value in enumerate(('thermal', 'inherent', 'both'))])
  fig = figures.build_figure('ablation', runs=[sweep])
  fig.canvas.draw()
  for ax in fig.axes:
    assert shown_tick_labels(ax.xaxis) == ['thermal', 'inherent', 'both']
    assert ax.get_xlabel() == 'input structure (data.structure)' and ax.get_ylabel()
  plt.close(fig)


def test_an_ablation_of_p_1_runs_says_that_e_was_not_trained(tmp_path):
  sweep = write_results(tmp_path / 'gb_structure', [
      dict(temperature=0.44, time=4120.0, ablation='data.structure', value=value, loss_p=1.0,
           median=0.3) for value in ('thermal', 'inherent', 'both')])
  fig = figures.build_figure('ablation', runs=[sweep])
  node_ax, edge_ax = fig.axes
  assert len(node_ax.lines) and not edge_ax.lines
  assert [t.get_text() for t in edge_ax.texts] == ['E not trained (p = 1)']
  plt.close(fig)

"""The optimizer, the update step, resuming, data parallelism and config checks."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from botan_jax import checkpoints
from botan_jax import inference
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import model_setup
from botan_jax import models
from botan_jax import pyg_import
from botan_jax import run_files
from botan_jax import train
from botan_jax.presets import botan
from tests import conftest
from tests import synthetic
from tests import test_tensorboard

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_three_adam_steps_match_reference():
  reference = np.load(conftest.shared_file('reference', 'pyg_botan_adam3_model1.npz'))
  files = [conftest.train_file(k) for k in (1, 2, 3)]
  config = botan.get_config('T044_t4120')
  config.augmentation = 'none'
  model, optimizer = model_setup.create_model(config), train.create_optimizer(config)
  params = jax.tree.map(jnp.asarray, pyg_import.read_params(conftest.model1()))
  mesh = train.make_mesh(1)
  state = train.put(train.TrainState.create(params, optimizer, jax.random.PRNGKey(0)), mesh,
                    train.P())
  dataset = train.put(input_pipeline.load_graph_set(files).graphs, mesh, train.P())
  step = train.make_train_step(model, optimizer, 0.4, 'none', mesh, 1)
  # The reference's third loss is itself 1.31e-5 (relative) away from the same three steps
  # computed in float64 (Adam amplifies float32 rounding of near-zero gradients), so that
  # step is held to 2e-5; the first two to 1e-5.
  for k, rel in enumerate((1e-5, 1e-5, 2e-5)):
    state, metrics = step(state, dataset, train.put(np.array([k], np.int32), mesh,
                                                    train.P(train.DATA_AXIS)))
    assert float(metrics['loss']) == pytest.approx(float(reference['losses'][k]), rel=rel)
    assert float(metrics['grad_norm']) == pytest.approx(
        float(reference['grad_norms_before_clip'][k]), rel=1e-4)
  ours = pyg_import.params_to_state_dict(jax.device_get(state.params))
  for name, value in ours.items():
    np.testing.assert_allclose(value, reference[f'param/{name}'], atol=2e-5, err_msg=name)


def small_config(tmp_path, num_train=4, num_test=2, **overrides):
  """A quick config over synthetic 160-particle files written under tmp_path."""
  synthetic.write_botan_files(tmp_path / 'train', num_train)
  synthetic.write_botan_files(tmp_path / 'test', num_test, first_id=401, seed=100)
  config = botan.get_config('T044_t4120')
  config.data.train_pattern = str(tmp_path / 'train' / '*.npz')
  config.data.test_pattern = str(tmp_path / 'test' / '*.npz')
  config.data.cache_dir = str(tmp_path / 'cache')
  config.model.latent_size = 16
  config.model.num_message_passing_steps = 3
  config.eval_every_epochs = 1
  config.checkpoint_every_epochs = 1
  config.log_every_steps = 1
  for key, value in overrides.items():
    config[key] = value
  return config


def latest_params(workdir):
  state, _ = checkpoints.restore(checkpoints.manager(workdir, checkpoints.LATEST))
  return state


def test_resuming_from_a_checkpoint_equals_training_straight_through(tmp_path):
  config = small_config(tmp_path, num_epochs=2, learning_rate=1e-3)
  train.train_and_evaluate(config, str(tmp_path / 'straight'))
  half = small_config(tmp_path, num_epochs=1, learning_rate=1e-3)
  train.train_and_evaluate(half, str(tmp_path / 'resumed'))
  assert int(latest_params(tmp_path / 'resumed')['step']) == 4
  train.train_and_evaluate(config, str(tmp_path / 'resumed'))
  straight, resumed = latest_params(tmp_path / 'straight'), latest_params(tmp_path / 'resumed')
  assert int(straight['step']) == int(resumed['step']) == 8
  for a, b in zip(jax.tree.leaves(straight['params']), jax.tree.leaves(resumed['params'])):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  records = [json.loads(line) for line in open(tmp_path / 'resumed' / 'metrics.jsonl')]
  assert [r['step'] for r in records if 'loss' in r] == list(range(1, 9))
  assert [r['epoch'] for r in records if 'test_pearson_node' in r] == [0, 1, 2]


def test_resuming_after_a_best_checkpoint_newer_than_the_latest(tmp_path):
  """An interruption between the best and the latest save: the rerun replays, not crashes."""
  config = small_config(tmp_path, num_epochs=1, learning_rate=1e-3)  # Best and latest: step 4.
  train.train_and_evaluate(config, str(tmp_path / 'straight'))
  train.train_and_evaluate(config, str(tmp_path / 'interrupted'))
  run = tmp_path / 'interrupted'
  shutil.rmtree(run / 'checkpoints' / 'latest')  # The latest save never happened ...
  with open(run / 'metrics.jsonl', 'a') as f:
    f.write('{"step": 5, "epoch": 2, "los')      # ... and the log was cut mid-line.
  train.train_and_evaluate(config, str(run))
  straight, resumed = latest_params(tmp_path / 'straight'), latest_params(run)
  for a, b in zip(jax.tree.leaves(straight['params']), jax.tree.leaves(resumed['params'])):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  records = [json.loads(line) for line in open(run / 'metrics.jsonl')]
  assert [r['step'] for r in records] == [
      json.loads(line)['step'] for line in open(tmp_path / 'straight' / 'metrics.jsonl')]
  assert records.count(records[0]) == 1  # The step-0 evaluation is written once.


def test_metrics_log_keeps_complete_lines_up_to_the_resumed_step(tmp_path):
  path = tmp_path / 'metrics.jsonl'
  lines = ['{"step": 0}\n', '{"step": 1}\n', '{"step": 2}\n']
  path.write_text(''.join(lines) + '{"step": 3, "lo')
  run_files.MetricsLog(str(tmp_path), resume_step=1)
  assert path.read_text() == ''.join(lines[:2])
  run_files.MetricsLog(str(tmp_path), resume_step=0)
  assert path.read_text() == ''
  path.write_text(lines[0] + '{"step": 1, "lo\n' + lines[2])
  with pytest.raises(io.DataError, match='metrics.jsonl: line 2 is not JSON'):
    run_files.MetricsLog(str(tmp_path), resume_step=2)


def test_resuming_with_another_seed_or_batch_is_refused(tmp_path):
  config = small_config(tmp_path, num_epochs=1)
  train.train_and_evaluate(config, str(tmp_path / 'run'))
  for field, value in (('seed', 7), ('batch_size', 2), ('learning_rate', 1e-3)):
    changed = small_config(tmp_path, num_epochs=2, **{field: value})
    with pytest.raises(ValueError, match='Use a new --workdir'):
      train.train_and_evaluate(changed, str(tmp_path / 'run'))
  fewer_files = small_config(tmp_path, num_epochs=2)
  fewer_files.data.train_pattern = str(tmp_path / 'train' / '*_[12]_tc07.npz')
  with pytest.raises(ValueError, match='other training files; .* Use a new --workdir'):
    train.train_and_evaluate(fewer_files, str(tmp_path / 'run'))
  train.train_and_evaluate(small_config(tmp_path, num_epochs=2), str(tmp_path / 'run'))


def test_the_starting_model_competes_for_the_best_checkpoint(tmp_path):
  """Epoch 0 is an evaluation like the others: a run that only makes things worse keeps it."""
  run = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(tmp_path, num_epochs=0), run)
  best = checkpoints.manager(run, checkpoints.BEST)
  assert best.all_steps() == [0]
  _, meta = checkpoints.restore(best)
  first = io.read_jsonl(os.path.join(run, 'metrics.jsonl'))[0]
  assert first['epoch'] == 0 and meta['epoch'] == 0
  assert meta['best_score'] == pytest.approx(
      0.5 * (first['test_pearson_node'] + first['test_pearson_edge']))
  train.train_and_evaluate(small_config(tmp_path, num_epochs=0), run)  # A rerun saves it again.
  assert checkpoints.manager(run, checkpoints.BEST).all_steps() == [0]


@pytest.mark.parametrize('loss_p,expected', [(0.0, 0.2), (0.4, 0.5), (1.0, 0.8)])
def test_best_checkpoints_are_chosen_by_e_s_or_their_mean(loss_p, expected):
  score = train._selection_score(dict(pearson_node=0.8, pearson_edge=0.2), loss_p)  # pylint: disable=protected-access
  assert score == pytest.approx(expected)


def test_training_and_evaluation_need_trajectories(tmp_path):
  config = small_config(tmp_path, num_epochs=1)
  sample = io.load_sample(str(sorted((tmp_path / 'train').glob('*.npz'))[0]))
  io.save_npz(tmp_path / 'train' / 'isoconfig_N160T0.44_9_tc07.npz',
              types=sample.types.astype(np.int8), initial_positions=sample.initial_positions)
  with pytest.raises(io.DataError, match='_9_tc07.npz: no trajectories'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))


def test_predict_writes_each_model_s_outputs_once_and_refuses_clashes(tmp_path):
  config = small_config(tmp_path, num_epochs=1)
  train.train_and_evaluate(config, str(tmp_path / 'run_a'))
  train.train_and_evaluate(small_config(tmp_path, num_epochs=1, seed=1), str(tmp_path / 'run_b'))
  new = tmp_path / 'new'
  with_runs = synthetic.write_botan_files(new, 1, first_id=500, seed=5)[0]
  sample = io.load_sample(with_runs)
  io.save_npz(new / 'isoconfig_N160T0.44_501_tc07.npz', types=sample.types.astype(np.int8),
              initial_positions=sample.initial_positions)  # No trajectories: no targets.

  written = inference.predict(config, str(tmp_path / 'run_a'), str(new), str(tmp_path / 'out'))
  assert [os.path.basename(p) for p in written] == ['isoconfig_N160T0.44_500_tc07_pred.npz',
                                                    'isoconfig_N160T0.44_501_tc07_pred.npz']
  assert 'pearson_node' in np.load(written[0]) and 'pearson_node' not in np.load(written[1])
  stamp = lambda: [os.stat(p).st_mtime_ns for p in written]
  first = stamp()
  inference.predict(config, str(tmp_path / 'run_a'), str(new), str(tmp_path / 'out'))
  assert stamp() == first  # Same model: kept.
  inference.predict(config, str(tmp_path / 'run_b'), str(new), str(tmp_path / 'out'))
  second = stamp()
  assert all(b != a for a, b in zip(first, second))  # Another model: replaced.
  synthetic.write_botan_files(new, 1, first_id=500, seed=6)  # A changed input ...
  with open(written[1], 'r+b') as f:
    f.truncate(100)                                         # ... and a damaged output.
  inference.predict(config, str(tmp_path / 'run_b'), str(new), str(tmp_path / 'out'))
  assert all(b != a for a, b in zip(second, stamp()))
  assert 'pearson_node' not in np.load(written[1])

  one = inference.predict(config, str(tmp_path / 'run_a'), with_runs, str(tmp_path / 'one') + '/')
  assert one == [str(tmp_path / 'one' / 'isoconfig_N160T0.44_500_tc07_pred.npz')]
  with pytest.raises(ValueError, match='names one file, but 2 inputs match'):
    inference.predict(config, str(tmp_path / 'run_a'), str(new), str(tmp_path / 'x.npz'))
  shutil.copytree(new, tmp_path / 'copy')
  with pytest.raises(ValueError, match='would both be written'):
    inference.predict(config, str(tmp_path / 'run_a'), str(tmp_path / '*' / '*_500_tc07.npz'),
                      str(tmp_path / 'clash'))


def test_training_reads_pickles_at_the_configured_time_index(tmp_path):
  pickle_path = conftest.shared_file('data', 'deepmind_glassy', 'test_small.pickle')
  config = small_config(tmp_path, num_epochs=1)
  config.data.train_pattern = config.data.test_pattern = pickle_path
  config.data.edge_cutoff = 1.2  # 20 particles: the box is 2.55 wide.
  config.data.pickle_time_index = 10
  with pytest.raises(io.DataError, match='time index 10 absent'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  config.data.pickle_time_index = 9
  train.train_and_evaluate(config, str(tmp_path / 'run'))


def test_training_improves_the_fit_and_keeps_the_best_checkpoint(tmp_path):
  config = small_config(tmp_path, num_train=2, num_epochs=3, learning_rate=3e-3)
  config.data.test_pattern = config.data.train_pattern
  evaluation = train.train_and_evaluate(config, str(tmp_path / 'run'))
  records = [json.loads(line) for line in open(tmp_path / 'run' / 'metrics.jsonl')]
  losses = [r['loss'] for r in records if 'loss' in r]
  assert losses[-1] < losses[0]
  assert np.isfinite(evaluation['pearson_node']) and np.isfinite(evaluation['pearson_edge'])
  best = checkpoints.manager(str(tmp_path / 'run'), checkpoints.BEST)
  assert best.latest_step() is not None
  # The same scalars reach TensorBoard.
  scalars = test_tensorboard.read_scalars(str(tmp_path / 'run' / 'tensorboard'))
  assert [value for _, value in scalars['train/loss']] == pytest.approx(losses)
  assert [step for step, _ in scalars['test/pearson_node']] == [
      r['step'] for r in records if 'test_pearson_node' in r]
  assert 'speed/graphs_per_s' in scalars and 'test/per_file' not in scalars


def test_tiny_system_is_overfitted():
  sample = synthetic.random_sample(100, num_runs=4, seed=3)
  graph = input_pipeline.make_graph(sample, input_pipeline.GraphSpec(edge_cutoff=1.5))
  model = models.Botan(latent_size=64, num_message_passing_steps=3)
  config = botan.get_config('T044_t4120')
  config.learning_rate, config.augmentation = 3e-3, 'none'
  optimizer = train.create_optimizer(config)
  mesh = train.make_mesh(1)
  params = model.init(jax.random.PRNGKey(0), graph)['params']
  state = train.put(train.TrainState.create(params, optimizer, jax.random.PRNGKey(0)), mesh,
                    train.P())
  dataset = train.put(jax.tree.map(lambda x: x[None], graph), mesh, train.P())
  step = train.make_train_step(model, optimizer, 0.4, 'none', mesh, 1)
  index = train.put(np.zeros(1, np.int32), mesh, train.P(train.DATA_AXIS))
  for _ in range(OVERFIT_STEPS):
    state, _ = step(state, dataset, index)
  assert step._cache_size() == 1  # Compiled once, not once per step.
  node_pred, edge_pred = model.apply({'params': state.params}, graph)
  assert np.corrcoef(node_pred, graph.nodes['target'])[0, 1] > 0.99
  assert np.corrcoef(edge_pred, graph.edges['target'])[0, 1] > 0.99


OVERFIT_STEPS = 1500

TWO_DEVICES = textwrap.dedent('''
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh
    from botan_jax import graphs, input_pipeline, models, train
    from botan_jax.presets import botan
    from tests import synthetic
    assert len(jax.devices()) == 2, jax.devices()
    samples = [synthetic.random_sample(n, seed=n) for n in (150, 160, 170, 180)]
    built = [input_pipeline.make_graph(s) for s in samples]
    budget = graphs.padding_budget(180, max(len(g.senders) for g in built))
    dataset = graphs.stack([graphs.pad(g, *budget) for g in built])
    config = botan.get_config('T044_t4120')
    model = models.Botan(latent_size=16, num_message_passing_steps=3)
    optimizer = train.create_optimizer(config)
    params = model.init(jax.random.PRNGKey(0), built[0])['params']
    results = []
    for devices in (jax.devices()[:1], jax.devices()):
      mesh = Mesh(np.array(devices), (train.DATA_AXIS,))
      state = train.put(train.TrainState.create(params, optimizer, jax.random.PRNGKey(1)), mesh,
                        train.P())
      step = train.make_train_step(model, optimizer, 0.4, 'axes', mesh, 4)
      data = train.put(dataset, mesh, train.P())
      for indices in ([0, 1, 2, 3], [3, 1, 0, 2]):
        state, metrics = step(state, data, train.put(np.array(indices, np.int32), mesh,
                                                     train.P(train.DATA_AXIS)))
      results.append((jax.device_get(state.params), float(metrics['loss']),
                      float(metrics['grad_norm'])))
    (one, loss_one, norm_one), (two, loss_two, norm_two) = results
    assert abs(loss_one - loss_two) <= 1e-6 * abs(loss_one), (loss_one, loss_two)
    assert abs(norm_one - norm_two) <= 1e-5 * abs(norm_one), (norm_one, norm_two)
    # Adam moves every parameter by about lr = 1e-4 per step whatever the gradient's size,
    # so summation-order rounding of near-zero gradients shows at that scale: the same
    # tolerance as the authors' Adam trace.
    for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two)):
      np.testing.assert_allclose(a, b, atol=2e-5)
    print('same update on 1 and 2 devices')
''')


def test_two_devices_give_the_update_of_one_device():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2',
             PYTHONPATH=ROOT)
  result = subprocess.run([sys.executable, '-c', TWO_DEVICES], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'same update on 1 and 2 devices' in result.stdout


@pytest.mark.parametrize('field,value,message', [
    ('loss_p', 1.5, r'loss_p must lie in \[0, 1\]'),
    ('loss_p', -0.1, r'loss_p must lie in \[0, 1\]'),
    ('init_from', '/nonexistent/run', 'init_from /nonexistent/run: no checkpoint found'),
    ('init_from', 'pyg:/nonexistent/model.npz', 'no such weight file'),
    ('augmentation', 'shear', 'augmentation must be'),
    ('model.dtype', 'float16', 'model.dtype must be one of float32, bfloat16'),
    ('eval_every_epochs', 0, 'eval_every_epochs must be >= 1'),
    ('checkpoint_every_epochs', 0, 'checkpoint_every_epochs must be >= 1'),
    ('log_every_steps', 0, 'log_every_steps must be >= 1'),
])
def test_bad_config_fails_before_any_work(tmp_path, field, value, message):
  config = small_config(tmp_path, num_epochs=1)
  parent, _, name = field.rpartition('.')
  (config[parent] if parent else config)[name] = value
  with pytest.raises((ValueError, FileNotFoundError), match=message):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()


def test_patterns_matching_nothing_fail_before_any_work(tmp_path):
  config = small_config(tmp_path, num_epochs=1)
  config.data.train_pattern = str(tmp_path / 'nowhere' / '*.npz')
  with pytest.raises(io.DataError, match='nowhere/\\*.npz: matches no file'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()


def test_ntgnn_takes_five_graphs_per_step_unless_set():
  config = botan.get_config('T044_t130')
  assert model_setup.graphs_per_step(config) == 1
  config.loss_p = 1.0
  assert model_setup.graphs_per_step(config) == 5
  config.batch_size = 2
  assert model_setup.graphs_per_step(config) == 2


def test_presets_cover_table_one():
  presets = botan.list_presets()
  assert len(presets) == 40
  assert presets['T044_t130'] == (0.44, 4) and presets['T044_t4120'] == (0.44, 7)
  assert presets['T050_t217'] == (0.50, 7) and presets['T064_t16.5'] == (0.64, 7)
  pretrain = botan.get_config('pretrain')
  assert (pretrain.loss_p, pretrain.num_epochs, pretrain.data.time_index) == (0.0, 2000, 3)
  with pytest.raises(ValueError, match='Unknown preset'):
    botan.get_config('T044_t999')


def run_main(*args, cwd=ROOT):
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHONPATH=ROOT))
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def test_main_train_evaluate_predict_end_to_end_on_shared_data(tmp_path):
  train_dir = os.path.dirname(conftest.train_file(1))
  test_dir = os.path.dirname(conftest.test_file(401))
  workdir = str(tmp_path / 'run')
  common = ['--config=' + os.path.join(ROOT, 'configs', 'botan.py') + ':T044_t4120',
            f'--config.data.cache_dir={tmp_path / "cache"}']
  run_main('--mode=train', f'--workdir={workdir}', *common,
           f'--config.data.train_pattern={train_dir}/isoconfig_N4096T0.44_[12]_tc07.npz',
           f'--config.data.test_pattern={test_dir}/*.npz', '--config.num_epochs=2',
           '--config.eval_every_epochs=1', f'--config.init_from=pyg:{conftest.model1()}')
  run_main('--mode=evaluate', f'--workdir={workdir}', *common,
           f'--config.data.test_pattern={test_dir}/*.npz')
  evaluation = json.load(open(os.path.join(workdir, 'evaluation.json')))
  assert len(evaluation['per_file']) == 2
  assert 0.2 < evaluation['pearson_edge'] < 1.0
  run_main('--mode=predict', f'--workdir={workdir}', *common, f'--input={test_dir}',
           f'--output={tmp_path / "predictions"}')
  written = sorted(os.listdir(tmp_path / 'predictions'))
  assert written == ['isoconfig_N4096T0.44_401_tc07_pred.npz',
                     'isoconfig_N4096T0.44_402_tc07_pred.npz']
  prediction = np.load(tmp_path / 'predictions' / written[0])
  assert prediction['edge_index'].shape == (2, 166240)
  assert prediction['node_pred'].shape == (4096,)
  assert float(prediction['pearson_edge']) == pytest.approx(
      evaluation['per_file'][os.path.join(test_dir, 'isoconfig_N4096T0.44_401_tc07.npz')][
          'pearson_edge'], abs=1e-5)


@pytest.mark.parametrize('args,message', [
    (['--mode=predict', '--input=a.npz', '--output=out', 'b.npz'], 'unexpected arguments'),
    (['--mode=train', '--workdir=w'], '--mode=train needs a training config'),
    (['--config=' + os.path.join(ROOT, 'configs', 'generate.py') + ':tiny',
      '--config.mode=trian'], "mode 'trian' .* is not one of"),
])
def test_main_refuses_bad_command_lines_before_any_work(tmp_path, args, message):
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode != 0
  assert re.search(message, result.stderr), result.stderr[-2000:]
  assert os.listdir(tmp_path) == []


def test_predict_single_file_with_authors_weights(tmp_path):
  output = tmp_path / 'one.npz'
  run_main('--mode=predict', '--config=' + os.path.join(ROOT, 'configs', 'botan.py') + ':T044_t4120',
           f'--config.init_from=pyg:{conftest.model1()}', f'--input={conftest.test_file(401)}',
           f'--output={output}', '--config.data.cache_dir=')
  reference = np.load(conftest.shared_file('reference', 'pyg_botan_401_model1.npz'))
  prediction = np.load(output)
  assert set(prediction.files) == {'node_quantity', 'node_pred', 'edge_index', 'edge_pred',
                                   'node_target', 'edge_target', 'node_mask', 'edge_mask',
                                   'pearson_node', 'pearson_edge', 'model_digest', 'source_stamp'}
  assert str(prediction['node_quantity']) == 'S'
  np.testing.assert_array_equal(prediction['edge_index'], reference['edge_index'])
  np.testing.assert_allclose(prediction['edge_pred'], reference['edge_pred'], atol=1e-4)
  assert float(prediction['pearson_edge']) == pytest.approx(float(reference['pearson_edge']),
                                                            abs=1e-4)

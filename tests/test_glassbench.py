"""GlassBench's files: the reader into a Sample, its refusals, and training on them with p = 1."""

import json

import numpy as np
import pytest

from botan_jax import api
from botan_jax import glassbench
from botan_jax import inference
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import metrics
from botan_jax import system
from botan_jax import train
from tests import glassbench_files
from tests import synthetic
from tests import test_train


@pytest.fixture(name='files')
def fixture_files(tmp_path):
  return glassbench_files.write_temperature(tmp_path / 'gb', num_train=2, num_test=2)


def test_reader_maps_codes_wraps_positions_and_picks_the_time(files):
  path = files['test'][0]
  raw = dict(np.load(path))
  sample = io.load_sample(path, time_index=7)
  assert sample.trajectory_positions is None
  np.testing.assert_array_equal(sample.types, raw['types'] - 1)
  np.testing.assert_array_equal(sample.propensity, raw['md_prop'][6])
  assert sample.time == system.time_point(0.44, 7) and sample.temperature == 0.44
  assert (sample.initial_positions >= 0).all() and (sample.initial_positions < sample.box).all()
  shift = np.mod(raw['initial_positions'], sample.box) - sample.initial_positions
  assert np.abs(shift).max() < 1e-12
  inherent = io.load_sample(path, time_index=1, glassbench_positions='inherent')
  np.testing.assert_allclose(inherent.initial_positions,
                             np.mod(raw['initial_positions_inherent'], sample.box))


def test_propensity_stored_particles_first_is_transposed(tmp_path, files):
  raw = dict(np.load(files['test'][0]))
  io.save_npz(tmp_path / 'N160T0.44_9.npz', **dict(raw, md_prop=raw['md_prop'].T))
  sample = glassbench.read_sample(str(tmp_path / 'N160T0.44_9.npz'), 4)
  np.testing.assert_array_equal(sample.propensity, raw['md_prop'][3])


def _edited(tmp_path, files, **changes):
  raw = dict(np.load(files['test'][0]))
  raw.update(changes)
  for key, value in changes.items():
    if value is None:
      del raw[key]
  path = tmp_path / 'N160T0.44_7.npz'
  io.save_npz(path, **raw)
  return str(path)


@pytest.mark.parametrize('changes, time_index, positions, message', [
    (dict(md_prop=None), 7, 'initial', 'missing keys'),
    (dict(types=None), 7, 'initial', 'missing keys'),
    (dict(md_prop=np.zeros((9, 160))), 7, 'initial', 'must be (10, 160)'),
    (dict(md_prop=np.zeros((10, 150))), 7, 'initial', 'must be (10, 160)'),
    (dict(md_prop=np.full((10, 160), np.nan)), 7, 'initial', 'NaN'),
    (dict(initial_positions=np.full((160, 3), np.nan)), 7, 'initial', 'NaN'),
    (dict(types=np.full(160, 3)), 7, 'initial', 'coded 0/1 or 1/2'),
    (dict(types=np.r_[np.full(100, 2), np.full(60, 1)]), 7, 'initial', 'swapped'),
    (dict(initial_positions_cage=None), 7, 'cage', 'initial_positions_cage'),
    ({}, 0, 'initial', 'time_index in 1..10'),
    ({}, 11, 'initial', 'time_index in 1..10'),
    ({}, 7, 'relaxed', "choose one of initial, inherent, cage"),
])
def test_malformed_files_are_refused_with_their_name(tmp_path, files, changes, time_index,
                                                     positions, message):
  path = _edited(tmp_path, files, **changes)
  with pytest.raises(io.DataError, match='N160T0.44_7.npz') as raised:
    io.load_sample(path, time_index=time_index, glassbench_positions=positions)
  assert message in str(raised.value)


def test_an_intact_file_passes_the_same_route(tmp_path, files):
  """The refusals above come from the edits: the unedited file through `_edited` reads."""
  path = _edited(tmp_path, files, initial_positions_cage=np.zeros((160, 3)))
  assert io.load_sample(path, time_index=7, glassbench_positions='cage').num_particles == 160


def test_a_stored_prediction_in_the_wrong_orientation_is_refused(tmp_path, files):
  path = _edited(tmp_path, files, CAGE=np.zeros((160, 9)))
  with pytest.raises(io.DataError, match=r'CAGE must be \(10, 160\)'):
    glassbench.read_scoring(path)


def test_graph_has_s_targets_and_no_e_targets(files):
  graph = input_pipeline.load_graph(files['train'][0], time_index=3)
  np.testing.assert_allclose(graph.nodes['target'],
                             np.load(files['train'][0])['md_prop'][2].astype(np.float32))
  assert np.isnan(graph.edges['target']).all()
  with pytest.raises(io.DataError, match='no node target D'):
    input_pipeline.load_graph(files['train'][0], input_pipeline.GraphSpec(node_target='D'),
                              time_index=3)


def small_glassbench_config(tmp_path, **overrides):
  """test_train's small config, over the GlassBench files of `fixture_files`."""
  settings = dict(dict(num_epochs=2, batch_size=1), **overrides)
  config = test_train.small_config(tmp_path, num_train=0, num_test=0, **settings)
  config.data.train_pattern = str(tmp_path / 'gb' / 'T0.44' / 'train' / '*.npz')
  config.data.test_pattern = str(tmp_path / 'gb' / 'T0.44' / 'test' / '*.npz')
  return config


def test_training_on_glassbench_with_p_1_scores_s_and_refuses_p_below_1(tmp_path, files):
  run = tmp_path / 'run'
  result = train.train_and_evaluate(small_glassbench_config(tmp_path, loss_p=1.0), str(run))
  assert np.isfinite(result['pearson_node'])
  records = [json.loads(line) for line in open(run / 'metrics.jsonl')]
  losses = [r['loss'] for r in records if 'loss' in r]
  assert losses and np.isfinite(losses).all()
  evaluation = inference.evaluate(small_glassbench_config(tmp_path, loss_p=1.0), str(run))
  assert np.isfinite(evaluation['pearson_node'])
  assert [r['pearson_edge_undefined'] for r in evaluation['per_file'].values()] == [
      metrics.NO_TARGETS] * 2
  model = api.load_model(str(run))
  sample = io.load_sample(files['test'][0], time_index=7)
  scored = model.evaluate(sample)
  a = sample.types == 0
  expected = np.corrcoef(model.predict_sample(sample).node[a], sample.propensity[a])[0, 1]
  assert scored.pearson_node == pytest.approx(expected, abs=1e-6)
  assert np.isnan(scored.pearson_edge) and scored.pearson_edge_undefined == metrics.NO_TARGETS
  with pytest.raises(io.DataError, match='loss_p=1'):
    train.train_and_evaluate(small_glassbench_config(tmp_path, loss_p=0.4),
                             str(tmp_path / 'run_p04'))


def test_same_configuration_recognises_the_authors_file_of_a_glassbench_one(tmp_path):
  botan_path, = synthetic.write_botan_files(tmp_path, 1)
  authors = io.read_botan_npz(botan_path)
  box = authors.box[0]
  shifted = np.where(authors.initial_positions >= box / 2, authors.initial_positions - box,
                     authors.initial_positions)  # GlassBench's [-L/2, L/2).
  arrays = glassbench_files.configuration(160, 0)
  io.save_npz(tmp_path / 'N160T0.44_1.npz', **dict(arrays, initial_positions=shifted,
                                                    types=authors.types + 1))
  same = io.load_sample(str(tmp_path / 'N160T0.44_1.npz'), time_index=7)
  assert glassbench.same_configuration(same, authors)
  other = io.load_sample(str(tmp_path / 'N160T0.44_1.npz'), time_index=7, glassbench_positions='inherent')
  assert not glassbench.same_configuration(other, authors)
  io.save_npz(tmp_path / 'N160T0.44_2.npz', **arrays)
  second, = synthetic.write_botan_files(tmp_path, 1, first_id=2)
  assert glassbench.matching_ids(
      [str(tmp_path / 'N160T0.44_1.npz'), str(tmp_path / 'N160T0.44_2.npz')],
      [botan_path, second]) == {1: True, 2: False}

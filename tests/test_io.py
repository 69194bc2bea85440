"""Dataset readers: both public formats, and clear errors on bad input."""

import pickle

import numpy as np
import pytest

from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import layout
from botan_jax import system
from botan_jax import targets
from tests import conftest
from tests import synthetic


def test_botan_npz_reader_fills_box_time_and_temperature():
  sample = io.read_botan_npz(conftest.test_file(401))
  assert sample.initial_positions.shape == (4096, 3)
  assert sample.trajectory_positions.shape == (32, 4096, 3)
  np.testing.assert_allclose(sample.box, np.full(3, 15.056576462096453))
  assert sample.temperature == 0.44
  assert sample.time == 4120.0
  assert np.bincount(sample.types).tolist() == [3277, 819]


def test_find_files_by_glob_and_time_index_in_natural_order():
  files = io.find_files(f'{conftest.botan_small("train")}/*.npz', time_index=7)
  ids = [layout.parse_dataset_name(p)['config_id'] for p in files]
  assert ids == list(range(1, 11))


def test_deepmind_small_pickle_loads_every_time_index():
  path = conftest.shared_file('data', 'deepmind_glassy', 'test_small.pickle')
  for time_index in range(10):
    sample = io.read_deepmind_pickle(path, time_index)
    assert sample.initial_positions.shape == (20, 3)
    assert sample.trajectory_positions.shape == (30, 20, 3)
  assert sample.temperature == 0.44


def test_deepmind_large_pickle_targets_equal_stored_targets():
  path = conftest.shared_file('data', 'deepmind_glassy', 'test_large.pickle')
  sample = io.read_deepmind_pickle(path, 0)
  with open(path, 'rb') as f:
    stored = np.asarray(pickle.load(f)['targets'][0])
  np.testing.assert_allclose(
      targets.displacement(sample.initial_positions, sample.trajectory_positions), stored,
      rtol=1e-6, atol=1e-6)
  graph = input_pipeline.make_graph(sample)
  np.testing.assert_allclose(graph.nodes['target'], stored, rtol=1e-5, atol=1e-6)


def test_deepmind_absent_time_index_names_file():
  path = conftest.shared_file('data', 'deepmind_glassy', 'test_large.pickle')
  with pytest.raises(io.DataError, match=r'test_large\.pickle.*time index 3 absent'):
    io.read_deepmind_pickle(path, 3)


def _write(path, **arrays):
  np.savez(path, **arrays)
  return str(path)


@pytest.fixture
def good_arrays():
  sample = synthetic.random_sample(40)
  return dict(types=sample.types.astype(np.int8), initial_positions=sample.initial_positions,
              positions=sample.trajectory_positions)


def test_missing_file_is_named(tmp_path):
  missing = tmp_path / 'isoconfig_N40T0.44_1_tc07.npz'
  with pytest.raises(io.DataError, match=f'{missing}: no such file'):
    io.read_botan_npz(missing)


def test_glob_matching_nothing_is_named(tmp_path):
  with pytest.raises(io.DataError, match=r'nothing_\*\.npz: matches no file'):
    io.find_files(str(tmp_path / 'nothing_*.npz'))


def test_absent_time_index_is_named(tmp_path, good_arrays):
  _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', **good_arrays)
  with pytest.raises(io.DataError, match=r'time index tc04 absent.*\[7\]'):
    io.find_files(str(tmp_path / '*.npz'), time_index=4)


def test_wrong_shapes_are_named(tmp_path, good_arrays):
  bad = dict(good_arrays, positions=good_arrays['positions'][:, :-1])
  path = _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', **bad)
  with pytest.raises(io.DataError, match=rf'{path}: trajectory positions must have shape'):
    io.read_botan_npz(path)
  bad = dict(good_arrays, initial_positions=good_arrays['initial_positions'][:, :2])
  path = _write(tmp_path / 'isoconfig_N40T0.44_2_tc07.npz', **bad)
  with pytest.raises(io.DataError, match=rf'{path}: initial positions must have shape'):
    io.read_botan_npz(path)


def test_nan_and_inf_positions_are_named(tmp_path, good_arrays):
  positions = good_arrays['positions'].copy()
  positions[0, 3, 1] = np.nan
  path = _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', **dict(good_arrays, positions=positions))
  with pytest.raises(io.DataError, match=rf'{path}: trajectory positions contain 1 NaN/inf'):
    io.read_botan_npz(path)
  initial = good_arrays['initial_positions'].copy()
  initial[5, 0] = np.inf
  path = _write(tmp_path / 'isoconfig_N40T0.44_2_tc07.npz',
                **dict(good_arrays, initial_positions=initial))
  with pytest.raises(io.DataError, match=rf'{path}: initial positions contain 1 NaN/inf'):
    io.read_botan_npz(path)


def test_types_other_than_0_and_1_are_named(tmp_path, good_arrays):
  types = good_arrays['types'].copy()
  types[0] = 2
  path = _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', **dict(good_arrays, types=types))
  with pytest.raises(io.DataError, match=rf'{path}: particle types must be 0 \(A\) or 1 \(B\); found \[2\]'):
    io.read_botan_npz(path)


def test_missing_keys_and_unreadable_files_are_named(tmp_path, good_arrays):
  path = _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', types=good_arrays['types'])
  with pytest.raises(io.DataError, match=rf"{path}: missing keys \['initial_positions'\]"):
    io.read_botan_npz(path)
  garbage = tmp_path / 'isoconfig_N40T0.44_2_tc07.npz'
  garbage.write_bytes(b'not an npz')
  with pytest.raises(io.DataError, match=f'{garbage}: not a readable npz'):
    io.read_botan_npz(garbage)


@pytest.mark.parametrize('change,message', [
    (dict(types=lambda a: np.where(a['types'] == 1, 0.5, 0.0)), r'found \[0\.5\]'),
    (dict(types=lambda a: a['types'].astype(np.int64) + 2 ** 32), r'found \[4294967296'),
    (dict(types=lambda a: np.where(a['types'] == 1, 'B', 'A')), 'must be numbers'),
    (dict(box=lambda a: np.full(3, np.inf)), 'box must be 3 positive finite lengths'),
    (dict(box=lambda a: np.ones(2) * 9.0), 'malformed contents'),
    (dict(time=lambda a: np.ones(3)), 'malformed contents'),
])
def test_malformed_contents_are_named_not_converted(tmp_path, good_arrays, change, message):
  arrays = dict(good_arrays, **{key: make(good_arrays) for key, make in change.items()})
  path = _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', **arrays)
  with pytest.raises(io.DataError, match=rf'{path}: .*{message}'):
    io.read_botan_npz(path)


def test_damaged_files_and_off_table_names_are_named(tmp_path, good_arrays):
  path = _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', **good_arrays)
  data = open(path, 'rb').read()
  truncated = tmp_path / 'isoconfig_N40T0.44_2_tc07.npz'
  truncated.write_bytes(data[:len(data) // 2])
  with pytest.raises(io.DataError, match=f'{truncated}: not a readable npz'):
    io.read_botan_npz(truncated)
  off_table = _write(tmp_path / 'isoconfig_N40T0.44_3_tc11.npz', **good_arrays)
  with pytest.raises(io.DataError, match=f'{off_table}: Time index 11 outside 1..10'):
    io.read_botan_npz(off_table)
  only_types = _write(tmp_path / 'isoconfig_N40T0.44_4_tc07.npz', types=good_arrays['types'])
  with pytest.raises(io.DataError, match=rf"^{only_types}: missing keys"):  # Named once.
    io.read_botan_npz(only_types)


def test_paths_with_glob_characters_are_taken_literally(tmp_path, good_arrays):
  directory = tmp_path / 'run[1]'
  directory.mkdir()
  path = _write(directory / 'isoconfig_N40T0.44_1_tc07.npz', **good_arrays)
  assert io.find_files(path) == [path]
  assert io.find_files(str(directory)) == [path]


def test_stored_box_time_and_temperature_take_precedence(tmp_path, good_arrays):
  # T=0.47 has no Table I row, so any stored time is taken as it is.
  path = _write(tmp_path / 'isoconfig_N40T0.44_1_tc07.npz', box=np.full(3, 9.0), time=2.5,
                temperature=0.47, **good_arrays)
  sample = io.read_botan_npz(path)
  assert sample.box.tolist() == [9.0] * 3 and sample.time == 2.5 and sample.temperature == 0.47
  assert io.read_botan_npz(path, box=7.0).box.tolist() == [7.0] * 3


def test_stored_time_off_the_table_is_refused_naming_the_table(tmp_path, good_arrays):
  # A file of the provisional T=0.64 row: tc04 was 0.522, the paper's is 0.52.
  old = _write(tmp_path / 'isoconfig_N40T0.64_1_tc04.npz', time=0.522, temperature=0.64,
               **good_arrays)
  with pytest.raises(io.DataError, match=r'stores time 0.522 for tc04 at T=0.64, but Table I '
                     r'gives 0.52 there. The file was made with another time table'):
    io.load_sample(old)
  good = _write(tmp_path / 'isoconfig_N40T0.64_2_tc04.npz', time=0.52, temperature=0.64,
                **good_arrays)
  assert io.load_sample(good).time == 0.52
  # The graph builder reads through the same reader, cache or not.
  with pytest.raises(io.DataError, match='another time table'):
    input_pipeline.load_graph(old, cache_dir=str(tmp_path / 'cache'))


def test_atomic_write_leaves_no_partial_file(tmp_path):
  target = tmp_path / 'out.npz'
  io.save_npz(target, x=np.arange(3))
  with pytest.raises(RuntimeError):
    with io.atomic_path(target) as tmp:
      with open(tmp, 'wb') as f:
        f.write(b'partial')
      raise RuntimeError('interrupted')
  np.testing.assert_array_equal(np.load(target)['x'], np.arange(3))
  assert [p.name for p in tmp_path.iterdir()] == ['out.npz']


def test_jsonl_drops_a_torn_last_line_and_names_a_damaged_one(tmp_path):
  path = tmp_path / 'metrics.jsonl'
  path.write_text('{"step": 0}\n{"step": 1}\n{"step": 2, "lo')
  assert io.read_jsonl(path) == [{'step': 0}, {'step': 1}]
  path.write_text('{"step": 0}\n{"st\n{"step": 2}\n')
  with pytest.raises(io.DataError, match=f'{path}: line 2 is not JSON'):
    io.read_jsonl(path)


def test_a_files_own_time_table_is_what_its_tcxx_indexes(tmp_path, good_arrays):
  table = np.array([0.01, 0.02, 0.05, 0.1])  # A generator run with config.time_table at T=0.64.
  own = _write(tmp_path / 'isoconfig_N40T0.64_1_tc03.npz', time=0.05, temperature=0.64,
               time_table=table, **good_arrays)
  assert io.load_sample(own).time == 0.05
  wrong = _write(tmp_path / 'isoconfig_N40T0.64_2_tc03.npz', time=0.1, temperature=0.64,
                 time_table=table, **good_arrays)
  with pytest.raises(io.DataError, match='not entry tc03 of its own time_table'):
    io.load_sample(wrong)

"""Simulation files in (LAMMPS data and dumps, extxyz, GSD), BOTAN npz from replicas, OVITO out.

The fixtures in tests/data/formats/ were written by the real programs, by
`python -m scripts.make_format_fixtures` (see its docstring), never by these readers:
  config.data                LAMMPS 22 Jul 2025 `write_data` of a Kob-Andersen configuration
                             (N=343, density 1.2, NVT at T=0.64 after a melt).
  config.npz                 that configuration as ASE reads config.data (the reference).
  config.extxyz              the same, written by ASE 3.29 (species Ar = A, Ne = B).
  config.gsd                 the same, written by gsd 5.0.1 in HOOMD's centred box (float32).
  replica{1,2}.lammpstrj     two NVE replicas of config.data, LAMMPS `write_dump` of
                             `id type xu yu zu` at t = 0, 0.1, 0.52 (dt 0.001).
  replica1_images.lammpstrj  replica 1 as `id type x y z ix iy iz` at the same steps.
  replica{1,2}.gsd           the replicas' frames written by gsd (wrapped, with image flags).
Bad inputs are these files edited as a user's mistake or a crash would (a truncated dump,
a third type, ...).
"""

import os
import re
import shutil
import subprocess

import ase.io
import gsd.hoomd
import numpy as np
import pytest
from absl import logging as absl_logging

import botan_jax
from botan_jax import convert
from botan_jax import export
from botan_jax import formats
from botan_jax import graphs
from botan_jax import input_pipeline
from botan_jax import io
from tests import conftest
from tests.test_cli import BOTAN, assert_user_error, run_main

DATA = os.path.join(conftest.ROOT, 'tests', 'data', 'formats')
REPLICA_DUMPS = os.path.join(DATA, 'replica[12].lammpstrj')
TIMES = (0.1, 0.52)


def fixture(name: str) -> str:
  return os.path.join(DATA, name)


@pytest.fixture(scope='module')
def reference() -> io.Sample:
  return io.read_botan_npz(fixture('config.npz'))


# file, read keywords, position tolerance (sigma_AA): dumps print 10 digits, GSD float32.
SAME_CONFIGURATION = [
    ('config.data', {}, 1e-12),
    ('replica1.lammpstrj', {}, 1e-8),
    ('replica1_images.lammpstrj', {}, 1e-8),
    ('config.extxyz', dict(type_map='Ar:A,Ne:B'), 1e-7),
    ('config.gsd', {}, 1e-6),
]


@pytest.mark.parametrize('name, keywords, tolerance', SAME_CONFIGURATION)
def test_each_format_reads_the_configuration_of_its_npz(reference, name, keywords, tolerance):
  sample = botan_jax.read(fixture(name), **keywords)
  np.testing.assert_array_equal(sample.types, reference.types)
  np.testing.assert_allclose(sample.box, reference.box, rtol=1e-7)  # GSD: float32.
  assert np.all((sample.initial_positions >= 0) & (sample.initial_positions < sample.box))
  gap = graphs.minimum_image(sample.initial_positions - reference.initial_positions, sample.box)
  assert np.abs(gap).max() < tolerance
  assert sample.trajectory_positions is None


def test_an_explicit_format_reads_a_file_without_its_suffix(tmp_path, reference):
  path = tmp_path / 'dump.ka.0'
  shutil.copy(fixture('replica1.lammpstrj'), path)
  with pytest.raises(io.DataError, match='unknown format'):
    botan_jax.read(path)
  sample = botan_jax.read(path, format='lammps-dump', frame=0)
  np.testing.assert_allclose(sample.box, reference.box)
  later = botan_jax.read(path, format='lammps-dump', frame=-1)
  assert np.abs(later.initial_positions - sample.initial_positions).max() > 1e-3
  with pytest.raises(io.DataError, match=r'frame 3 absent; the file holds 3 frames'):
    botan_jax.read(path, format='lammps-dump', frame=3)


def test_dump_rows_in_any_order_are_sorted_by_id(tmp_path, reference):
  def shuffle_first_frame(text):
    lines = text.split('\n')
    start = lines.index('ITEM: ATOMS id type xu yu zu') + 1
    rows = lines[start:start + 343]
    lines[start:start + 343] = [rows[k] for k in np.random.default_rng(1).permutation(343)]
    return '\n'.join(lines)
  path = _edited(tmp_path, 'replica1.lammpstrj', shuffle_first_frame)
  assert open(path).read() != open(fixture('replica1.lammpstrj')).read()
  sample = botan_jax.read(path)
  np.testing.assert_array_equal(sample.types, reference.types)
  gap = graphs.minimum_image(sample.initial_positions - reference.initial_positions, sample.box)
  assert np.abs(gap).max() < 1e-8


def test_the_dump_reader_agrees_with_ase_on_unwrapped_dumps():
  ours = formats.read_frames(fixture('replica2.lammpstrj'))
  theirs = ase.io.read(fixture('replica2.lammpstrj'), index=':', format='lammps-dump-text')
  assert [f.step for f in ours] == [0, 100, 520] == [a.info['timestep'] for a in theirs]
  for frame, atoms in zip(ours, theirs):
    np.testing.assert_array_equal(frame.unwrapped, atoms.get_positions())
    np.testing.assert_array_equal(frame.labels.astype(int), atoms.arrays['type'])


def test_image_flags_unwrap_as_xu_yu_zu_do_across_the_boundary():
  with_images = formats.read_frames(fixture('replica1_images.lammpstrj'))
  unwrapped = formats.read_frames(fixture('replica1.lammpstrj'))
  box = with_images[0].box
  # The fixture crosses the boundary: some particles' image flags change between frames.
  images = [np.rint((f.unwrapped - f.positions) / box) for f in with_images]
  assert np.any(images[-1] != images[0], axis=1).sum() >= 5
  for a, b in zip(with_images, unwrapped):
    np.testing.assert_allclose(a.unwrapped, b.unwrapped, rtol=0, atol=1e-8)


@pytest.fixture(scope='module')
def model1_model():
  return botan_jax.load_model(f'pyg:{conftest.model1()}')


def test_predictions_from_each_format_equal_the_prediction_from_the_npz(model1_model, reference):
  expected = model1_model.predict_sample(reference)
  for name, keywords, _ in SAME_CONFIGURATION:
    got = model1_model.predict_sample(botan_jax.read(fixture(name), **keywords))
    tolerance = 1e-3 if name.endswith('.gsd') else 1e-5
    # GSD's float32 positions keep this configuration's edge set (no pair within 1e-6 of 2.0).
    np.testing.assert_array_equal(got.edge_index, expected.edge_index, err_msg=name)
    np.testing.assert_allclose(got.node, expected.node, rtol=0, atol=tolerance, err_msg=name)
    np.testing.assert_allclose(got.edge, expected.edge, rtol=0, atol=tolerance, err_msg=name)


def _independent_targets(times_index: int) -> tuple[np.ndarray, dict[tuple[int, int], float]]:
  """S_i and E_ij of the replica dumps at TIMES[times_index], from ASE's reading and numpy alone."""
  runs = [ase.io.read(fixture(f'replica{k}.lammpstrj'), index=':', format='lammps-dump-text')
          for k in (1, 2)]
  start = [run[0].get_positions() for run in runs]
  later = [run[1 + times_index].get_positions() for run in runs]
  box = runs[0][0].cell.lengths()
  s = np.mean([np.linalg.norm(b - a, axis=1) for a, b in zip(start, later)], axis=0)

  def distances(x):
    d = x[None, :, :] - x[:, None, :]
    return np.linalg.norm(d - box * np.round(d / box), axis=-1)

  r0 = distances(start[0])
  change = np.mean([distances(b) - distances(a) for a, b in zip(start, later)], axis=0)
  i, j = np.nonzero((r0 < 2.0) & ~np.eye(len(r0), dtype=bool))
  return s, {(a, b): change[a, b] for a, b in zip(i, j)}


@pytest.mark.parametrize('times_index', [0, 1])
def test_convert_gives_the_targets_of_an_independent_computation(tmp_path, times_index):
  written = convert.convert(REPLICA_DUMPS, str(tmp_path), TIMES, 0.64, 401)
  assert [os.path.basename(p) for p in written] == ['isoconfig_N343T0.64_401_tc02.npz',
                                                    'isoconfig_N343T0.64_401_tc04.npz']
  sample = io.read_botan_npz(written[times_index])
  assert sample.time == TIMES[times_index] and sample.temperature == 0.64
  assert sample.trajectory_positions.shape == (2, 343, 3)
  graph = input_pipeline.make_graph(sample)
  s, e = _independent_targets(times_index)
  np.testing.assert_allclose(graph.nodes['target'], s, rtol=0, atol=1e-6)
  got = {(a, b): v for a, b, v in zip(graph.senders, graph.receivers, graph.edges['target'])}
  assert set(got) == set(e)
  np.testing.assert_allclose([got[k] for k in e], list(e.values()), rtol=0, atol=1e-6)
  with np.load(written[times_index]) as stored:
    assert stored['time_table'][1] == 0.1 and stored['time_table'][3] == 0.52  # Table I, T=0.64.


def test_convert_of_image_flags_and_of_gsd_equals_convert_of_xu(tmp_path):
  by_xu = io.read_botan_npz(convert.convert(REPLICA_DUMPS, str(tmp_path / 'xu'), TIMES[1:],
                                            0.64, 1)[0])
  images = str(tmp_path / 'images.lammpstrj')
  shutil.copy(fixture('replica1_images.lammpstrj'), images)
  shutil.copy(fixture('replica2.lammpstrj'), tmp_path / 'replica2.lammpstrj')
  by_images = io.read_botan_npz(convert.convert(
      f'{tmp_path}/*.lammpstrj', str(tmp_path / 'images'), TIMES[1:], 0.64, 1)[0])
  np.testing.assert_allclose(by_images.trajectory_positions, by_xu.trajectory_positions,
                             rtol=0, atol=1e-8)
  by_gsd = io.read_botan_npz(convert.convert(
      fixture('replica[12].gsd'), str(tmp_path / 'gsd'), TIMES[1:], 0.64, 1)[0])
  moved_xu = by_xu.trajectory_positions - by_xu.initial_positions
  moved_gsd = by_gsd.trajectory_positions - by_gsd.initial_positions
  np.testing.assert_allclose(moved_gsd, moved_xu, rtol=0, atol=2e-6)


def test_convert_off_table_times_index_the_given_times(tmp_path):
  written = convert.convert(REPLICA_DUMPS, str(tmp_path), (0.52, 0.1), 0.7, 2, dt=0.001)
  assert [os.path.basename(p) for p in written] == ['isoconfig_N343T0.70_2_tc01.npz',
                                                    'isoconfig_N343T0.70_2_tc02.npz']
  with np.load(written[0]) as stored:
    assert stored['time_table'].tolist() == [0.52, 0.1] and float(stored['time']) == 0.52


# Bad inputs: each an edit of a real file, each refused with its reason.
def _edited(tmp_path, name: str, edit, new_name: str | None = None) -> str:
  with open(fixture(name)) as f:
    text = f.read()
  path = str(tmp_path / (new_name or name))
  with open(path, 'w') as f:
    f.write(edit(text))
  return path


def _set_atom_line(text: str, frame: int, row: int, edit) -> str:
  """`text` with the `row`-th atom line of dump frame `frame` replaced by edit(fields)."""
  lines = text.split('\n')
  starts = [k for k, line in enumerate(lines) if line.startswith('ITEM: ATOMS')]
  k = starts[frame] + 1 + row
  lines[k] = ' '.join(edit(lines[k].split()))
  return '\n'.join(lines)


def test_a_non_cubic_box_is_refused(tmp_path):
  lines = open(fixture('replica1.lammpstrj')).read().split('\n')
  lines[7] = '0 7.0'  # z bounds of the first frame
  path = str(tmp_path / 'box.lammpstrj')
  open(path, 'w').write('\n'.join(lines))
  with pytest.raises(io.DataError, match=r'\[0\]: the box .* is not cubic'):
    botan_jax.read(path)


def test_a_triclinic_box_is_refused_unless_its_tilts_are_zero(tmp_path, reference):
  def tilt(value):
    def edit(text):
      lines = text.split('\n')
      lines[4] = 'ITEM: BOX BOUNDS xy xz yz pp pp pp'
      lines[5] += f' {value}'
      lines[6:8] = [line + ' 0' for line in lines[6:8]]
      return '\n'.join(lines)
    return edit
  path = _edited(tmp_path, 'replica1.lammpstrj', tilt(0.3), 'tilted.lammpstrj')
  with pytest.raises(io.DataError, match=r'\[0\]: the box is triclinic \(tilts \[0.3, 0.0, 0.0\]\)'):
    botan_jax.read(path)
  upright = botan_jax.read(_edited(tmp_path, 'replica1.lammpstrj', tilt(0), 'upright.lammpstrj'))
  np.testing.assert_allclose(upright.box, reference.box)


def test_a_non_periodic_box_is_refused(tmp_path):
  path = _edited(tmp_path, 'replica1.lammpstrj',
                 lambda t: t.replace('ITEM: BOX BOUNDS pp pp pp', 'ITEM: BOX BOUNDS pp pp fm', 1))
  with pytest.raises(io.DataError, match=r'not periodic along z'):
    botan_jax.read(path)
  atoms = ase.io.read(fixture('config.extxyz'))
  atoms.pbc = False
  ase.io.write(tmp_path / 'open.extxyz', atoms)
  with pytest.raises(io.DataError, match=r'not periodic along xyz'):
    botan_jax.read(tmp_path / 'open.extxyz', type_map='Ar:A,Ne:B')


def test_a_third_atom_type_is_refused(tmp_path):
  path = _edited(tmp_path, 'replica1.lammpstrj',
                 lambda t: _set_atom_line(t, 0, 5, lambda f: f[:1] + ['3'] + f[2:]))
  with pytest.raises(io.DataError, match=r"atom types \['3'\] are not in the type map .*--type_map"):
    botan_jax.read(path)
  with pytest.raises(io.DataError, match=r"atom types \['Ar', 'Ne'\] are not in the type map"):
    botan_jax.read(fixture('config.extxyz'))  # The default map knows 1, 2, A and B.
  with pytest.raises(io.DataError, match=r'each entry must be LABEL:A or LABEL:B'):
    botan_jax.read(fixture('config.extxyz'), type_map='Ar:A,Ne:C')


def test_extxyz_species_that_are_not_elements_are_refused_with_the_remedy(tmp_path):
  lines = open(fixture('config.extxyz')).read().split('\n')
  lines[2:] = [re.sub(r'^Ar ', 'A  ', re.sub(r'^Ne ', 'B  ', line)) for line in lines[2:]]
  path = tmp_path / 'names.extxyz'
  path.write_text('\n'.join(lines))
  with pytest.raises(io.DataError, match=r"names.extxyz: species 'A' is not a chemical element.*"
                     r'--type_map=Ar:A,Ne:B'):
    botan_jax.read(path)


def test_frames_with_different_n_are_refused(tmp_path):
  def drop_last_atom(text):
    head, last = text.rsplit('ITEM: TIMESTEP', 1)
    last = last.replace('\n343\n', '\n342\n', 1).rstrip('\n').rsplit('\n', 1)[0] + '\n'
    return head + 'ITEM: TIMESTEP' + last
  _edited(tmp_path, 'replica1.lammpstrj', drop_last_atom)
  shutil.copy(fixture('replica2.lammpstrj'), tmp_path)
  with pytest.raises(io.DataError, match=r'replica1.lammpstrj\[2\]: 342 particles, but the '
                     'first frame has 343'):
    convert.convert(f'{tmp_path}/*.lammpstrj', str(tmp_path / 'out'), TIMES, 0.64, 1)


def test_replicas_that_disagree_at_t0_are_refused(tmp_path):
  shutil.copy(fixture('replica1.lammpstrj'), tmp_path)
  _edited(tmp_path, 'replica2.lammpstrj', lambda t: _set_atom_line(
      t, 0, 9, lambda f: f[:2] + [f'{float(f[2]) + 0.01:.10g}'] + f[3:]))
  with pytest.raises(io.DataError, match=r'replica2.lammpstrj: at t=0, particle 10 \(by id\) is '
                     r'0.01 sigma_AA from its place .*1 particles beyond'):
    convert.convert(f'{tmp_path}/*.lammpstrj', str(tmp_path / 'out'), TIMES, 0.64, 1)
  assert not os.path.exists(tmp_path / 'out')


def test_a_time_absent_from_a_dump_is_refused(tmp_path):
  with pytest.raises(io.DataError, match=r'no frame at t=0.165 \(step 165 with dt=0.001\); the '
                     r'file holds t = 0, 0.1, 0.52'):
    convert.convert(REPLICA_DUMPS, str(tmp_path), (0.1, 0.165), 0.64, 1)
  with pytest.raises(io.DataError, match=r'no frame at t=0.1 '):
    convert.convert(REPLICA_DUMPS, str(tmp_path), (0.1,), 0.64, 1, dt=0.005)


def test_wrapped_positions_without_images_are_refused(tmp_path):
  def drop_images(text):
    out = []
    for line in text.split('\n'):
      if line.startswith('ITEM: ATOMS'):
        out.append('ITEM: ATOMS id type x y z')
      elif len(line.split()) == 8:
        out.append(' '.join(line.split()[:5]))
      else:
        out.append(line)
    return '\n'.join(out)
  _edited(tmp_path, 'replica1_images.lammpstrj', drop_images, 'replica1.lammpstrj')
  with pytest.raises(io.DataError, match=r'wrapped positions without image flags.*xu yu zu'):
    convert.convert(str(tmp_path / 'replica1.lammpstrj'), str(tmp_path / 'out'), TIMES, 0.64, 1)
  # Prediction needs no unwrapping: the same file reads.
  assert botan_jax.read(tmp_path / 'replica1.lammpstrj').num_particles == 343


def test_a_truncated_dump_is_refused(tmp_path):
  path = _edited(tmp_path, 'replica1.lammpstrj', lambda t: t[:len(t) - 2000])
  with pytest.raises(io.DataError, match=r'truncated: the frame of step 520 has \d+ of its 343 '
                     'atom lines'):
    botan_jax.read(path)
  # Cut at a line boundary, which ASE 3.29 reads as a frame of 333 atoms without complaint.
  whole_lines = _edited(tmp_path, 'replica1.lammpstrj',
                        lambda t: '\n'.join(t.split('\n')[:-11]) + '\n', 'lines.lammpstrj')
  with pytest.raises(io.DataError, match=r'the frame of step 520 has 333 of its 343 atom lines'):
    botan_jax.read(whole_lines)
  cut_in_header = _edited(tmp_path, 'replica1.lammpstrj',
                          lambda t: t[:t.index('ITEM: BOX BOUNDS', 100)], 'header.lammpstrj')
  with pytest.raises(io.DataError, match=r'truncated|malformed'):
    botan_jax.read(cut_in_header)
  gsd_path = tmp_path / 'cut.gsd'
  gsd_path.write_bytes(open(fixture('config.gsd'), 'rb').read()[:3000])
  with pytest.raises(io.DataError, match=r'cut.gsd: not a readable GSD file'):
    botan_jax.read(gsd_path)


def test_a_density_off_1_2_warns_and_strict_refuses(tmp_path, caplog):
  path = _edited(tmp_path, 'config.data',
                 lambda t: re.sub(r'0 6\.587252202167199 (\w)lo', r'0 7.0 \1lo', t))
  caplog.set_level('WARNING')
  absl_logging.get_absl_handler()  # absl's warnings reach caplog through the root logger.
  sample = botan_jax.read(path)
  assert sample.box.tolist() == [7.0] * 3
  assert re.search(r'number density 1 is -16\.7% off the 1\.2 the model knows', caplog.text)
  with pytest.raises(io.DataError, match=r'number density 1 is -16\.7%.*Refused with --strict'):
    botan_jax.read(path, strict=True)
  caplog.clear()
  botan_jax.read(fixture('config.data'), strict=True)
  assert 'number density' not in caplog.text


def test_the_paper_s_size_round_trips_through_ase_and_gsd(tmp_path, model1_model):
  sample = io.read_botan_npz(conftest.test_file(401))
  positions = graphs.wrap(sample.initial_positions, sample.box)
  atoms = ase.Atoms(symbols=np.where(sample.types == 0, 'Ar', 'Ne'), positions=positions,
                    cell=np.diag(sample.box), pbc=True)
  ase.io.write(tmp_path / 'c401.extxyz', atoms)
  with gsd.hoomd.open(tmp_path / 'c401.gsd', 'w') as f:
    frame = gsd.hoomd.Frame()
    frame.configuration.box = [*sample.box, 0, 0, 0]
    frame.particles.N = sample.num_particles
    frame.particles.position = (positions - sample.box / 2).astype(np.float32)
    frame.particles.types = ['A', 'B']
    frame.particles.typeid = sample.types.astype(np.uint32)
    f.append(frame)
  reference = input_pipeline.make_graph(sample)
  expected = model1_model.predict_sample(sample)
  for name, keywords, tolerance in (('c401.extxyz', dict(type_map='Ar:A,Ne:B'), 1e-7),
                                    ('c401.gsd', {}, 2e-6)):
    read = botan_jax.read(tmp_path / name, **keywords)
    assert read.num_particles == 4096
    np.testing.assert_array_equal(read.types, sample.types)
    gap = graphs.minimum_image(read.initial_positions - positions, sample.box)
    assert np.abs(gap).max() < tolerance, name
    graph = input_pipeline.make_graph(read)
    np.testing.assert_array_equal(graph.senders, reference.senders)
    np.testing.assert_array_equal(graph.receivers, reference.receivers)
    # Measured: S and E within 7e-6 of the npz's for both (166240 edges, the same set).
    got = model1_model.predict_sample(read)
    np.testing.assert_allclose(got.node, expected.node, rtol=0, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(got.edge, expected.edge, rtol=0, atol=1e-4, err_msg=name)


def test_ovito_files_hold_the_prediction(tmp_path, reference):
  graph = input_pipeline.make_graph(io.read_botan_npz(convert.convert(
      REPLICA_DUMPS, str(tmp_path), TIMES[1:], 0.64, 1)[0]))
  from botan_jax import inference  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  record = inference.prediction_record(graph, rng.random(343), rng.random(len(graph.senders)))
  sample = io.read_botan_npz(os.path.join(tmp_path, 'isoconfig_N343T0.64_1_tc04.npz'))
  extxyz, bonds = export.write_for_ovito(str(tmp_path / 'c_pred.npz'), sample, record)
  atoms = ase.io.read(extxyz)
  np.testing.assert_array_equal(atoms.numbers, np.where(sample.types == 0, 18, 10))
  np.testing.assert_allclose(atoms.arrays['S_pred'], record['node_pred'], atol=1e-7)
  np.testing.assert_allclose(atoms.arrays['S_true'], record['node_target'], atol=1e-7)
  np.testing.assert_allclose(atoms.arrays['S_error'], record['node_pred'] - record['node_target'],
                             atol=2e-7)
  with open(extxyz) as f:
    assert 'species:S:1:pos:R:3' in f.readlines()[1]
  again = botan_jax.read(extxyz, type_map='Ar:A,Ne:B')  # Through its Z column.
  np.testing.assert_array_equal(again.types, sample.types)
  np.testing.assert_allclose(again.initial_positions, graphs.wrap(sample.initial_positions,
                                                                  sample.box), atol=1e-7)
  table = np.loadtxt(bonds, skiprows=9)
  assert len(table) == len(graph.senders) // 2
  with open(bonds) as f:
    assert f.readlines()[8].split() == ['ITEM:', 'BONDS', 'id', 'atom1', 'atom2', 'E_pred',
                                        'E_true', 'E_error']
  a, b = graph.senders[0], graph.receivers[0]
  row = table[(table[:, 1] == min(a, b) + 1) & (table[:, 2] == max(a, b) + 1)][0]
  reverse = (graph.senders == b) & (graph.receivers == a)
  assert row[3] == pytest.approx((record['edge_pred'][0] + record['edge_pred'][reverse][0]) / 2,
                                 abs=1e-6)
  assert row[4] == pytest.approx(record['edge_target'][0], abs=1e-6)


def test_command_line_predicts_a_dump_for_ovito_and_converts(tmp_path):
  model = conftest.model1()
  shutil.copy(fixture('replica1.lammpstrj'), tmp_path / 'ka.out')
  result = run_main('--mode=predict', f'--config={BOTAN}:T044_t4120',
                    f'--config.init_from=pyg:{model}', '--input=ka.out', '--format=lammps-dump',
                    '--frame=1', '--output=pred', '--write_extxyz', '--config.data.cache_dir=',
                    cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-2000:]
  assert sorted(os.listdir(tmp_path / 'pred')) == ['ka_pred.extxyz', 'ka_pred.npz',
                                                   'ka_pred_bonds.dump']
  result = run_main('--mode=convert', f'--input={fixture("replica[12].lammpstrj")}',
                    '--times=0.1,0.165', '--temperature=0.64', '--config_id=1', '--output=data',
                    cwd=tmp_path)
  assert_user_error(result, r'replica1.lammpstrj: no frame at t=0.165')
  result = run_main('--mode=convert', f'--input={fixture("replica[12].lammpstrj")}',
                    '--times=0.1', '--config_id=1', '--output=data', cwd=tmp_path)
  assert_user_error(result, r'--mode=convert needs --temperature: the one temperature')

"""--mode=benchmark: the GlassBench table equals an independent computation."""

import csv
import glob
import os

import numpy as np
import pytest

from botan_jax import errors
from botan_jax import io
from botan_jax import system
from botan_jax import train
from botan_jax.analysis import benchmark
from tests import glassbench_files
from tests import test_cli
from tests import test_glassbench


def _independent(test_dir, method, time_index):
  """Per-configuration mean and pooled Pearson with np.corrcoef, from the raw arrays."""
  per_file, pooled_x, pooled_y = [], [], []
  for path in sorted(glob.glob(os.path.join(test_dir, '*.npz'))):
    raw = np.load(path)
    a = raw['types'] == 1  # The synthetic files code A as 1, B as 2.
    x, y = raw[method][time_index - 1][a], raw['md_prop'][time_index - 1][a]
    per_file.append(np.corrcoef(x, y)[0, 1])
    pooled_x.append(x)
    pooled_y.append(y)
  return np.mean(per_file), np.corrcoef(np.concatenate(pooled_x), np.concatenate(pooled_y))[0, 1]


def _csv(path):
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def test_stored_methods_table_equals_an_independent_computation(tmp_path):
  glassbench_files.write_temperature(tmp_path / 'gb', num_train=0, num_test=4)
  test_dir = str(tmp_path / 'gb' / 'T0.44' / 'test')
  written = benchmark.benchmark(test_dir, str(tmp_path / 'out' / 'T044'))
  assert sorted(os.path.basename(p) for p in written) == [
      'T044.csv', 'T044.md', 'T044.pdf', 'T044.png']
  rows = _csv(tmp_path / 'out' / 'T044.csv')
  assert len(rows) == 4 * 10
  for row in rows:
    per_configuration, pooled = _independent(test_dir, row['method'], int(row['time_index']))
    assert float(row['per_configuration_median']) == pytest.approx(per_configuration, abs=1e-12)
    assert float(row['pooled_median']) == pytest.approx(pooled, abs=1e-12)
    assert float(row['time']) == system.time_point(0.44, int(row['time_index']))
  # The two ways differ on these files, so a table that mixed them up would fail above.
  assert any(abs(float(r['per_configuration_median']) - float(r['pooled_median'])) > 1e-3
             for r in rows)
  table = open(tmp_path / 'out' / 'T044.md').read()
  cage_4120 = next(r for r in rows if r['method'] == 'CAGE' and r['time_index'] == '7')
  assert f'{float(cage_4120["pooled_median"]):.3f}' in table


def test_our_runs_are_scored_with_median_best_worst_over_seeds(tmp_path):
  files = glassbench_files.write_temperature(tmp_path / 'gb', num_train=2, num_test=2)
  del files
  sweep = tmp_path / 'sweep' / 'T044_t4120'
  for seed in (0, 1):
    config = test_glassbench.small_glassbench_config(tmp_path, loss_p=1.0, seed=seed,
                                                     num_epochs=1)
    train.train_and_evaluate(config, str(sweep / f'seed{seed}'))
  test_dir = str(tmp_path / 'gb' / 'T0.44' / 'test')
  benchmark.benchmark(test_dir, str(tmp_path / 'out'), runs=[str(tmp_path / 'sweep')])
  ours = [r for r in _csv(tmp_path / 'out.csv') if r['method'] == 'sweep']
  assert len(ours) == 1 and ours[0]['runs'] == '2' and ours[0]['time_index'] == '7'
  values = []
  for seed in (0, 1):
    from botan_jax import api  # pylint: disable=g-import-not-at-top
    model = api.load_model(str(sweep / f'seed{seed}'))
    paths = sorted(glob.glob(os.path.join(test_dir, '*.npz')))
    predictions = [model.predict_sample(io.load_sample(p, time_index=7)).node for p in paths]
    truths = [np.load(p)['md_prop'][6] for p in paths]
    masks = [np.load(p)['types'] == 1 for p in paths]
    values.append(np.mean([np.corrcoef(x[m], y[m])[0, 1]
                           for x, y, m in zip(predictions, truths, masks)]))
  assert float(ours[0]['per_configuration_best']) == pytest.approx(max(values), abs=1e-6)
  assert float(ours[0]['per_configuration_worst']) == pytest.approx(min(values), abs=1e-6)


def test_a_folder_without_runs_is_refused(tmp_path):
  glassbench_files.write_temperature(tmp_path / 'gb', num_train=0, num_test=1)
  (tmp_path / 'empty').mkdir()
  with pytest.raises(errors.NotFoundError, match='holds no run'):
    benchmark.benchmark(str(tmp_path / 'gb' / 'T0.44' / 'test'), str(tmp_path / 'out'),
                        runs=[str(tmp_path / 'empty')])


def test_the_command_writes_the_tables_and_figure(tmp_path):
  glassbench_files.write_temperature(tmp_path / 'gb', num_train=0, num_test=2)
  result = test_cli.run_main('--mode=benchmark', '--temperature=0.44',
                             f'--data={tmp_path / "gb" / "T0.44" / "test"}',
                             f'--output={tmp_path / "tables" / "T044"}', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert sorted(os.listdir(tmp_path / 'tables')) == ['T044.csv', 'T044.md', 'T044.pdf',
                                                     'T044.png']


def test_the_published_values_are_checked_to_a_thousandth():
  entries = [dict(method=m, time_index=7, time=4120.0, per_configuration_median=v + 0.0004,
                  pooled_median=benchmark.PUBLISHED[('pooled', 0.44, 7)][m])
             for m, v in benchmark.PUBLISHED[('per_configuration', 0.44, 7)].items()]
  rows, differing = benchmark.published_check(entries, 0.44)
  assert len(rows) == 8 and differing == 0
  entries[1]['pooled_median'] += 0.002  # CAGE pooled off by 2e-3.
  rows, differing = benchmark.published_check(entries, 0.44)
  assert differing == 1 and '| CAGE | 4120 | pooled | 0.7810 | 0.779 | +0.0020 | NO |' in rows
  assert benchmark.published_check(entries, 0.30) == ([], 0)  # Nothing published at T=0.30.


@pytest.mark.slow  # Three trainings; the second CI pass only.
def test_the_structure_sweep_on_glassbench_gives_one_line_per_structure(tmp_path):
  """README's real test of BOTAN+IS: `sweep:structure` with p = 1 on GlassBench, then the table."""
  from botan_jax import sweeps  # pylint: disable=g-import-not-at-top
  from botan_jax.presets import sweep as sweep_configs  # pylint: disable=g-import-not-at-top
  glassbench_files.write_temperature(tmp_path / 'gb', num_train=2, num_test=2)
  config = sweep_configs.get_config('structure')
  config.seeds = 1
  config.train = test_glassbench.small_glassbench_config(tmp_path, loss_p=1.0, num_epochs=1)
  sweep_dir = tmp_path / 'gb_is'
  rows = sweeps.run_sweep(config, str(sweep_dir))
  assert [row['value'] for row in rows] == ['thermal', 'inherent', 'both']
  assert os.path.isdir(sweep_dir / 'T044_t4120' / 'structure=both' / 'seed0')
  table = sweeps.read_results(str(sweep_dir))
  assert [r['value'] for r in table] == ['thermal', 'inherent', 'both']
  assert '| 0.44 | 4120 | both | 1 | 1 | 0 |' in open(sweep_dir / 'results.md').read()

  test_dir = str(tmp_path / 'gb' / 'T0.44' / 'test')
  benchmark.benchmark(test_dir, str(tmp_path / 'out'), runs=[str(sweep_dir)])
  ours = {r['method']: r for r in _csv(tmp_path / 'out.csv') if r['method'].startswith('gb_is')}
  assert sorted(ours) == ['gb_is structure=both', 'gb_is structure=inherent',
                          'gb_is structure=thermal']
  for row in ours.values():
    assert row['time_index'] == '7' and row['runs'] == '1'
    assert -1.0 <= float(row['per_configuration_median']) <= 1.0
  assert len({row['pooled_median'] for row in ours.values()}) == 3

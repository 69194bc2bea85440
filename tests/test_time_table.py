"""Table I: the paper's times (and GlassBench's T=0.56 row), the presets named after them."""

import os
import re

import pytest

from botan_jax import system
from botan_jax.presets import botan
from botan_jax.presets import generate as generate_configs
from botan_jax.presets import sweep as sweep_configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The paper's Table I and GlassBench's times_T.dat (T=0.56; T=0.64 index 1), typed from them.
PAPER_ROWS = {
    0.44: (0.13, 1.30, 13.0, 130, 412, 1300, 4120, 13000, 41200, 130000),
    0.50: (0.108, 0.434, 2.17, 6.86, 21.7, 68.6, 217, 686, 2170, 6860),
    0.56: (0.104, 0.33, 0.99, 1.65, 5.2, 16.5, 52, 165, 520, 1650),
    0.64: (0.032, 0.100, 0.165, 0.52, 1.65, 5.2, 16.5, 52, 165, 520),
}


@pytest.mark.parametrize('temperature', sorted(PAPER_ROWS))
def test_each_row_is_the_papers(temperature):
  assert system.time_row(temperature) == pytest.approx(PAPER_ROWS[temperature], rel=1e-12)
  assert system.tau_alpha(temperature) == PAPER_ROWS[temperature][6]
  # Index 4 is 0.03 tau_alpha (to the table's rounding).
  assert system.time_point(temperature, 4) == pytest.approx(
      0.03 * system.tau_alpha(temperature), rel=0.06)


def test_unknown_rows_and_indices_are_named():
  assert system.table_temperatures() == (0.44, 0.50, 0.56, 0.64)
  assert system.has_time_row(0.5) and not system.has_time_row(0.47)
  assert not system.has_time_row(None)
  with pytest.raises(KeyError, match=r'No Table I row for T=0.47; the table has 0.44, 0.50'):
    system.time_row(0.47)
  with pytest.raises(KeyError, match='Time index 11'):
    system.time_point(0.44, 11)


def test_presets_name_every_table_time():
  presets = botan.list_presets()
  assert len(presets) == 40
  for name in ('T050_t0.108', 'T056_t52', 'T064_t0.032', 'T064_t0.52', 'T064_t52'):
    temperature, index = presets[name]
    config = botan.get_config(name)
    assert (config.temperature, config.data.time_index) == (temperature, index)
    assert config.time == system.time_point(temperature, index)
    assert f'T{temperature:.2f}' in config.data.train_pattern
    assert f'_tc{index:02d}.npz' in config.data.test_pattern
  assert presets['T056_t52'] == (0.56, 7) and presets['T064_t0.032'] == (0.64, 1)


@pytest.mark.parametrize('removed, nearest', [
    ('T064_t0.13', 'T064_t0.165, T064_t0.1'), ('T064_t0.522', 'T064_t0.52'),
    ('T064_t52.2', 'T064_t52'), ('T050_t0.13', 'T050_t0.108')])
def test_removed_preset_names_point_to_the_nearest_valid_ones(removed, nearest):
  with pytest.raises(ValueError, match=re.escape(f'Unknown preset {removed!r} of botan. '
                                                 f'Nearest: {nearest}')):
    botan.get_config(removed)


def test_generate_presets_cover_the_four_temperatures():
  for preset, temperature in (('T044', 0.44), ('T050', 0.50), ('T056', 0.56), ('T064', 0.64)):
    assert generate_configs.get_config(preset).temperature == temperature
  assert len(sweep_configs.get_config('T056').presets) == 10
  assert len(sweep_configs.get_config('all').presets) == 40


def test_readme_preset_table_is_list_presets():
  with open(os.path.join(ROOT, 'README.md')) as f:
    readme = f.read()
  rows = re.findall(r'^\| (0\.\d\d) \| (`T\d{3}_t[^|]*) \|$', readme, re.MULTILINE)
  in_readme = {float(t): re.findall(r'`([^`]+)`', names) for t, names in rows}
  expected = {}
  for name, (temperature, _) in botan.list_presets().items():
    expected.setdefault(temperature, []).append(name)
  assert in_readme == expected

"""The Roadmap's benchmark (GlassBench) at one temperature: our models against the stored methods.

For each time index of GlassBench's ten, on the same test files, the Pearson
correlation of the predicted and the actual propensity S on the type-A
particles, two ways:
  per configuration   r per test file, then the mean over files (the paper's
                      way, and this project's everywhere else);
  pooled              one r over the A particles of all test files together
                      (GlassBench's FIG*.dat).
Scored: every stored method of the test files (`glassbench.METHODS`) at every
time index, and our models (run directories, or sweep directories holding
them) at the time index each was trained for; several runs of one setting
(seeds of a sweep, `.../seed{k}`) give the median, best and worst.

`benchmark(...)` writes `{output}.md`, `{output}.csv` and a Pearson-versus-time
figure `{output}.png` / `.pdf` (`--mode=benchmark`).
"""

import collections
import csv
import dataclasses
import os
import time
from collections.abc import Sequence

import numpy as np
from absl import logging

from botan_jax import errors
from botan_jax import glassbench
from botan_jax import io
from botan_jax import layout
from botan_jax import metrics
from botan_jax import progress
from botan_jax import system

WAYS = ('per_configuration', 'pooled')

# The published Pearson values of the stored predictions (S on type A), which scoring the same
# files must reproduce to PUBLISHED_TOLERANCE: pooled, from GlassBench's KA_results/FIG1.dat
# (T=0.44 at t=130 and 4120; the other temperatures at tau_alpha, Table I index 7), and per
# configuration at T=0.44, t=4120 as EIGNN's repository scores them.
# (way, temperature, time index) -> method -> r.
PUBLISHED = {
    ('pooled', 0.44, 4): dict(BOTAN=0.695, CAGE=0.827, GlassMLP=0.725, SE3=0.713),
    ('pooled', 0.44, 7): dict(BOTAN=0.755, CAGE=0.779, GlassMLP=0.768, SE3=0.815),
    ('pooled', 0.50, 7): dict(BOTAN=0.691, CAGE=0.764, GlassMLP=0.718, SE3=0.771),
    ('pooled', 0.56, 7): dict(BOTAN=0.668, CAGE=0.694, GlassMLP=0.641, SE3=0.715),
    ('pooled', 0.64, 7): dict(BOTAN=0.658, CAGE=0.633, GlassMLP=0.555, SE3=0.672),
    ('per_configuration', 0.44, 7): dict(BOTAN=0.752, CAGE=0.782, GlassMLP=0.756, SE3=0.791),
}
PUBLISHED_TOLERANCE = 1e-3
CSV_FIELDS = ('temperature', 'time_index', 'time', 'method', 'runs', 'files',
              *(f'{way}_{stat}' for way in WAYS for stat in ('median', 'best', 'worst')))


def per_configuration_pearson(predictions: Sequence[np.ndarray], truths: Sequence[np.ndarray],
                              masks: Sequence[np.ndarray]) -> float:
  """Mean over configurations of the Pearson r of prediction and truth (N,) on `mask` (N,)."""
  return float(np.mean([metrics.pearson(p, t, m) for p, t, m in zip(predictions, truths, masks)]))


def pooled_pearson(predictions: Sequence[np.ndarray], truths: Sequence[np.ndarray],
                   masks: Sequence[np.ndarray]) -> float:
  """One Pearson r over the masked entries of all configurations together."""
  return metrics.pearson(np.concatenate(predictions), np.concatenate(truths),
                         np.concatenate(masks))


def scores(predictions: Sequence[np.ndarray], truths: Sequence[np.ndarray],
           masks: Sequence[np.ndarray]) -> dict[str, float]:
  """{'per_configuration': r, 'pooled': r} (see the module docstring)."""
  return dict(per_configuration=per_configuration_pearson(predictions, truths, masks),
              pooled=pooled_pearson(predictions, truths, masks))


@dataclasses.dataclass(frozen=True)
class Row:
  """One method at one time index; `per_configuration` and `pooled` hold one value per run."""
  method: str
  time_index: int
  per_configuration: tuple[float, ...]
  pooled: tuple[float, ...]


def score_stored(files: Sequence[glassbench.ScoringFile]) -> list[Row]:
  """The stored methods present in every file, at each of the ten time indices."""
  methods = [m for m in glassbench.METHODS if all(m in f.predictions for f in files)]
  masks = [f.types == system.ParticleType.A for f in files]
  rows = []
  for method in methods:
    for k in range(glassbench.NUM_TIMES):
      result = scores([f.predictions[method][k] for f in files],
                      [f.propensity[k] for f in files], masks)
      rows.append(Row(method, k + 1, (result['per_configuration'],), (result['pooled'],)))
  return rows


def find_runs(paths: Sequence[str]) -> dict[str, list[str]]:
  """Label -> run directories: one label per path given (its folder name), each path a run
  (it has checkpoints/) or a sweep searched for runs. A sweep's runs at several times make one
  line over time (each run is scored at its own time index; its seeds give the spread); an
  ablated field's folders (`{field}={value}`) label lines of their own."""
  groups = collections.defaultdict(list)
  for path in paths:
    if not os.path.isdir(path):
      raise errors.NotFoundError(f'{path}: no such run or sweep directory.')
    found = []
    for folder, subfolders, _ in os.walk(path):
      if layout.CHECKPOINTS_DIR in subfolders:
        found.append(folder)
        subfolders.clear()
    if not found:
      raise errors.NotFoundError(f'{path}: holds no run (no {layout.CHECKPOINTS_DIR}/ folder); '
                                 'give run or sweep directories.')
    name = os.path.basename(os.path.normpath(os.path.abspath(path)))
    for run in sorted(found):
      parts = os.path.relpath(run, path).split(os.sep)
      groups[' '.join([name, *(part for part in parts if '=' in part)])].append(run)
  return dict(groups)


def score_models(runs: dict[str, list[str]], test_paths: Sequence[str],
                 files: Sequence[glassbench.ScoringFile]) -> list[Row]:
  """Our runs, each predicting every test file at its own time index and positions read."""
  from botan_jax import api  # pylint: disable=g-import-not-at-top (jax: only when scoring runs)
  masks = [f.types == system.ParticleType.A for f in files]
  per_group = collections.defaultdict(lambda: ([], []))
  total = sum(len(group) for group in runs.values())
  done, interval, start = 0, progress.Interval(60.0), time.monotonic()
  for label, run_dirs in runs.items():
    for run_dir in run_dirs:
      model = api.load_model(run_dir)
      if model.node_target != 'S':
        raise errors.ConfigError(f'{run_dir}: predicts {model.node_target}, not S; the benchmark '
                                 'scores the propensity S.')
      index = int(model.config.data.time_index)
      positions = model.config.data.get('glassbench_positions', 'initial')
      predictions = [model.predict_sample(io.load_sample(
          p, time_index=index, glassbench_positions=positions)).node
                     for p in test_paths]
      result = scores(predictions, [f.propensity[index - 1] for f in files], masks)
      group = per_group[(label, index)]
      group[0].append(result['per_configuration'])
      group[1].append(result['pooled'])
      done += 1
      logging.info('%s (t index %d): Pearson S per configuration %.4f, pooled %.4f.', run_dir,
                   index, result['per_configuration'], result['pooled'])
      if interval.due():
        logging.info('Benchmark: %s', progress.counted(done, total, 'runs',
                                                       time.monotonic() - start))
  return [Row(label, index, tuple(values[0]), tuple(values[1]))
          for (label, index), values in per_group.items()]


def test_files(test_pattern: str) -> list[str]:
  """GlassBench test files of a directory or glob (natural order), each with stored methods."""
  paths = [p for p in io.find_files(test_pattern) if p.endswith('.npz')]
  if not paths:
    raise io.DataError(f'{test_pattern}: no GlassBench npz file.')
  return paths


def table_rows(rows: Sequence[Row], temperature: float, num_files: int) -> list[dict]:
  """The CSV rows (CSV_FIELDS): median, best and worst over a row's runs."""
  times = system.time_row(temperature) if system.has_time_row(temperature) else None
  out = []
  for row in sorted(rows, key=lambda r: (r.time_index, r.method)):
    entry = dict(temperature=temperature, time_index=row.time_index,
                 time=times[row.time_index - 1] if times else '', method=row.method,
                 runs=len(row.pooled), files=num_files)
    for way in WAYS:
      values = np.asarray(getattr(row, way), np.float64)
      for stat, reduce in (('median', np.median), ('best', np.max), ('worst', np.min)):
        entry[f'{way}_{stat}'] = float(reduce(values))
    out.append(entry)
  return out


def markdown(entries: Sequence[dict], temperature: float) -> str:
  """Two tables (per configuration, pooled): methods as rows, time indices as columns; a
  method of several runs shows 'median [worst, best]'."""
  indices = sorted({e['time_index'] for e in entries})
  methods = list(dict.fromkeys(e['method'] for e in entries))
  cell = {(e['method'], e['time_index']): e for e in entries}
  heads = [f't={e["time"]:g}' if e['time'] != '' else f'index {e["time_index"]}'
           for e in (next(x for x in entries if x['time_index'] == k) for k in indices)]
  text = [f'# GlassBench T={temperature:.2f}: Pearson of S on type A\n',
          f'{entries[0]["files"] if entries else 0} test configurations; times in LJ units; '
          'our models: median [worst, best] over runs.\n']
  for way, title in zip(WAYS, ('Per configuration, then the mean (the paper\'s way)',
                               'Pooled over all test particles (GlassBench\'s FIG*.dat)')):
    text += [f'\n## {title}\n', '| method | ' + ' | '.join(heads) + ' |',
             '|' + ' --- |' * (len(heads) + 1)]
    for method in methods:
      cells = []
      for k in indices:
        e = cell.get((method, k))
        if e is None:
          cells.append('')
        elif e['runs'] == 1:
          cells.append(f'{e[f"{way}_median"]:.3f}')
        else:
          cells.append(f'{e[f"{way}_median"]:.3f} [{e[f"{way}_worst"]:.3f}, '
                       f'{e[f"{way}_best"]:.3f}]')
      text.append(f'| {method} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(text) + '\n'


def published_check(entries: Sequence[dict], temperature: float) -> tuple[list[str], int]:
  """The stored methods' values beside the published ones (`PUBLISHED`) at `temperature`, as
  Markdown table rows, and how many differ by more than PUBLISHED_TOLERANCE."""
  rows, differing = [], 0
  for (way, published_t, index), values in PUBLISHED.items():
    if abs(published_t - temperature) > 1e-6:
      continue
    for method, published in values.items():
      entry = next((e for e in entries if e['method'] == method and e['time_index'] == index),
                   None)
      if entry is None:
        continue
      ours = entry[f'{way}_median']
      ok = abs(ours - published) <= PUBLISHED_TOLERANCE
      differing += not ok
      rows.append(f'| {method} | {entry["time"]:g} | {way.replace("_", " ")} | {ours:.4f} | '
                  f'{published:.3f} | {ours - published:+.4f} | {"yes" if ok else "NO"} |')
  return rows, differing


def figure(entries: Sequence[dict], temperature: float):
  """Pearson against t (log axis), one line per method, the two ways side by side."""
  from botan_jax.analysis import figures  # pylint: disable=g-import-not-at-top (matplotlib)
  fig, axes = figures.plt.subplots(1, 2, figsize=(10, 4), sharey=True, constrained_layout=True)
  for ax, way, title in zip(axes, WAYS, ('per configuration (mean)', 'pooled')):
    for method in dict.fromkeys(e['method'] for e in entries):
      mine = [e for e in entries if e['method'] == method and e['time'] != '']
      x = np.array([e['time'] for e in mine], np.float64)
      y = np.array([e[f'{way}_median'] for e in mine])
      low = y - np.array([e[f'{way}_worst'] for e in mine])
      high = np.array([e[f'{way}_best'] for e in mine]) - y
      marker = 'o' if method in glassbench.METHODS else 's'
      ax.errorbar(x, y, yerr=[low, high], marker=marker, capsize=3, label=method,
                  linestyle='-' if len(x) > 1 else 'none')
    ax.set_xscale('log')
    ax.set_xlabel(figures.TIME_LABEL)
    ax.set_title(f'T={temperature:.2f}, {title}')
    tau = figures.tau_alpha(temperature)
    if tau is not None:
      ax.axvline(tau, color='0.6', linestyle=':', label=r'$\tau_\alpha$')
  axes[0].set_ylabel(r'Pearson $r$ of $S_i$, type A')
  handles, labels = axes[0].get_legend_handles_labels()
  fig.legend(handles, labels, loc='outside right center', frameon=False, fontsize='small')
  return fig


def write_csv(path: str, entries: Sequence[dict]) -> None:
  with io.atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows(entries)


def benchmark(test_pattern: str, output: str, runs: Sequence[str] = (),
              temperature: float | None = None) -> list[str]:
  """Scores the stored methods and our `runs` on the GlassBench test files of `test_pattern`.

  Args:
    test_pattern: a directory or glob of GlassBench test files (one temperature).
    output: the stem of what is written: {output}.md, .csv, .png, .pdf.
    runs: run or sweep directories (see `find_runs`); none scores the stored
      methods only.
    temperature: by default, from the files' names.

  Returns:
    The files written.
  """
  paths = test_files(test_pattern)
  if temperature is None:
    names = {(layout.parse_glassbench_name(p) or {}).get('temperature') for p in paths}
    if len(names) != 1 or None in names:
      raise errors.ConfigError(f'{test_pattern}: the files\' names give temperatures {names}; '
                               'give --temperature.')
    temperature = names.pop()
  files = [glassbench.read_scoring(p) for p in paths]
  rows = score_stored(files)
  if runs:
    rows += score_models(find_runs(runs), paths, files)
  if not rows:
    raise io.DataError(f'{test_pattern}: the files hold no stored method '
                       f'({", ".join(glassbench.METHODS)}) and no run was given.')
  entries = table_rows(rows, temperature, len(files))
  stem = output[:-3] if output.endswith(('.md',)) else output
  write_csv(f'{stem}.csv', entries)
  checked, differing = published_check(entries, temperature)
  text = markdown(entries, temperature)
  if checked:
    text += ('\n## The stored predictions against the published values\n\n'
             f'Within {PUBLISHED_TOLERANCE:g}: the reader and the scoring agree with the '
             'benchmark\'s.\n\n| method | t | way | here | published | difference | within |\n'
             '| --- | --- | --- | --- | --- | --- | --- |\n' + '\n'.join(checked) + '\n')
  if differing:
    logging.warning('%d of %d stored-method values differ from the published ones by more than '
                    '%g (see %s.md): with GlassBench\'s own test files this means the reader '
                    'or the scoring is wrong.', differing, len(checked), PUBLISHED_TOLERANCE,
                    stem)
  with io.atomic_path(f'{stem}.md') as tmp, open(tmp, 'w') as f:
    f.write(text)
  from botan_jax.analysis import figures  # pylint: disable=g-import-not-at-top (matplotlib)
  return [f'{stem}.md', f'{stem}.csv', *figures.save_figure(figure(entries, temperature), stem)]

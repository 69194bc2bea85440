"""The paper's figures from sweep results, run directories, predictions and datasets.

Each figure is one call, `make_figure(name, output, ...)`, and one command,
`python main.py --mode=figures --figure=NAME --output=PATH ...`; it writes
PATH.png and PATH.pdf (a .png or .pdf suffix of PATH is dropped), atomically.

  pearson   Figs. 5, 8: test Pearson of S and E against t (log axis), median
            over seeds with the best-worst band, tau_alpha marked, one
            panel row per temperature; several sweeps side by side (BOTAN and
            NT-GNN). From sweep directories (`runs`, their results.csv).
  ablation  Figs. 9, 10: test Pearson of S and E against the ablated field (n
            or p), one line per time point. From one ablation sweep (`runs`).
  loss      Fig. 3: training loss (per step and per epoch) and the test
            Pearson values against epoch. From run directories (`runs`,
            their metrics.jsonl).
  maps      Figs. 4, 7: slab cross-sections (default 11.1 < z < 11.9) of the
            actual, predicted and error propensity and of E on the bonds
            (r_ij(0) < 1.35). From one predict output (`input`) and its
            configuration (`data`) for the positions.
  pdf_e     Fig. 6: joint PDF of E_ij and r_ij(0) over A-A pairs, actual and,
            with `input` (a predict output or a directory of them, named
            `{data stem}_pred.npz`), predicted. From dataset files (`data`).
  fs        Fig. 2: F_s(k=2 pi, t) and the MSD of type A against t per
            temperature, with 1/e, Table I's tau_alpha and the measured one
            marked. From dataset files at several time indices (`data`), via
            botan_jax.analysis.relaxation.
"""

import os
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use('Agg')

import numpy as np
from absl import logging
from matplotlib import collections as mcollections
from matplotlib import colors
from matplotlib import patches
from matplotlib import pyplot as plt
from matplotlib import ticker

from botan_jax import graphs
from botan_jax import inference
from botan_jax import io
from botan_jax import system
from botan_jax import targets
from botan_jax.analysis import relaxation
from botan_jax.analysis import sweeps

DEFAULT_SLAB = (11.1, 11.9)
# Radii of the drawn particles: half of sigma_AA and sigma_BB.
RADII = {system.ParticleType.A: 0.5, system.ParticleType.B: 0.44}


def save_figure(fig: plt.Figure, output: str) -> list[str]:
  """Writes `fig` as {output}.png and {output}.pdf atomically, closes it; returns the paths."""
  stem = output[:-4] if output.endswith(('.png', '.pdf')) else output
  paths = []
  for fmt in ('png', 'pdf'):
    path = f'{stem}.{fmt}'
    with io.atomic_path(path) as tmp:
      fig.savefig(tmp, format=fmt, dpi=150, bbox_inches='tight')
    paths.append(path)
  plt.close(fig)
  return paths


def tau_alpha(temperature: float) -> float | None:
  """tau_alpha of Table I at `temperature`, or None for a temperature outside it."""
  times = system.TIME_POINTS.get(round(temperature, 2))
  return None if times is None else times[system.TAU_ALPHA_INDEX - 1]


def _mark_tau_alpha(ax: plt.Axes, temperature: float) -> None:
  tau = tau_alpha(temperature)
  if tau is not None:
    ax.axvline(tau, color='0.5', linestyle='--', linewidth=1)
    ax.text(tau, 0.02, r' $\tau_\alpha$', transform=ax.get_xaxis_transform(), color='0.4')


def _band(ax: plt.Axes, x: np.ndarray, rows: list[dict], kind: str, label: str) -> None:
  """Median line with a best-worst band and bars of `pearson_{kind}` over seeds.

  The bars keep the spread visible where the band has no width (one time point).
  """
  median = np.array([r[f'pearson_{kind}_median'] for r in rows])
  worst = np.array([r[f'pearson_{kind}_worst'] for r in rows])
  best = np.array([r[f'pearson_{kind}_best'] for r in rows])
  line, = ax.plot(x, median, 'o-', label=label, markersize=4)
  ax.fill_between(x, worst, best, color=line.get_color(), alpha=0.2)
  ax.errorbar(x, median, yerr=[median - worst, best - median], fmt='none',
              ecolor=line.get_color(), capsize=3, linewidth=1)


def _log_time_axis(ax: plt.Axes) -> None:
  """A logarithmic t axis whose labels never overlap.

  Decades only, or 1, 2 and 5 per decade as plain numbers where the data
  span less than two decades (where decades alone could leave the axis
  unlabelled).
  """
  ax.set_xscale('log')
  low, high = ax.get_xlim()
  if high < 100 * low:
    ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f'{value:g}'))
  ax.xaxis.set_minor_formatter(ticker.NullFormatter())
  ax.set_xlabel('t')


def _node_label(rows: list[dict]) -> str:
  return rows[0]['node_target'] if rows else 'S'


def pearson_vs_time(sweep_dirs: Sequence[str], output: str) -> list[str]:
  """Figs. 5 and 8 from sweeps without ablation (see the module docstring).

  Sweeps trained with p = 1 (NT-GNN) enter the S panels only.
  """
  sweeps_rows = {}
  for directory in sweep_dirs:
    rows = sweeps.read_results(directory)
    if any(r['ablation'] for r in rows):
      raise ValueError(f'{directory}: an ablation sweep; use --figure=ablation.')
    sweeps_rows[directory] = rows
  temperatures = sorted({r['temperature'] for rows in sweeps_rows.values() for r in rows})
  if not temperatures:
    raise ValueError(f'{", ".join(sweep_dirs)}: no finished runs in results.csv.')
  fig, axes = plt.subplots(len(temperatures), 2, figsize=(10, 3.6 * len(temperatures)),
                           squeeze=False, sharex='row')
  for row_axes, temperature in zip(axes, temperatures):
    for directory, rows in sweeps_rows.items():
      points = sorted((r for r in rows if r['temperature'] == temperature),
                      key=lambda r: r['time'])
      if not points:
        continue
      x = np.array([r['time'] for r in points])
      loss_p = points[0]['loss_p']
      name = 'NT-GNN' if loss_p == 1.0 else f'BOTAN p={loss_p:g}'
      label = f'{name} ({os.path.basename(os.path.normpath(directory))})'
      _band(row_axes[0], x, points, 'node', label)
      if loss_p < 1.0:
        _band(row_axes[1], x, points, 'edge', label)
    node = _node_label(next(iter(sweeps_rows.values())))
    for ax, quantity in zip(row_axes, (node, 'E')):
      _log_time_axis(ax)
      ax.set_ylabel(f'Pearson of {quantity}')
      ax.set_title(f'T = {temperature:.2f}: {quantity}')
      _mark_tau_alpha(ax, temperature)
      if ax.has_data():
        ax.legend(fontsize=8)
  fig.tight_layout()
  return save_figure(fig, output)


def ablation(sweep_dir: str, output: str) -> list[str]:
  """Figs. 9 and 10 from one ablation sweep (see the module docstring)."""
  rows = sweeps.read_results(sweep_dir)
  fields = {r['ablation'] for r in rows}
  if len(fields) != 1 or '' in fields:
    raise ValueError(f'{sweep_dir}: not an ablation sweep (fields {sorted(fields)}).')
  field = fields.pop()
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
  for _, _, preset in sorted({(r['temperature'], r['time'], r['preset']) for r in rows}):
    group = sorted((r for r in rows if r['preset'] == preset), key=lambda r: r['value'])
    label = f'T = {group[0]["temperature"]:.2f}, t = {group[0]["time"]:g}'
    _band(axes[0], np.array([r['value'] for r in group]), group, 'node', label)
    trained_edges = [r for r in group if r['loss_p'] < 1.0]  # p = 1 never trains E.
    if trained_edges:
      _band(axes[1], np.array([r['value'] for r in trained_edges]), trained_edges, 'edge', label)
  name = field.split('.')[-1]
  for ax, quantity in zip(axes, (_node_label(rows), 'E')):
    ax.set_xlabel({'num_message_passing_steps': 'message-passing steps n',
                   'loss_p': 'loss weight p'}.get(name, name))
    ax.set_ylabel(f'Pearson of {quantity}')
    ax.set_title(quantity)
    if ax.has_data():
      ax.legend(fontsize=8)
  fig.tight_layout()
  return save_figure(fig, output)


def read_metrics(run_dir: str) -> list[dict]:
  """The records of `{run_dir}/metrics.jsonl`."""
  path = os.path.join(run_dir, 'metrics.jsonl')
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path}: no metrics (train a run there first).')
  return io.read_jsonl(path)


def loss_curves(run_dirs: Sequence[str], output: str) -> list[str]:
  """Fig. 3 from training runs (see the module docstring); `test_loss` too where logged."""
  fig, (loss_ax, pearson_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
  run_dirs = [os.path.normpath(d) for d in run_dirs]
  parent = os.path.dirname(os.path.commonpath(run_dirs)) if len(run_dirs) == 1 else (
      os.path.commonpath(run_dirs))
  for run_dir in run_dirs:
    records = read_metrics(run_dir)
    name = os.path.relpath(run_dir, parent)
    steps = [r for r in records if 'loss' in r]
    epochs = [r for r in records if 'train_loss' in r]
    evals = [r for r in records if 'test_pearson_node' in r]
    steps_per_epoch = epochs[-1]['step'] / epochs[-1]['epoch'] if epochs else 1.0
    line, = loss_ax.plot([r['step'] / steps_per_epoch for r in steps],
                         [r['loss'] for r in steps], alpha=0.3, linewidth=0.8)
    color = line.get_color()
    loss_ax.plot([r['epoch'] for r in epochs], [r['train_loss'] for r in epochs], 'o-',
                 color=color, markersize=3, label=f'{name}: training')
    tested = [r for r in evals if 'test_loss' in r]
    if tested:
      loss_ax.plot([r['epoch'] for r in tested], [r['test_loss'] for r in tested], 's--',
                   color=color, markersize=3, label=f'{name}: test')
    # Only the targets the loss trains (step records carry node_mse / edge_mse only then):
    # the edge output of NT-GNN (p = 1) and the node output of edge pretraining (p = 0) are
    # untrained.
    if not steps or any('node_mse' in r for r in steps):
      pearson_ax.plot([r['epoch'] for r in evals], [r['test_pearson_node'] for r in evals],
                      'o-', color=color, markersize=3, label=f'{name}: node')
    if not steps or any('edge_mse' in r for r in steps):
      pearson_ax.plot([r['epoch'] for r in evals], [r['test_pearson_edge'] for r in evals],
                      's--', color=color, markersize=3, label=f'{name}: E')
  loss_ax.set_yscale('log')
  loss_ax.set_xlabel('epoch')
  loss_ax.set_ylabel('loss (light: per step)')
  pearson_ax.set_xlabel('epoch')
  pearson_ax.set_ylabel('test Pearson')
  for ax in (loss_ax, pearson_ax):
    ax.legend(fontsize=8)
  fig.tight_layout()
  return save_figure(fig, output)


def _load_prediction(path: str) -> dict[str, np.ndarray]:
  if not os.path.isfile(path):
    raise FileNotFoundError(f'{path}: no such prediction file (write one with --mode=predict).')
  with np.load(path) as arrays:
    return {k: arrays[k] for k in arrays.files}


def _matching_sample(prediction: dict[str, np.ndarray], data: str, source: str) -> io.Sample:
  """The configuration `data` of the prediction file `source`, checked to be the one predicted.

  Raises:
    ValueError: if the prediction's `source_stamp` names another file, or the
      particle counts differ.
  """
  input_path = inference.predicted_from(prediction)
  if input_path is not None and os.path.basename(input_path) != os.path.basename(data):
    raise ValueError(f'{source} was predicted from {input_path}, not from {data}.')
  sample = io.load_sample(data)
  if len(prediction['node_pred']) != sample.num_particles:
    raise ValueError(f'{source} holds {len(prediction["node_pred"])} particles, its '
                     f'configuration {data} {sample.num_particles}: not the same configuration.')
  return sample


def _particles(ax: plt.Axes, xy: np.ndarray, types: np.ndarray, values: np.ndarray | None,
               cmap: str = 'viridis', norm: colors.Normalize | None = None):
  """Draws particles as discs of their radius, coloured by `values` (grey when None)."""
  discs = [patches.Circle(p, RADII[system.ParticleType(t)]) for p, t in zip(xy, types)]
  collection = mcollections.PatchCollection(discs, cmap=cmap, norm=norm, linewidths=0.3,
                                            edgecolors='0.3')
  if values is None:
    collection.set_facecolor('0.88')
  else:
    collection.set_array(values)
  ax.add_collection(collection)
  return collection


def _frame(ax: plt.Axes, box: np.ndarray, title: str) -> None:
  ax.set_xlim(0, box[0])
  ax.set_ylim(0, box[1])
  ax.set_aspect('equal')
  ax.set_xlabel('x')
  ax.set_ylabel('y')
  ax.set_title(title, fontsize=10)


def cross_section_maps(prediction_path: str, data: str, output: str,
                       slab: tuple[float, float] = DEFAULT_SLAB,
                       bond_cutoff: float = system.EVAL_BOND_CUTOFF) -> list[str]:
  """Figs. 4 and 7 (see the module docstring).

  Top row: node values of the particles with slab[0] < z < slab[1] at t=0
  (actual, predicted, predicted - actual); bottom row: E on the bonds between
  them shorter than `bond_cutoff` at t=0, over grey particles. Without targets
  in the prediction file, the predicted panels only.
  """
  prediction = _load_prediction(prediction_path)
  sample = _matching_sample(prediction, data, prediction_path)
  positions = np.mod(sample.initial_positions, sample.box)
  in_slab = (positions[:, 2] > slab[0]) & (positions[:, 2] < slab[1])
  if not in_slab.any():
    raise ValueError(f'No particle lies in the slab {slab[0]} < z < {slab[1]} '
                     f'(box {sample.box[2]:.3f}).')
  senders, receivers = prediction['edge_index']
  vectors = graphs.minimum_image(positions[receivers] - positions[senders], sample.box)
  bonds = ((senders < receivers) & in_slab[senders] & in_slab[receivers]
           & (np.linalg.norm(vectors, axis=1) < bond_cutoff))
  if not bonds.any():
    raise ValueError(f'{data}: no bond shorter than {bond_cutoff} joins two particles of the '
                     f'slab {slab[0]} < z < {slab[1]}; widen --slab.')
  segments = np.stack([positions[senders[bonds], :2],
                       positions[senders[bonds], :2] + vectors[bonds, :2]], axis=1)
  has_targets = 'node_target' in prediction
  node = {'predicted': prediction['node_pred']}
  edge = {'predicted': prediction['edge_pred']}
  if has_targets:
    node = {'actual': prediction['node_target'], **node,
            'error': prediction['node_pred'] - prediction['node_target']}
    edge = {'actual': prediction['edge_target'], **edge,
            'error': prediction['edge_pred'] - prediction['edge_target']}
  node_scale = np.percentile(node['actual' if has_targets else 'predicted'][in_slab], 99)
  edge_scale = np.percentile(np.abs(edge['actual' if has_targets else 'predicted'][bonds]), 99)
  fig, axes = plt.subplots(2, len(node), figsize=(4.6 * len(node), 8.6), squeeze=False)
  xy, types = positions[in_slab, :2], sample.types[in_slab]
  for ax, (name, values) in zip(axes[0], node.items()):
    if name == 'error':
      norm, cmap = colors.Normalize(-node_scale, node_scale), 'RdBu_r'
    else:
      norm, cmap = colors.Normalize(0.0, node_scale), 'viridis'
    fig.colorbar(_particles(ax, xy, types, values[in_slab], cmap, norm), ax=ax, shrink=0.7)
    _frame(ax, sample.box, f'{name} propensity')
  for ax, (name, values) in zip(axes[1], edge.items()):
    _particles(ax, xy, types, None)
    lines = mcollections.LineCollection(segments, cmap='coolwarm', linewidths=2.0,
                                        norm=colors.Normalize(-edge_scale, edge_scale))
    lines.set_array(values[bonds])
    ax.add_collection(lines)
    fig.colorbar(lines, ax=ax, shrink=0.7)
    _frame(ax, sample.box, f'{name} E on bonds')
  fig.suptitle(f'{os.path.basename(data)}: {slab[0]:.2f} < z < {slab[1]:.2f}, '
               f'{int(in_slab.sum())} particles, {int(bonds.sum())} bonds r(0) < {bond_cutoff}')
  fig.tight_layout()
  return save_figure(fig, output)


def _prediction_for(data_path: str, predictions: str) -> str:
  """The predict output of `data_path`: `predictions` itself, or `{stem}_pred.npz` in it."""
  if not os.path.isdir(predictions):
    return predictions
  stem = os.path.splitext(os.path.basename(data_path))[0]
  return os.path.join(predictions, f'{stem}_pred.npz')


def _pair_values(sample: io.Sample, prediction: dict[str, np.ndarray] | None,
                 cutoff: float) -> dict[str, np.ndarray]:
  """r_ij(0) ('distance') and E_ij ('actual', 'predicted') of the A-A pairs closer than `cutoff`.

  Without `prediction`, from the sample's trajectories; with it, from its
  edges (and targets where it holds them).
  """
  is_a = sample.types == system.ParticleType.A
  if prediction is None:
    pairs = graphs.neighbour_pairs(sample.initial_positions, sample.box, cutoff)
    pairs = pairs[is_a[pairs[:, 0]] & is_a[pairs[:, 1]]]
    values = dict(actual=targets.pair_distance_change(
        sample.initial_positions, sample.trajectory_positions, pairs, sample.box))
  else:
    senders, receivers = prediction['edge_index']
    keep = (senders < receivers) & is_a[senders] & is_a[receivers]
    pairs = np.stack([senders[keep], receivers[keep]], axis=1)
    values = {name: prediction[key][keep] for name, key in
              (('actual', 'edge_target'), ('predicted', 'edge_pred')) if key in prediction}
  vectors = sample.initial_positions[pairs[:, 1]] - sample.initial_positions[pairs[:, 0]]
  return dict(values, distance=np.linalg.norm(graphs.minimum_image(vectors, sample.box), axis=1))


def pdf_of_e(data_pattern: str, output: str, predictions: str | None = None,
             cutoff: float = system.EDGE_CUTOFF) -> list[str]:
  """Fig. 6 (see the module docstring): log-scaled joint PDF P(r_ij(0), E_ij)."""
  collected: dict[str, list[np.ndarray]] = {}
  data_files = io.find_files(data_pattern)
  if predictions and not os.path.isdir(predictions) and len(data_files) > 1:
    raise ValueError(f'--input {predictions} is one prediction, but --data matches '
                     f'{len(data_files)} files; give the directory of their predictions.')
  for path in data_files:
    prediction = None
    if predictions:
      source = _prediction_for(path, predictions)
      prediction = _load_prediction(source)
      sample = _matching_sample(prediction, path, source)
    else:
      sample = io.load_sample(path)
      if sample.trajectory_positions is None:
        raise ValueError(f'{path}: holds no trajectories, so no E.')
    for key, value in _pair_values(sample, prediction, cutoff).items():
      collected.setdefault(key, []).append(value)
  values = {k: np.concatenate(v) for k, v in collected.items()}
  distance = values.pop('distance')
  limit = np.percentile(np.abs(next(iter(values.values()))), 99.9)
  r_bins = np.linspace(0.7, cutoff, 66)
  e_bins = np.linspace(-limit, limit, 81)
  densities = {}
  for name, e in values.items():
    density, _, _ = np.histogram2d(distance, e, bins=(r_bins, e_bins), density=True)
    densities[name] = np.ma.masked_equal(density.T, 0.0)
  norm = colors.LogNorm(min(d.min() for d in densities.values()),
                        max(d.max() for d in densities.values()))
  fig, axes = plt.subplots(1, len(values), figsize=(5.2 * len(values), 4.2), squeeze=False)
  for ax, (name, e) in zip(axes[0], values.items()):
    mesh = ax.pcolormesh(r_bins, e_bins, densities[name], norm=norm, cmap='magma_r')
    fig.colorbar(mesh, ax=ax, label=r'PDF of $(r_{ij}(0), E_{ij})$')
    ax.axvline(system.EVAL_BOND_CUTOFF, color='0.4', linestyle='--', linewidth=1)
    ax.axhline(0.0, color='0.6', linewidth=0.6)
    ax.set_xlabel(r'$r_{ij}(0)$')
    ax.set_ylabel(r'$E_{ij}$')
    ax.set_title(f'{name} E, A-A pairs ({len(e)})', fontsize=10)
  fig.tight_layout()
  return save_figure(fig, output)


def _temperature(path: str) -> float:
  """The temperature of a dataset file, from its BOTAN name or else its content."""
  name = io.parse_botan_name(path)
  temperature = name['temperature'] if name else io.load_sample(path).temperature
  if temperature is None:
    raise ValueError(f'{path}: no temperature in the file or its name.')
  return round(temperature, 2)


def relaxation_curves(data_pattern: str, output: str) -> list[str]:
  """Fig. 2 (see the module docstring): F_s(k=2 pi, t) and the MSD of type A per temperature.

  tau_alpha is marked by both definitions of botan_jax.analysis.relaxation:
  x where F_s = 1/e, and o on the paper's double stretched exponential fit
  (drawn thin, with its A and beta in the legend); where a definition cannot
  be had the legend says why. Files are read one at a time
  (relaxation.ensemble_relaxation averages them per time point), so a whole
  dataset fits in memory.
  """
  by_temperature: dict[float, list[str]] = {}
  for path in io.find_files(data_pattern):
    by_temperature.setdefault(_temperature(path), []).append(path)
  fig, (fs_ax, msd_ax) = plt.subplots(1, 2, figsize=(10, 3.9))
  for temperature, paths in sorted(by_temperature.items()):
    curves = relaxation.ensemble_relaxation(io.load_sample(p) for p in paths)
    times, fs = curves['time'], curves['self_intermediate_scattering']
    if len(times) < 2:
      logging.warning('T = %.2f: the files hold one time point (%g), so F_s and the MSD are a '
                      'single point; give the files of all time indices (e.g. dir/*.npz).',
                      temperature, times[0])
    label = f'T = {temperature:.2f} ({max(curves["num_configurations"])} configurations)'
    line, = fs_ax.plot(times, fs, 'o-', markersize=4, label=label)
    color = line.get_color()
    msd_ax.plot(times, curves['mean_squared_displacement'], 'o-', markersize=4, color=color,
                label=label)
    table_tau = tau_alpha(temperature)
    if table_tau is not None:
      fs_ax.axvline(table_tau, color=color, linestyle='--', linewidth=1)
    _mark_measured_tau_alpha(fs_ax, times, fs, color)
  fs_ax.axhline(1.0 / np.e, color='0.5', linestyle=':', linewidth=1)
  fs_ax.text(0.01, 1.0 / np.e, ' 1/e', color='0.4', transform=fs_ax.get_yaxis_transform(),
             va='bottom')
  fs_ax.set_ylim(-0.05, 1.05)
  fs_ax.set_ylabel(r'$F_s(k=2\pi, t)$, type A')
  fs_ax.set_title(r'dashed: $\tau_\alpha$ of Table I', fontsize=10)
  msd_ax.set_yscale('log')
  msd_ax.set_ylabel('MSD, type A')
  for ax in (fs_ax, msd_ax):
    _log_time_axis(ax)
    ax.legend(fontsize=8)
  fig.tight_layout()
  return save_figure(fig, output)


def _mark_measured_tau_alpha(ax: plt.Axes, times: np.ndarray, fs: np.ndarray,
                             color: str) -> None:
  """Marks tau_alpha at F_s = 1/e (x) and by the two-step fit (o, with the fitted curve).

  A definition that cannot be had gets a legend entry saying why (the first
  clause of its ValueError) instead of a mark.
  """
  def reason(err: ValueError) -> str:
    return str(err).split(':')[0].split(' (')[0].split(';')[0]

  try:
    measured = relaxation.relaxation_time(times, fs, method='1/e')
  except ValueError as err:
    ax.plot([], [], 'x', color=color, label=rf'$\tau_\alpha$ at 1/e: none ({reason(err)})')
  else:
    ax.plot([measured], [1.0 / np.e], marker='x', color=color, markersize=9,
            linestyle='none', label=rf'$\tau_\alpha$ = {measured:.3g} (F$_s$ = 1/e)')
  try:
    fit = relaxation.fit_two_step(times, fs)
  except ValueError as err:
    ax.plot([], [], 'o', color=color, fillstyle='none',
            label=rf'$\tau_\alpha$ by fit: none ({reason(err)})')
    return
  curve_times = np.geomspace(times[0], times[-1], 200)
  ax.plot(curve_times, fit(curve_times), color=color, linewidth=0.8, alpha=0.7)
  ax.plot([fit.tau_alpha], [fit.fs_at_tau_alpha], marker='o', color=color, fillstyle='none',
          markersize=9, linestyle='none',
          label=(rf'$\tau_\alpha$ = {fit.tau_alpha:.3g} (fit: A = {fit.plateau:.2f}, '
                 rf'$\beta$ = {fit.beta:.2f})'))


FIGURES: dict[str, tuple[str, ...]] = {
    'pearson': ('runs',), 'ablation': ('runs',), 'loss': ('runs',),
    'maps': ('input', 'data'), 'pdf_e': ('data',), 'fs': ('data',),
}


def make_figure(name: str, output: str, runs: Sequence[str] = (), input_path: str | None = None,
                data: str | None = None,
                slab: tuple[float, float] = DEFAULT_SLAB) -> list[str]:
  """Draws figure `name` of FIGURES into {output}.png and .pdf; returns the paths.

  Args:
    name: a key of FIGURES (see the module docstring).
    output: the path of the figure, without suffix.
    runs: sweep directories (pearson, ablation: the first) or run directories (loss).
    input_path: a predict output (maps; a file or directory for pdf_e).
    data: a dataset file, directory or glob (maps: the configuration of `input_path`).
    slab: z range of the maps.

  Raises:
    ValueError: for an unknown figure or a missing argument, naming the flag.
  """
  if name not in FIGURES:
    raise ValueError(f'Unknown figure {name!r}; choose one of {", ".join(FIGURES)}.')
  given = dict(runs=runs, input=input_path, data=data)
  missing = [arg for arg in FIGURES[name] if not given[arg]]
  if missing:
    raise ValueError(f'--figure={name} needs ' + ', '.join(f'--{arg}' for arg in missing) + '.')
  draw: dict[str, Callable[[], list[str]]] = {
      'pearson': lambda: pearson_vs_time(runs, output),
      'ablation': lambda: ablation(runs[0], output),
      'loss': lambda: loss_curves(runs, output),
      'maps': lambda: cross_section_maps(input_path, data, output, slab),
      'pdf_e': lambda: pdf_of_e(data, output, input_path),
      'fs': lambda: relaxation_curves(data, output),
  }
  return draw[name]()

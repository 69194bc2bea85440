"""The paper's figures from sweep results, run directories, predictions and datasets.

Each figure is one call, `make_figure(name, output, ...)`, and one command,
`python main.py --mode=figures --figure=NAME --output=PATH ...`; it writes
PATH.png and PATH.pdf (a .png or .pdf suffix of PATH is dropped), atomically.
`build_figure(name, ...)` returns the matplotlib Figure instead of writing it.
Lengths (x, y, z, S, E) are in sigma_AA, times in LJ units
(sqrt(m sigma_AA^2 / epsilon_AA)); an error is always prediction - actual.

  pearson   Figs. 5, 8: test Pearson of S and E against t (log axis), median
            over seeds with the best-worst band, tau_alpha marked, one
            panel row per temperature; several sweeps side by side (BOTAN and
            NT-GNN). From sweep directories (`runs`, their results.csv).
  ablation  Figs. 9, 10: test Pearson of S and E against the ablated field (n
            or p; data.structure as categories), one line per time point. From
            one ablation sweep (`runs`).
  loss      Fig. 3: training loss (per step and per epoch) and the test
            Pearson values against epoch. From run directories (`runs`,
            their metrics.jsonl).
  maps      Figs. 4, 7: a slab cross-section (default: 0.8 sigma_AA thick at
            the box's middle) with the actual S, each model's predicted S and
            error, the locally averaged displacement field of Eq. 16 as
            arrows, and E on the bonds (r_ij(0) < 1.35), the actual and each
            model's. From one or more predict outputs of one configuration
            (`inputs`, named by `labels`) and that configuration (`data`).
  scatter   Predicted against actual S (type A) and E (A-A pairs with
            r_ij(0) < 1.35) as density, with y = x and the Pearson value (mean
            over configurations and pooled). From predict outputs (`inputs`:
            files, directories of *_pred.npz or globs).
  pdf_e     Fig. 6: joint PDF of E_ij and r_ij(0) over A-A pairs, actual and,
            with `inputs` (a predict output or a directory of them, named
            `{data stem}_pred.npz`), predicted. From dataset files (`data`).
  fs        Fig. 2: F_s(k=2 pi, t) and the MSD of type A against t per
            temperature, with 1/e, Table I's tau_alpha and the measured one
            marked. From dataset files at several time indices (`data`), via
            botan_jax.analysis.relaxation.
"""

import math
import os
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use('Agg')

import numpy as np
from absl import logging
from matplotlib import collections as mcollections
from matplotlib import colors
from matplotlib import lines as mlines
from matplotlib import patches
from matplotlib import pyplot as plt
from matplotlib import ticker

from botan_jax import errors
from botan_jax import graphs
from botan_jax import inference
from botan_jax import layout
from botan_jax import io
from botan_jax import metrics
from botan_jax import run_files
from botan_jax import sweeps
from botan_jax import system
from botan_jax import targets
from botan_jax.analysis import relaxation

# Thickness of the maps' slab, in sigma_AA (the paper's 11.1 < z < 11.9).
SLAB_WIDTH = 0.8
# Radii of the drawn particles: half of sigma_AA and sigma_BB.
RADII = {system.ParticleType.A: 0.5, system.ParticleType.B: 0.44}

# Axis and colourbar labels.
SIGMA_AA = r'$\sigma_{AA}$'
TIME_LABEL = r'$t$ (LJ time units)'
NODE_NAMES = {'S': 'propensity', 'R': 'strain-relative displacement',
              'D': 'non-affine displacement', 'C': 'cage-relative displacement'}
E_NAME = 'bond-length change'
E_SYMBOL = r'$E_{ij}$'


def node_symbol(kind: str = 'S') -> str:
  """The symbol of a node target of targets.NODE_TARGETS, e.g. '$S_i$'."""
  return rf'${kind}_i$'


def predicted_quantity(predictions: Sequence[dict[str, np.ndarray]]) -> str:
  """The node quantity (S, R, D or C) that predict outputs hold; S for files written before
  predictions recorded it.

  Raises:
    ValueError: for predictions of different node quantities.
  """
  kinds = {str(p['node_quantity']) if 'node_quantity' in p else 'S' for p in predictions}
  if len(kinds) > 1:
    raise errors.ConfigError(f'The predictions are of different node quantities {sorted(kinds)}; '
                             'compare models trained on the same node_target.')
  return kinds.pop()


def quantity_name(kind: str) -> str:
  """'propensity $S_i$', 'bond-length change $E_{ij}$', ... for a node target or 'E'."""
  if kind == 'E':
    return f'{E_NAME} {E_SYMBOL}'
  return f'{NODE_NAMES.get(kind, "node target")} {node_symbol(kind)}'


def with_unit(label: str, unit: str = SIGMA_AA) -> str:
  """`label (unit)`."""
  return f'{label} ({unit})'


def count_of(count: int, noun: str) -> str:
  """'1 configuration', '2 configurations'."""
  return f'{count} {noun}' if count == 1 else f'{count} {noun}s'


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
  return system.tau_alpha(temperature) if system.has_time_row(temperature) else None


# Log axes: tick mantissas per decade by the decades the data span (the first
# row whose minimum span is reached); a span of 3 decades or more gets decades
# labelled 10^k, shorter spans plain numbers. An end of the axis is moved out
# to the next tick where that adds less than 0.3 decade (and 40% of the span),
# so that the data's first and last decades carry a label.
_LOG_MANTISSAS = ((3.0, (1.0,)), (1.3, (1.0, 3.0)), (0.6, (1.0, 2.0, 5.0)),
                  (0.0, (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)))
_LOG_ROUNDING = 0.3
_LOG_MARGIN = 0.05  # Of the span, as matplotlib's default margins.


def _log_mantissas(low: float, high: float) -> tuple[float, ...]:
  """The tick mantissas for data spanning low..high (> 0), see _LOG_MANTISSAS."""
  span = math.log10(high / low)
  return next(subs for minimum, subs in _LOG_MANTISSAS if span >= minimum)


def _log_candidates(low: float, high: float, mantissas: Sequence[float]) -> np.ndarray:
  """Every mantissa x 10^k from a decade below `low` to a decade above `high`, ascending."""
  decades = range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 2)
  return np.array([m * 10.0 ** k for k in decades for m in mantissas])


def _log_limits(low: float, high: float) -> tuple[float, float]:
  """Axis limits for positive data spanning low..high on a log axis (see _LOG_MANTISSAS)."""
  span = math.log10(high / low)
  pad = 10.0 ** (_LOG_MARGIN * span if span > 0 else 0.1)
  ticks = _log_candidates(low, high, _log_mantissas(low, high))
  reach = min(_LOG_ROUNDING, 0.4 * span)
  below, above = ticks[ticks < low / pad], ticks[ticks > high * pad]
  lower = below[-1] if math.log10(low / below[-1]) <= reach else low / pad
  upper = above[0] if math.log10(above[0] / high) <= reach else high * pad
  return float(lower), float(upper)


def _plain_number(value: float, _=None) -> str:
  """A tick label: 0.3, 1, 3000; 3x10^5 and 10^-4 outside 10^-3..10^5."""
  if 1e-3 <= value < 1e5:
    return f'{value:g}'
  exponent = math.floor(math.log10(value) + 1e-9)
  mantissa = round(value / 10.0 ** exponent)
  power = rf'10^{{{exponent}}}'
  return rf'${power}$' if mantissa == 1 else rf'${mantissa}\times{power}$'


def _log_axis(ax: plt.Axes, which: str = 'x',
             data_range: tuple[float, float] | None = None) -> None:
  """Makes the `which` ('x' or 'y') axis of `ax` logarithmic with labelled, uncrowded ticks.

  Args:
    ax: axes whose data are drawn.
    which: 'x' or 'y'.
    data_range: (low, high) > 0 of the data; default: the data drawn in `ax`.
  """
  axis = ax.xaxis if which == 'x' else ax.yaxis
  getattr(ax, f'set_{which}scale')('log')
  if data_range is None:
    data_range = tuple(ax.dataLim.intervalx if which == 'x' else ax.dataLim.intervaly)
  low, high = data_range
  if not 0.0 < low <= high < math.inf:
    return
  getattr(ax, f'set_{which}lim')(*_log_limits(low, high))
  _log_ticks(axis, low, high)


def _log_ticks(axis: matplotlib.axis.Axis, low: float, high: float) -> None:
  """Tick locations and labels of a log `axis` for data spanning low..high (see _LOG_MANTISSAS)."""
  mantissas = _log_mantissas(low, high)
  if mantissas == (1.0,):
    axis.set_major_locator(ticker.LogLocator(base=10.0, subs=(1.0,)))
    axis.set_major_formatter(ticker.LogFormatterSciNotation())
  else:
    axis.set_major_locator(ticker.FixedLocator(_log_candidates(low, high, mantissas)))
    axis.set_major_formatter(ticker.FuncFormatter(_plain_number))
  axis.set_minor_formatter(ticker.NullFormatter())


def _log_time_axis(ax: plt.Axes, data_range: tuple[float, float] | None = None) -> None:
  """A log t axis (see _log_axis), labelled with its unit."""
  _log_axis(ax, 'x', data_range)
  ax.set_xlabel(TIME_LABEL)


def _integer_axis(axis: matplotlib.axis.Axis) -> None:
  """Ticks of `axis` at integers only (epochs, message-passing steps)."""
  axis.set_major_locator(ticker.MaxNLocator(integer=True))


def _data_height_at(ax: plt.Axes, x: float) -> list[float]:
  """Heights (axes fraction, 0 at the bottom) of the lines of `ax` where they pass `x` (log x)."""
  low, high = ax.get_ylim()
  heights = []
  for line in ax.get_lines():
    xs, ys = (np.asarray(v, float) for v in line.get_data())
    if len(xs) and xs.min() <= x <= xs.max():
      order = np.argsort(xs)
      y = np.interp(np.log(x), np.log(xs[order]), ys[order])
      heights.append((y - low) / (high - low))
  return heights


def _mark_tau_alpha(ax: plt.Axes, temperature: float) -> None:
  """A dashed line at Table I's tau_alpha, labelled inside the axes (after the limits are set).

  The label goes to the side of the line with more room and to the end (top or
  bottom) farther from the data there.
  """
  tau = tau_alpha(temperature)
  low, high = ax.get_xlim()
  if tau is None or not low < tau < high:
    return
  heights = _data_height_at(ax, tau)
  ax.axvline(tau, color='0.5', linestyle='--', linewidth=1)
  right = math.log(tau / low) / math.log(high / low) > 0.75
  top = bool(heights) and min(heights) < 0.25 and max(heights) < 0.75
  ax.text(tau, 0.97 if top else 0.03, r'$\tau_\alpha$ ' if right else r' $\tau_\alpha$',
          ha='right' if right else 'left', va='top' if top else 'bottom', color='0.3',
          transform=ax.get_xaxis_transform())


def _band(ax: plt.Axes, x: np.ndarray, rows: list[dict], kind: str, label: str,
          connect: bool = True) -> None:
  """Median line with a best-worst band and bars of `pearson_{kind}` over seeds.

  The bars keep the spread visible where the band has no width (one time point).
  Without `connect` (categories on x), the medians and bars alone.
  """
  median = np.array([r[f'pearson_{kind}_median'] for r in rows])
  worst = np.array([r[f'pearson_{kind}_worst'] for r in rows])
  best = np.array([r[f'pearson_{kind}_best'] for r in rows])
  line, = ax.plot(x, median, 'o-' if connect else 'o', label=label, markersize=4 if connect else 6)
  if connect:
    ax.fill_between(x, worst, best, color=line.get_color(), alpha=0.2)
  ax.errorbar(x, median, yerr=[median - worst, best - median], fmt='none',
              ecolor=line.get_color(), capsize=3, linewidth=1)


def _node_kind(rows: list[dict]) -> str:
  return rows[0]['node_target'] if rows else 'S'


def _labelled(axes: Sequence[plt.Axes]) -> list[matplotlib.artist.Artist]:
  """The labelled artists of `axes`, each label once."""
  entries = {}
  for ax in axes:
    for handle, label in zip(*ax.get_legend_handles_labels()):
      entries.setdefault(label, handle)
  return list(entries.values())


def _legend_below(fig: plt.Figure, handles: Sequence[matplotlib.artist.Artist],
                  columns: int = 3) -> None:
  """One legend under the figure's panels (it covers no data)."""
  if handles:
    fig.legend(handles=handles, loc='outside lower center', ncol=min(columns, len(handles)),
               frameon=False)


def pearson_vs_time(sweep_dirs: Sequence[str]) -> plt.Figure:
  """Figs. 5 and 8 from sweeps without ablation (see the module docstring).

  Sweeps trained with p = 1 (NT-GNN) enter the S panels only.
  """
  sweeps_rows = {}
  for directory in sweep_dirs:
    rows = sweeps.read_results(directory)
    if any(r['ablation'] for r in rows):
      raise errors.ConfigError(f'{directory}: an ablation sweep; use --figure=ablation.')
    sweeps_rows[directory] = rows
  temperatures = sorted({r['temperature'] for rows in sweeps_rows.values() for r in rows})
  if not temperatures:
    raise errors.ConfigError(f'{", ".join(sweep_dirs)}: no finished runs in results.csv.')
  fig, axes = plt.subplots(len(temperatures), 2, figsize=(10, 3.6 * len(temperatures) + 0.6),
                           squeeze=False, sharex='row', layout='constrained')
  kind = _node_kind(next(iter(sweeps_rows.values())))
  for row_axes, temperature in zip(axes, temperatures):
    times = []
    for directory, rows in sweeps_rows.items():
      points = sorted((r for r in rows if r['temperature'] == temperature),
                      key=lambda r: r['time'])
      if not points:
        continue
      x = np.array([r['time'] for r in points])
      times.extend(x)
      loss_p = points[0]['loss_p']
      name = 'NT-GNN' if loss_p == 1.0 else f'BOTAN, p = {loss_p:g}'
      label = f'{name} ({os.path.basename(os.path.normpath(directory))})'
      _band(row_axes[0], x, points, 'node', label)
      if loss_p < 1.0:
        _band(row_axes[1], x, points, 'edge', label)
    for ax, quantity in zip(row_axes, (kind, 'E')):
      _log_time_axis(ax, (min(times), max(times)))
      symbol = E_SYMBOL if quantity == 'E' else node_symbol(quantity)
      ax.set_ylabel(f'test Pearson of {symbol}')
      ax.set_title(f'$T$ = {temperature:.2f}: {quantity_name(quantity)}')
      _mark_tau_alpha(ax, temperature)
  _legend_below(fig, _labelled(axes[:, 0]))
  return fig


def ablation(sweep_dir: str) -> plt.Figure:
  """Figs. 9 and 10 from one ablation sweep (see the module docstring)."""
  rows = sweeps.read_results(sweep_dir)
  fields = {r['ablation'] for r in rows}
  if len(fields) != 1 or '' in fields:
    raise errors.ConfigError(f'{sweep_dir}: not an ablation sweep (fields {sorted(fields)}).')
  field = fields.pop()
  # A text field (data.structure) is categorical: its values at 0, 1, ... in the sweep's order.
  categories = list(dict.fromkeys(r['value'] for r in rows if isinstance(r['value'], str)))
  def position(value):
    return categories.index(value) if categories else value
  connect = not categories
  fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout='constrained')
  for _, _, preset in sorted({(r['temperature'], r['time'], r['preset']) for r in rows}):
    group = sorted((r for r in rows if r['preset'] == preset), key=lambda r: position(r['value']))
    label = f'$T$ = {group[0]["temperature"]:.2f}, $t$ = {group[0]["time"]:g}'
    _band(axes[0], np.array([position(r['value']) for r in group]), group, 'node', label, connect)
    trained_edges = [r for r in group if r['loss_p'] < 1.0]  # p = 1 never trains E.
    if trained_edges:
      _band(axes[1], np.array([position(r['value']) for r in trained_edges]), trained_edges,
            'edge', label, connect)
  name = field.split('.')[-1]
  integer = not categories and all(float(r['value']).is_integer() for r in rows)
  for ax, quantity in zip(axes, (_node_kind(rows), 'E')):
    ax.set_xlabel({'num_message_passing_steps': 'message-passing steps $n$',
                   'loss_p': 'loss weight $p$',
                   'structure': 'input structure (data.structure)'}.get(name, name))
    symbol = E_SYMBOL if quantity == 'E' else node_symbol(quantity)
    ax.set_ylabel(f'test Pearson of {symbol}')
    ax.set_title(quantity_name(quantity))
    if integer:
      _integer_axis(ax.xaxis)
    if categories:
      ax.set_xticks(range(len(categories)), categories)
      ax.set_xlim(-0.5, len(categories) - 0.5)
  if all(r['loss_p'] >= 1.0 for r in rows):  # NT-GNN-style runs (GlassBench): no E to draw.
    axes[1].set_yticks([])
    axes[1].text(0.5, 0.5, 'E not trained (p = 1)', ha='center', va='center',
                 transform=axes[1].transAxes)
  _legend_below(fig, _labelled(axes))
  return fig


def run_node_target(run_dir: str) -> str:
  """The node target (S, R, D or C) of a training run, from its config.json; S without one."""
  return (run_files.read_config(run_dir) or {}).get('node_target', 'S')


def _style_legend(ax: plt.Axes, styles: Sequence[tuple[str, dict]]) -> None:
  """A legend of grey line styles (label, plot keywords) in `ax`."""
  handles = [mlines.Line2D([], [], color='0.3', label=label, **style) for label, style in styles]
  ax.legend(handles=handles, fontsize=9, loc='best')


def loss_curves(run_dirs: Sequence[str]) -> plt.Figure:
  """Fig. 3 from training runs (see the module docstring); `test_loss` too where logged."""
  fig, (loss_ax, pearson_ax) = plt.subplots(1, 2, figsize=(10, 4.2), layout='constrained')
  run_dirs = [os.path.normpath(d) for d in run_dirs]
  parent = os.path.dirname(os.path.commonpath(run_dirs)) if len(run_dirs) == 1 else (
      os.path.commonpath(run_dirs))
  kinds = [run_node_target(run_dir) for run_dir in run_dirs]
  runs = []
  for run_dir, kind in zip(run_dirs, kinds):
    records = run_files.read_metrics(run_dir)
    steps = [r for r in records if 'loss' in r]
    epochs = [r for r in records if 'train_loss' in r]
    evals = [r for r in records if 'test_pearson_node' in r]
    steps_per_epoch = epochs[-1]['step'] / epochs[-1]['epoch'] if epochs else 1.0
    line, = loss_ax.plot([r['step'] / steps_per_epoch for r in steps],
                         [r['loss'] for r in steps], alpha=0.3, linewidth=0.8)
    color = line.get_color()
    name = os.path.relpath(run_dir, parent)
    if len(set(kinds)) > 1:
      name = f'{name} ({node_symbol(kind)})'
    runs.append(mlines.Line2D([], [], color=color, linewidth=2, label=name))
    loss_ax.plot([r['epoch'] for r in epochs], [r['train_loss'] for r in epochs], 'o-',
                 color=color, markersize=3)
    tested = [r for r in evals if 'test_loss' in r]
    if tested:
      loss_ax.plot([r['epoch'] for r in tested], [r['test_loss'] for r in tested], 's--',
                   color=color, markersize=3)
    # Only the targets the loss trains (step records carry node_mse / edge_mse only then):
    # the edge output of NT-GNN (p = 1) and the node output of edge pretraining (p = 0) are
    # untrained.
    if not steps or any('node_mse' in r for r in steps):
      pearson_ax.plot([r['epoch'] for r in evals], [r['test_pearson_node'] for r in evals],
                      'o-', color=color, markersize=3)
    if not steps or any('edge_mse' in r for r in steps):
      pearson_ax.plot([r['epoch'] for r in evals], [r['test_pearson_edge'] for r in evals],
                      's--', color=color, markersize=3)
  _log_axis(loss_ax, 'y')
  loss_ax.set_ylabel(with_unit('loss, weighted MSE', rf'{SIGMA_AA}$^2$'))
  pearson_ax.set_ylabel('test Pearson')
  for ax in (loss_ax, pearson_ax):
    ax.set_xlabel('epoch')
    _integer_axis(ax.xaxis)
  _style_legend(loss_ax, [('training, per step', dict(alpha=0.4, linewidth=0.8)),
                          ('training, epoch mean', dict(marker='o', markersize=3)),
                          ('test', dict(marker='s', markersize=3, linestyle='--'))])
  node = node_symbol(kinds[0]) if len(set(kinds)) == 1 else 'node target'
  _style_legend(pearson_ax, [(f'{node} (type A)', dict(marker='o', markersize=3)),
                             (rf'{E_SYMBOL} (A-A, $r_{{ij}}(0)$ < {system.EVAL_BOND_CUTOFF:g})',
                              dict(marker='s', markersize=3, linestyle='--'))])
  _legend_below(fig, runs)
  return fig


def _matching_sample(prediction: dict[str, np.ndarray], data: str, source: str) -> io.Sample:
  """The configuration `data` of the prediction file `source`, checked to be the one predicted.

  Raises:
    ValueError: if the prediction's `source_stamp` names another file, or the
      particle counts differ.
  """
  input_path = inference.predicted_from(prediction)
  if input_path is not None and os.path.basename(input_path) != os.path.basename(data):
    raise errors.ConfigError(f'{source} was predicted from {input_path}, not from {data}.')
  sample = io.load_sample(data)
  if len(prediction['node_pred']) != sample.num_particles:
    raise errors.ConfigError(f'{source} holds {len(prediction["node_pred"])} particles, its '
                             f'configuration {data} {sample.num_particles}: not the same '
                             'configuration.')
  return sample


def default_slab(box_z: float, width: float = SLAB_WIDTH) -> tuple[float, float]:
  """The slab `width` thick at the box's middle: (L/2 - w/2, L/2 + w/2), in sigma_AA."""
  return 0.5 * (box_z - width), 0.5 * (box_z + width)


def check_slab(slab: tuple[float, float], box_z: float) -> tuple[float, float]:
  """`slab` (low, high in sigma_AA) if it is a non-empty range inside 0..box_z.

  Raises:
    ValueError: for an empty slab or one reaching outside the box, with the default.
  """
  low, high = slab
  if not 0.0 <= low < high <= box_z:
    middle = default_slab(box_z)
    raise errors.ConfigError(f'The slab {low:g} < z < {high:g} is not inside the box 0 < z < '
                             f'{box_z:.3f} (sigma_AA); give --slab=LOW,HIGH with 0 <= LOW < '
                             'HIGH <= '
                             f'{box_z:.3f}, or leave --slab out for the box middle '
                             f'{middle[0]:.2f},{middle[1]:.2f}.')
  return low, high


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


def _bonds(ax: plt.Axes, segments: np.ndarray, values: np.ndarray, norm: colors.Normalize):
  """Draws bonds (B, 2, 2) coloured by `values` (B,) with a diverging map."""
  lines = mcollections.LineCollection(segments, cmap='coolwarm', linewidths=2.2, norm=norm)
  lines.set_array(values)
  ax.add_collection(lines)
  return lines


def _frame(ax: plt.Axes, box: np.ndarray, title: str, loc: str = 'center') -> None:
  """Limits the axes to the box's x-y face, with few ticks, labels in sigma_AA and `title`."""
  ax.set_xlim(0, box[0])
  ax.set_ylim(0, box[1])
  ax.set_aspect('equal')
  for axis in (ax.xaxis, ax.yaxis):
    axis.set_major_locator(ticker.MaxNLocator(4, integer=True))
  ax.set_xlabel(with_unit('$x$'))
  ax.set_ylabel(with_unit('$y$'))
  ax.set_title(title, fontsize=10.5, loc=loc)


def _slab_bonds(prediction: dict[str, np.ndarray], positions: np.ndarray, in_slab: np.ndarray,
                box: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
  """The prediction's edges i < j joining two slab particles closer than `cutoff` at t=0.

  Args:
    prediction: a predict output (its `edge_index`).
    positions: (N, 3) wrapped positions at t=0.
    in_slab: (N,) bool.
    box: (3,) box lengths.
    cutoff: bond length, in sigma_AA.

  Returns:
    (B,) indices into the prediction's edges and (B, 2, 2) x-y segments (from i
    along the minimum image).
  """
  senders, receivers = prediction['edge_index']
  vectors = graphs.minimum_image(positions[receivers] - positions[senders], box)
  bonds = np.flatnonzero((senders < receivers) & in_slab[senders] & in_slab[receivers]
                         & (np.linalg.norm(vectors, axis=1) < cutoff))
  start = positions[senders[bonds], :2]
  return bonds, np.stack([start, start + vectors[bonds, :2]], axis=1)


def _nice_length(value: float) -> float:
  """The largest 1, 2 or 5 x 10^k not above `value` (> 0)."""
  exponent = math.floor(math.log10(value))
  return max(m * 10.0 ** exponent for m in (1.0, 2.0, 5.0) if m * 10.0 ** exponent <= value)


# Drawn length, in sigma_AA, of the maps' key arrow.
_KEY_ARROW = 0.8


def _displacement_arrows(ax: plt.Axes, xy: np.ndarray, field_xy: np.ndarray,
                         width: float) -> None:
  """Arrows of `field_xy` (n, 2) at `xy` (n, 2), with a key above the axes' right end.

  The key's length (a round value near the 90th percentile of |field_xy|) is
  drawn _KEY_ARROW sigma_AA long; `width` is the x extent of the axes, in sigma_AA.
  """
  key = _nice_length(max(np.percentile(np.linalg.norm(field_xy, axis=1), 90), 1e-6))
  arrows = ax.quiver(xy[:, 0], xy[:, 1], field_xy[:, 0], field_xy[:, 1], angles='xy',
                     scale_units='xy', scale=key / _KEY_ARROW, width=0.006, color='k',
                     pivot='tail')
  legend = ax.quiverkey(arrows, 1.0 - _KEY_ARROW / width, 1.04, key, f'{key:g} {SIGMA_AA}',
                        labelpos='W', coordinates='axes', fontproperties=dict(size=9.5))
  legend.set_in_layout(False)  # Above the axes, beside the title: it must not shift the panel.


def _percentile_norm(values: Sequence[np.ndarray], symmetric: bool) -> colors.Normalize:
  """A colour scale over 1-99% of `values` pooled (symmetric about 0 if asked)."""
  pooled = np.concatenate([np.ravel(v) for v in values])
  if symmetric:
    scale = max(np.percentile(np.abs(pooled), 99), 1e-9)
    return colors.Normalize(-scale, scale)
  low, high = np.percentile(pooled, [1, 99])
  return colors.Normalize(low, max(high, low + 1e-9))


def model_labels(paths: Sequence[str], labels: Sequence[str]) -> list[str]:
  """The names of the models of `paths`: `labels`, or 'model' / 'model k' without them.

  Raises:
    ValueError: if labels are given but not one per path.
  """
  if labels:
    if len(labels) != len(paths):
      raise errors.ConfigError(f'--labels names {len(labels)} models ({", ".join(labels)}) for '
                               f'{len(paths)} predictions; give one label per --input.')
    return list(labels)
  return ['model'] if len(paths) == 1 else [f'model {k + 1}' for k in range(len(paths))]


def _pearson_text(prediction: dict[str, np.ndarray], kind: str) -> str:
  """' (Pearson 0.62)' from a prediction holding targets, '' otherwise."""
  key = f'pearson_{kind}'
  return f' (Pearson {float(prediction[key]):.2f})' if key in prediction else ''


def cross_section_maps(prediction_paths: Sequence[str], data: str, labels: Sequence[str] = (),
                       slab: tuple[float, float] | None = None,
                       bond_cutoff: float = system.EVAL_BOND_CUTOFF) -> plt.Figure:
  """Figs. 4 and 7 (see the module docstring): one column per model, after the actual values.

  Rows, over the particles with slab[0] < z < slab[1] at t=0: S (actual, each
  model's); the ensemble mean of Eq. 16's locally averaged displacement,
  projected on x-y, as arrows, then each model's error (prediction - actual);
  E on the bonds between them shorter than `bond_cutoff` at t=0 (actual, each
  model's). Panels of a row share one colour scale. Without targets in the
  predictions (a configuration without trajectories), the predicted S and E
  rows only.

  Args:
    prediction_paths: predict outputs of the configuration `data`.
    data: the configuration's dataset file.
    labels: a name per prediction (e.g. BOTAN, NT-GNN).
    slab: (low, high) z range in sigma_AA; default: default_slab of the box.
    bond_cutoff: the bonds' largest length at t=0, in sigma_AA.
  """
  names = model_labels(prediction_paths, labels)
  predictions = [inference.load_prediction(p) for p in prediction_paths]
  samples = [_matching_sample(p, data, path) for p, path in zip(predictions, prediction_paths)]
  sample = samples[0]
  positions = np.mod(sample.initial_positions, sample.box)
  low, high = default_slab(sample.box[2]) if slab is None else check_slab(slab, sample.box[2])
  in_slab = (positions[:, 2] > low) & (positions[:, 2] < high)
  if not in_slab.any():
    raise errors.ConfigError(f'No particle lies in the slab {low:g} < z < {high:g} '
                             f'(box {sample.box[2]:.3f}); widen --slab.')
  bonds = [_slab_bonds(p, positions, in_slab, sample.box, bond_cutoff) for p in predictions]
  if not len(bonds[0][0]):
    raise errors.ConfigError(f'{data}: no bond shorter than {bond_cutoff} joins two particles '
                             f'of the slab {low:g} < z < {high:g}; widen --slab.')
  has_targets = all('node_target' in p for p in predictions)
  xy, types = positions[in_slab, :2], sample.types[in_slab]
  columns = len(predictions) + has_targets
  rows = 3 if has_targets else 2
  fig, axes = plt.subplots(rows, columns, figsize=(3.5 * columns + 1.4, 3.55 * rows + 0.6),
                           squeeze=False, sharex=True, sharey=True, layout='constrained')
  node_axes, edge_axes = axes[0], axes[-1]
  # S: actual and predicted, one scale.
  kind = predicted_quantity(predictions)
  node_values = [p['node_pred'][in_slab] for p in predictions]
  node_titles = [f'{n}: predicted {node_symbol(kind)}{_pearson_text(p, "node")}'
                 for n, p in zip(names, predictions)]
  if has_targets:
    node_values.insert(0, predictions[0]['node_target'][in_slab])
    node_titles.insert(0, f'actual {quantity_name(kind)}')
  norm = _percentile_norm(node_values[:1] if has_targets else node_values, symmetric=False)
  for ax, values, title in zip(node_axes, node_values, node_titles):
    mappable = _particles(ax, xy, types, values, 'viridis', norm)
    _frame(ax, sample.box, title)
  fig.colorbar(mappable, ax=node_axes, shrink=0.85, extend='both',
               label=with_unit(node_symbol(kind)))
  # Displacement field and errors.
  if has_targets:
    field = targets.local_average_displacement(
        sample.initial_positions, sample.trajectory_positions, sample.box).mean(axis=0)
    _particles(axes[1, 0], xy, types, None)
    _displacement_arrows(axes[1, 0], xy, field[in_slab, :2], sample.box[0])
    _frame(axes[1, 0], sample.box, r'Eq. 16 field $\bar{\mathbf{u}}_i$, $x$-$y$', loc='left')
    node_errors = [p['node_pred'][in_slab] - p['node_target'][in_slab] for p in predictions]
    norm = _percentile_norm(node_errors, symmetric=True)
    for ax, values, name in zip(axes[1, 1:], node_errors, names):
      mappable = _particles(ax, xy, types, values, 'RdBu_r', norm)
      _frame(ax, sample.box, f'{name}: error, predicted $-$ actual')
    fig.colorbar(mappable, ax=axes[1], shrink=0.85, extend='both',  # The whole row: aligned.
                 label=with_unit(rf'{node_symbol(kind)} predicted $-$ actual'))
  # E on the bonds: actual and predicted, one scale.
  edge_values = [p['edge_pred'][b] for p, (b, _) in zip(predictions, bonds)]
  edge_segments = [s for _, s in bonds]
  edge_titles = [f'{n}: predicted {E_SYMBOL}{_pearson_text(p, "edge")}'
                 for n, p in zip(names, predictions)]
  if has_targets:
    edge_values.insert(0, predictions[0]['edge_target'][bonds[0][0]])
    edge_segments.insert(0, bonds[0][1])
    edge_titles.insert(0, f'actual {quantity_name("E")}')
  norm = _percentile_norm(edge_values[:1] if has_targets else edge_values, symmetric=True)
  for ax, values, segments, title in zip(edge_axes, edge_values, edge_segments, edge_titles):
    _particles(ax, xy, types, None)
    mappable = _bonds(ax, segments, values, norm)
    _frame(ax, sample.box, title)
  fig.colorbar(mappable, ax=edge_axes, shrink=0.85, extend='both', label=with_unit(E_SYMBOL))
  for ax in axes.flat:
    ax.label_outer()
  fig.suptitle(f'{os.path.basename(data)}\nslab {low:.2f} < $z$ < {high:.2f} {SIGMA_AA}: '
               f'{int(in_slab.sum())} particles (smaller discs: B), {len(bonds[0][0])} bonds '
               rf'with $r_{{ij}}(0)$ < {bond_cutoff:g} {SIGMA_AA}' '\n'
               'Pearson values: over the whole configuration (type A; A-A bonds)', fontsize=11)
  return fig


def pearson_summary(predictions: Sequence[dict[str, np.ndarray]],
                    kind: str) -> tuple[list[float], float]:
  """Pearson of `{kind}_pred` against `{kind}_target` on `{kind}_mask`, per prediction and pooled.

  Args:
    predictions: predict outputs holding targets.
    kind: 'node' or 'edge'.

  Returns:
    The values per prediction (metrics.pearson) and over all their entries pooled.
  """
  parts = [(p[f'{kind}_pred'], p[f'{kind}_target'], p[f'{kind}_mask']) for p in predictions]
  per_file = [metrics.pearson(*part) for part in parts]
  pooled = metrics.pearson(*(np.concatenate(column) for column in zip(*parts)))
  return per_file, pooled


def _scatter_text(per_file: Sequence[float], pooled: float) -> str:
  """'Pearson 0.623' for one configuration; the mean over configurations and pooled otherwise."""
  if len(per_file) == 1:
    return f'Pearson {pooled:.3f}'
  return (f'Pearson, mean of {count_of(len(per_file), "configuration")}: '
          f'{np.mean(per_file):.3f}\nPearson, pooled: {pooled:.3f}')


_Y_EQUALS_X = 'dashed: $y = x$'



# From this many points on, the scatter shows counts per hexagonal bin; below, the points.
_DENSITY_FROM = 2000


def _density_scatter(fig: plt.Figure, ax: plt.Axes, actual: np.ndarray,
                     predicted: np.ndarray) -> None:
  """Predicted against actual on square axes with y = x: counts per bin (log colour, with a
  colourbar) for many points, translucent points for few."""
  pooled = np.concatenate([actual, predicted])
  low, high = np.percentile(pooled, [0.05, 99.95])
  pad = 0.03 * (high - low) + 1e-9
  low, high = low - pad, high + pad
  if len(actual) >= _DENSITY_FROM:
    bins = ax.hexbin(actual, predicted, gridsize=60, bins='log', mincnt=1, cmap='magma_r',
                     extent=(low, high, low, high), linewidths=0.1)
    bar = fig.colorbar(bins, ax=ax, shrink=0.8, label='points per bin')
    _log_ticks(bar.ax.yaxis, 1.0, max(float(bins.get_array().max()), 2.0))
  else:
    ax.scatter(actual, predicted, s=8, alpha=0.5, linewidths=0, color='C0')
  ax.plot([low, high], [low, high], color='0.4', linestyle='--', linewidth=1)
  ax.set_xlim(low, high)
  ax.set_ylim(low, high)
  ax.set_aspect('equal')


def scatter(prediction_paths: Sequence[str]) -> plt.Figure:
  """Predicted against actual S (type A) and E (A-A, r_ij(0) < 1.35) (see the module docstring).

  Raises:
    ValueError: for a prediction without targets (its input held no trajectories).
  """
  predictions = [inference.load_prediction(p) for p in prediction_paths]
  for path, prediction in zip(prediction_paths, predictions):
    if 'node_target' not in prediction:
      raise errors.ConfigError(f'{path}: holds no targets (its input had no trajectories), so '
                               'there is nothing to compare; predict files with trajectories.')
  fig, axes = plt.subplots(1, 2, figsize=(10.5, 5.0), layout='constrained')
  configurations = count_of(len(predictions), 'configuration')
  kind = predicted_quantity(predictions)
  titles = {'node': f'{quantity_name(kind)}, type A',
            'edge': f'{quantity_name("E")}, A-A, ' rf'$r_{{ij}}(0)$ < {system.EVAL_BOND_CUTOFF:g}'}
  symbols = {'node': node_symbol(kind), 'edge': E_SYMBOL}
  for ax, kind in zip(axes, ('node', 'edge')):
    actual = np.concatenate([p[f'{kind}_target'][p[f'{kind}_mask']] for p in predictions])
    predicted = np.concatenate([p[f'{kind}_pred'][p[f'{kind}_mask']] for p in predictions])
    _density_scatter(fig, ax, actual, predicted)
    per_file, pooled = pearson_summary(predictions, kind)
    ax.text(0.03, 0.97, f'{_scatter_text(per_file, pooled)}\n{_Y_EQUALS_X}',
            transform=ax.transAxes, va='top',
            ha='left', fontsize=10, bbox=dict(facecolor='white', alpha=0.85, edgecolor='0.7'))
    ax.set_xlabel(with_unit(f'actual {symbols[kind]}'))
    ax.set_ylabel(with_unit(f'predicted {symbols[kind]}'))
    points = 'particles' if kind == 'node' else 'edges (each pair twice)'
    ax.set_title(f'{titles[kind]}\n{len(actual)} {points}, {configurations}', fontsize=10)
  return fig


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
    pairs = graphs.neighbor_pairs(sample.initial_positions, sample.box, cutoff)
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


def pdf_of_e(data_pattern: str, predictions: str | None = None,
             cutoff: float = system.EDGE_CUTOFF) -> plt.Figure:
  """Fig. 6 (see the module docstring): log-scaled joint PDF P(r_ij(0), E_ij)."""
  collected: dict[str, list[np.ndarray]] = {}
  data_files = io.find_files(data_pattern)
  if predictions and not os.path.isdir(predictions) and len(data_files) > 1:
    raise errors.ConfigError(f'--input {predictions} is one prediction, but --data matches '
                             f'{len(data_files)} files; give the directory of their predictions.')
  for path in data_files:
    prediction = None
    if predictions:
      source = _prediction_for(path, predictions)
      prediction = inference.load_prediction(source)
      sample = _matching_sample(prediction, path, source)
    else:
      sample = io.load_sample(path)
      if sample.trajectory_positions is None:
        raise errors.ConfigError(f'{path}: holds no trajectories, so no E.')
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
  fig, axes = plt.subplots(1, len(values), figsize=(5.2 * len(values), 4.4), squeeze=False,
                           sharey=True, layout='constrained')
  for ax, (name, e) in zip(axes[0], values.items()):
    mesh = ax.pcolormesh(r_bins, e_bins, densities[name], norm=norm, cmap='magma_r')
    ax.axvline(system.EVAL_BOND_CUTOFF, color='0.4', linestyle='--', linewidth=1)
    ax.text(system.EVAL_BOND_CUTOFF, 0.98, rf' {system.EVAL_BOND_CUTOFF:g}', color='0.3',
            transform=ax.get_xaxis_transform(), va='top', fontsize=9)
    ax.axhline(0.0, color='0.6', linewidth=0.6)
    ax.set_xlabel(with_unit(r'$r_{ij}(0)$'))
    ax.set_ylabel(with_unit(E_SYMBOL))
    ax.set_title(f'{name} {E_SYMBOL}, {len(e)} A-A pairs', fontsize=10)
    ax.label_outer()
  fig.colorbar(mesh, ax=axes[0], label=rf'PDF of ($r_{{ij}}(0)$, {E_SYMBOL}) ({SIGMA_AA}$^{{-2}}$)')
  return fig


def _temperature(path: str) -> float:
  """The temperature of a dataset file, from its BOTAN name or else its content."""
  name = layout.parse_dataset_name(path)
  temperature = name['temperature'] if name else io.load_sample(path).temperature
  if temperature is None:
    raise errors.ConfigError(f'{path}: no temperature in the file or its name.')
  return round(temperature, 2)


def relaxation_curves(data_pattern: str) -> plt.Figure:
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
    configurations = count_of(max(curves['num_configurations']), 'configuration')
    label = f'$T$ = {temperature:.2f} ({configurations})'
    line, = fs_ax.plot(times, fs, 'o-', markersize=4, label=label)
    color = line.get_color()
    msd_ax.plot(times, curves['mean_squared_displacement'], 'o-', markersize=4, color=color,
                label=label)
    table_tau = tau_alpha(temperature)
    if table_tau is not None:
      fs_ax.axvline(table_tau, color=color, linestyle='--', linewidth=1,
                    label=rf'$\tau_\alpha$ = {table_tau:g} (Table I)')
    _mark_measured_tau_alpha(fs_ax, times, fs, color)
  fs_ax.axhline(1.0 / np.e, color='0.5', linestyle=':', linewidth=1)
  fs_ax.text(0.01, 1.0 / np.e, ' 1/e', color='0.4', transform=fs_ax.get_yaxis_transform(),
             va='bottom')
  fs_ax.set_ylim(-0.05, 1.05)
  fs_ax.set_ylabel(r'$F_s(k=2\pi, t)$, type A')
  msd_ax.set_yscale('log')
  msd_ax.set_ylabel(with_unit('MSD of type A', rf'{SIGMA_AA}$^2$'))
  for ax in (fs_ax, msd_ax):
    _log_time_axis(ax)
    ax.legend(fontsize=8)
  fig.tight_layout()
  return fig


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
    'maps': ('inputs', 'data'), 'scatter': ('inputs',), 'pdf_e': ('data',), 'fs': ('data',),
}


def build_figure(name: str, runs: Sequence[str] = (), inputs: Sequence[str] = (),
                 data: str | None = None, labels: Sequence[str] = (),
                 slab: tuple[float, float] | None = None) -> plt.Figure:
  """Figure `name` of FIGURES as a matplotlib Figure (see make_figure for the arguments)."""
  if name not in FIGURES:
    raise errors.ConfigError(f'Unknown figure {name!r}; choose one of {", ".join(FIGURES)}.')
  given = dict(runs=runs, inputs=inputs, data=data)
  missing = [arg for arg in FIGURES[name] if not given[arg]]
  if missing:
    flags = {'inputs': '--input'}
    raise errors.ConfigError(f'--figure={name} needs ' +
                             ', '.join(flags.get(arg, f'--{arg}') for arg in missing) + '.')
  if name == 'pdf_e' and len(inputs) > 1:
    raise errors.ConfigError(f'--figure=pdf_e takes one --input (a prediction or a directory of '
                             f'them), got {len(inputs)}.')
  draw: dict[str, Callable[[], plt.Figure]] = {
      'pearson': lambda: pearson_vs_time(runs),
      'ablation': lambda: ablation(runs[0]),
      'loss': lambda: loss_curves(runs),
      'maps': lambda: cross_section_maps(inference.prediction_files(inputs), data, labels, slab),
      'scatter': lambda: scatter(inference.prediction_files(inputs)),
      'pdf_e': lambda: pdf_of_e(data, inputs[0] if inputs else None),
      'fs': lambda: relaxation_curves(data),
  }
  return draw[name]()


def make_figure(name: str, output: str, runs: Sequence[str] = (), inputs: Sequence[str] = (),
                data: str | None = None, labels: Sequence[str] = (),
                slab: tuple[float, float] | None = None) -> list[str]:
  """Draws figure `name` of FIGURES into {output}.png and .pdf; returns the paths.

  Args:
    name: a key of FIGURES (see the module docstring).
    output: the path of the figure, without suffix.
    runs: sweep directories (pearson, ablation: the first) or run directories (loss).
    inputs: predict outputs: one per model of one configuration (maps); files,
      directories or globs (scatter); one file or directory (pdf_e).
    data: a dataset file, directory or glob (maps: the configuration of `inputs`).
    labels: the models' names, one per input (maps).
    slab: z range of the maps in sigma_AA; default: 0.8 thick at the box's middle.

  Raises:
    ValueError: for an unknown figure or a missing argument, naming the flag.
  """
  return save_figure(build_figure(name, runs, inputs, data, labels, slab), output)

"""Evaluation metrics over masked subsets, and why a value is undefined."""

from typing import Any

import numpy as np

# Why r is undefined where every target is NaN: a quantity the file does not hold (the bond
# targets E of a file without trajectories, such as GlassBench's).
NO_TARGETS = 'no targets: the file holds no trajectories (e.g. GlassBench\'s, S only)'


def pearson_with_reason(prediction: np.ndarray, target: np.ndarray,
                        mask: np.ndarray) -> tuple[float, str | None]:
  """Pearson correlation of `prediction` and `target` (E,) over the entries where `mask` is True.

  Computed in float64.

  Returns:
    (r, None), or (NaN, why) when r is undefined: no targets (all NaN,
    `NO_TARGETS`), fewer than two selected entries, a non-finite value, or
    either side constant there.
  """
  x = np.asarray(prediction, np.float64)[mask]
  y = np.asarray(target, np.float64)[mask]
  if y.size and np.isnan(y).all():
    return float('nan'), NO_TARGETS
  if x.size < 2:
    return float('nan'), f'{x.size} evaluated item{"" if x.size == 1 else "s"}, fewer than 2'
  for side, values in (('predictions', x), ('targets', y)):
    if not np.all(np.isfinite(values)):
      return float('nan'), f'{np.sum(~np.isfinite(values))} of the {x.size} {side} are not finite'
  x = x - x.mean()
  y = y - y.mean()
  for side, centred in (('predictions', x), ('targets', y)):
    if not np.dot(centred, centred) > 0:
      return float('nan'), f'all {x.size} {side} are equal'
  return float(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y))), None


def pearson(prediction: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
  """Pearson correlation over the entries where `mask` is True; NaN where undefined (see
  `pearson_with_reason`)."""
  return pearson_with_reason(prediction, target, mask)[0]


def pearson_entry(name: str, prediction: np.ndarray, target: np.ndarray,
                  mask: np.ndarray) -> dict[str, Any]:
  """{name: r}, with {name + '_undefined': why} added when r is NaN (see `pearson_with_reason`)."""
  value, why = pearson_with_reason(prediction, target, mask)
  return {name: value} if why is None else {name: value, f'{name}_undefined': why}


def graph_pearson(node_pred: np.ndarray, edge_pred: np.ndarray, nodes: dict[str, np.ndarray],
                  edges: dict[str, np.ndarray]) -> dict[str, Any]:
  """`pearson_node` and `pearson_edge` of one graph (see `pearson_entry`): predictions (N,),
  (E,) against the `target` of its `nodes` and `edges` on their `eval_mask`."""
  return {**pearson_entry('pearson_node', node_pred, nodes['target'], nodes['eval_mask']),
          **pearson_entry('pearson_edge', edge_pred, edges['target'], edges['eval_mask'])}

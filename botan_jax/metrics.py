"""Evaluation metrics over masked subsets."""

import numpy as np


def pearson(prediction: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
  """Pearson correlation of `prediction` and `target` (E,) over the entries where `mask` is True.

  Computed in float64; NaN when fewer than two entries are selected or either
  side is constant there.
  """
  x = np.asarray(prediction, np.float64)[mask]
  y = np.asarray(target, np.float64)[mask]
  if x.size < 2:
    return float('nan')
  x = x - x.mean()
  y = y - y.mean()
  denominator = np.sqrt(np.dot(x, x) * np.dot(y, y))
  return float(np.dot(x, y) / denominator) if denominator > 0 else float('nan')

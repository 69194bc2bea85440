"""Progress lines of long jobs: durations, ETAs and a wall-clock interval.

Shared by training (`train.py`), sweeps (`sweeps.py`) and the
generator (`md/generate.py`), so every log says durations the same way.
"""

import math
import time
from collections.abc import Callable


def format_duration(seconds: float) -> str:
  """A duration as '45s', '12m05s', '3h05m' or '12d04h' (two units at most); '?' if unknown."""
  if not math.isfinite(seconds) or seconds < 0:
    return '?'
  seconds = int(round(seconds))
  minutes, secs = divmod(seconds, 60)
  hours, minutes = divmod(minutes, 60)
  days, hours = divmod(hours, 24)
  if days:
    return f'{days}d{hours:02d}h'
  if hours:
    return f'{hours}h{minutes:02d}m'
  if minutes:
    return f'{minutes}m{secs:02d}s'
  return f'{secs}s'


def format_rate(per_s: float) -> str:
  """A rate to three significant digits, whole numbers from 100 ('0.693', '176', '2345');
  '?' if unknown."""
  if not math.isfinite(per_s):
    return '?'
  return f'{per_s:.0f}' if per_s >= 100 else f'{per_s:.3g}'


def eta_seconds(remaining: float, done: float, elapsed_s: float) -> float:
  """Seconds to finish `remaining` units at the mean rate so far (`done` in `elapsed_s`).

  NaN before anything is done.
  """
  if done <= 0 or elapsed_s <= 0:
    return math.nan
  return max(remaining, 0) * elapsed_s / done


def counted(done: int, total: int, unit: str, elapsed_s: float) -> str:
  """'3/10 runs | elapsed 1h02m | ETA 2h05m', the ETA from the mean time per unit done."""
  return (f'{done}/{total} {unit} | elapsed {format_duration(elapsed_s)} | '
          f'ETA {format_duration(eta_seconds(total - done, done, elapsed_s))}')


class Interval:
  """Says when `interval_s` seconds of wall time have passed since the last time it said so.

  An interval <= 0 is due at every call.
  """

  def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic):
    self.interval_s = interval_s
    self.clock = clock
    self.last = clock()

  def due(self) -> bool:
    """True (and restarts) if the interval has passed."""
    now = self.clock()
    if now - self.last < self.interval_s:
      return False
    self.last = now
    return True

  def restart(self) -> None:
    """Starts the interval again now (after a line logged for another reason)."""
    self.last = self.clock()

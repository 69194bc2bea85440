"""Where the device time of a jitted function goes: a per-operation table from a JAX trace.

  with xla_profile.trace(directory):
    ... run the function a few times, blocking on the results ...
  print(xla_profile.format_table(xla_profile.summarise(directory, num_calls)))

`summarise` reads the newest `*.xplane.pb` under `directory` with
`jax.profiler.ProfileData` (no TensorBoard needed). On a GPU it takes the
kernels of the device planes' stream lines and groups them by the XLA
operation that launched them (the `hlo_op` stat; the kernel name where that
is missing); on a CPU it takes the host events that carry an `hlo_op` stat.
It reports, per call of the function: the time of each operation, its share,
its kernel count, a coarse kind (matmul, scatter, gather, reduce, other); the
same summed per family of operations (the name without XLA's numeric suffix,
so the seven message-passing steps' copies of one fusion add up); the count
and time of short operations (many short kernels point at launch costs); and
the device's busy time (the union of kernel intervals), whose gap to the
wall-clock step time is launch overhead and idling.
"""

import collections
import contextlib
import dataclasses
import glob
import os
import re
from collections.abc import Iterator

import jax

# Lines that xprof derives from the kernels (they would count every kernel twice).
DERIVED_LINES = ('XLA Modules', 'XLA Ops', 'XLA TraceMe', 'Steps', 'Framework Ops',
                 'Framework Name Scope', 'Source code', 'Launch Stats')
KINDS = (('scatter', ('scatter',)), ('gather', ('gather',)),
         ('matmul', ('gemm', 'dot', 'cublas', 'cutlass', 'matmul', 'triton')),
         ('reduce', ('reduce',)), ('copy', ('copy', 'memcpy', 'memset', 'transpose')))
SHORT_OP_S = 5e-6  # An operation this short is dominated by its launch.


@dataclasses.dataclass(frozen=True)
class OpTime:
  """One XLA operation's device time per call of the profiled function (seconds)."""
  name: str
  kind: str
  seconds: float
  kernels: float


@dataclasses.dataclass(frozen=True)
class Summary:
  """Per-call device time of a profiled function.

  Attributes:
    source: 'gpu' (kernels of device planes) or 'cpu' (host XLA events).
    ops: operations by decreasing time.
    busy_s: the union of the kernel intervals per call (equal to the sum of
      `ops` where nothing overlaps).
    span_s: first kernel start to last kernel end, per call.
  """
  source: str
  ops: tuple[OpTime, ...]
  busy_s: float
  span_s: float

  @property
  def total_s(self) -> float:
    return sum(op.seconds for op in self.ops)

  def by_kind(self) -> dict[str, float]:
    totals = collections.defaultdict(float)
    for op in self.ops:
      totals[op.kind] += op.seconds
    return dict(sorted(totals.items(), key=lambda item: -item[1]))

  def by_family(self) -> dict[str, tuple[int, float]]:
    """(operations, seconds) per family: the name without a trailing '.N'."""
    families = collections.defaultdict(lambda: [0, 0.0])
    for op in self.ops:
      family = families[re.sub(r'\.\d+$', '', op.name)]
      family[0] += 1
      family[1] += op.seconds
    return {name: (count, seconds) for name, (count, seconds) in
            sorted(families.items(), key=lambda item: -item[1][1])}

  def short_ops(self, under_s: float = SHORT_OP_S) -> tuple[int, float]:
    """(operations, seconds) of the operations shorter than `under_s` per call."""
    short = [op.seconds for op in self.ops if op.seconds < under_s]
    return len(short), sum(short)


@contextlib.contextmanager
def trace(directory: str) -> Iterator[None]:
  """jax.profiler.trace into `directory` (created)."""
  os.makedirs(directory, exist_ok=True)
  with jax.profiler.trace(directory):
    yield


def op_kind(name: str) -> str:
  """A coarse kind of an XLA operation or kernel from its name."""
  lowered = name.lower()
  for kind, keys in KINDS:
    if any(key in lowered for key in keys):
      return kind
  return 'other'


def _union_length(intervals: list[tuple[int, int]]) -> int:
  total, end = 0, None
  for start, stop in sorted(intervals):
    if end is None or start > end:
      total += stop - start
      end = stop
    elif stop > end:
      total += stop - end
      end = stop
  return total


def _device_events(data: jax.profiler.ProfileData) -> tuple[str, list]:
  """The kernel events of GPU planes, else the host events with an hlo_op stat."""
  events = []
  for plane in data.planes:
    if not plane.name.startswith('/device:GPU'):
      continue
    for line in plane.lines:
      if line.name not in DERIVED_LINES:
        events.extend(line.events)
  if events:
    return 'gpu', events
  for plane in data.planes:
    if plane.name.startswith('/host:CPU'):
      for line in plane.lines:
        events.extend(e for e in line.events if 'hlo_op' in dict(e.stats))
  return 'cpu', events


def summarise(directory: str, num_calls: int) -> Summary:
  """Per-call operation times of the newest trace under `directory`.

  Raises:
    FileNotFoundError: no trace file; ValueError: a trace without XLA events.
  """
  files = glob.glob(os.path.join(directory, '**', '*.xplane.pb'), recursive=True)
  if not files:
    raise FileNotFoundError(f'no *.xplane.pb under {directory}')
  newest = max(files, key=os.path.getmtime)
  source, events = _device_events(jax.profiler.ProfileData.from_file(newest))
  if not events:
    raise ValueError(f'{newest}: no device kernels and no XLA host events')
  seconds, kernels = collections.defaultdict(float), collections.defaultdict(int)
  kinds = {}
  for event in events:
    name = str(dict(event.stats).get('hlo_op', event.name))
    seconds[name] += event.duration_ns * 1e-9
    kernels[name] += 1
    if kinds.get(name, 'other') == 'other':  # e.g. a custom-call op whose kernel is a gemm.
      kinds[name] = op_kind(name) if op_kind(name) != 'other' else op_kind(event.name)
  intervals = [(int(e.start_ns), int(e.end_ns)) for e in events]
  ops = tuple(OpTime(name, kinds[name], seconds[name] / num_calls, kernels[name] / num_calls)
              for name in sorted(seconds, key=lambda n: -seconds[n]))
  span = max(stop for _, stop in intervals) - min(start for start, _ in intervals)
  return Summary(source, ops, _union_length(intervals) * 1e-9 / num_calls,
                 span * 1e-9 / num_calls)


def format_table(summary: Summary, top: int = 15) -> str:
  """The kinds' totals, the `top` families and operations, and the short ones, as text."""
  total = summary.total_s
  lines = [f'{summary.source} profile, per call: {total * 1e3:.3f} ms in '
           f'{sum(op.kernels for op in summary.ops):.0f} kernels over {len(summary.ops)} ops; '
           f'busy {summary.busy_s * 1e3:.3f} ms of a {summary.span_s * 1e3:.3f} ms span']
  lines += [f'  {kind:8s} {s * 1e3:9.3f} ms {s / total:6.1%}' for kind, s in
            summary.by_kind().items()]
  short_count, short_s = summary.short_ops()
  lines.append(f'  {short_count} operations under {SHORT_OP_S * 1e6:.0f} us take '
               f'{short_s * 1e3:.3f} ms')
  lines.append(f'  {"top families":40s} {"ms":>9s} {"share":>6s} {"ops":>7s}')
  lines += [f'  {name[:40]:40s} {s * 1e3:9.3f} {s / total:6.1%} {count:7d}'
            for name, (count, s) in list(summary.by_family().items())[:top]]
  lines.append(f'  {"top operations":40s} {"ms":>9s} {"share":>6s} {"kernels":>7s}')
  lines += [f'  {op.name[:40]:40s} {op.seconds * 1e3:9.3f} {op.seconds / total:6.1%} '
            f'{op.kernels:7.1f}  {op.kind}' for op in summary.ops[:top]]
  return '\n'.join(lines)

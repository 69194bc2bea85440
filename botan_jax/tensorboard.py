"""TensorBoard scalar event files through tensorboardX (no TensorFlow needed).

`tensorboard --logdir WORKDIR` reads the files that training writes under
{workdir}/tensorboard/. tensorboardX frames the records (TFRecord, CRC-32C) and
encodes the `Event` protocol buffers; this module only decides what goes in them.
"""

import math
import os
import socket
import time

from tensorboardX import summary
from tensorboardX.proto import event_pb2
from tensorboardX.proto import summary_pb2
from tensorboardX.record_writer import RecordWriter

FILE_VERSION = 'brain.Event:2'


def scalars_event(step: int, scalars: dict[str, float]) -> event_pb2.Event:
  """One `Event` holding every finite scalar of `scalars` (tag -> value) at `step`.

  NaN and inf (an undefined Pearson, e.g. of E on files without E) are left to metrics.jsonl.
  """
  values = [value for tag, scalar in scalars.items() if math.isfinite(scalar)
            for value in summary.scalar(tag, scalar).value]
  return event_pb2.Event(wall_time=time.time(), step=step,
                         summary=summary_pb2.Summary(value=values))


def restart_event(step: int) -> event_pb2.Event:
  """The mark of a run that (re)starts at `step`: TensorBoard drops earlier events from it on."""
  return event_pb2.Event(wall_time=time.time(), step=step,
                         session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START))


class ScalarWriter:
  """Writes scalar events to a new `events.out.tfevents.*` file in `logdir`.

  Each `write` is flushed to disk, so an interrupted run keeps every complete
  record (TensorBoard ignores a truncated last one). A run that (re)starts at
  `first_step` starts a new file in the same directory that begins with a
  restart mark, so that TensorBoard drops the earlier files' events of steps
  >= `first_step`, as metrics.jsonl drops their lines.
  """

  def __init__(self, logdir: str, first_step: int | None = None):
    os.makedirs(logdir, exist_ok=True)
    name = f'events.out.tfevents.{time.time():.6f}.{socket.gethostname()}'
    self.path = os.path.join(logdir, name)
    self._records = RecordWriter(self.path)
    self._append(event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION))
    if first_step is not None:
      self._append(restart_event(first_step))

  def _append(self, event: event_pb2.Event) -> None:
    self._records.write(event.SerializeToString())
    self._records.flush()

  def write(self, step: int, scalars: dict[str, float]) -> None:
    """Writes `scalars` (tag -> value) at `step`."""
    self._append(scalars_event(step, scalars))

  def close(self) -> None:
    self._records.close()

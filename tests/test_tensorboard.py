"""TensorBoard event files: written through tensorboardX, read back with its compiled protos.

TensorBoard's own reader needs the `tensorboard` package, which is not a dependency; the
reader here checks each record's CRCs with tensorboardX's and parses the `Event`s with
its protocol-buffer classes, then applies TensorBoard's rule for restarted runs.
"""

import glob
import os
import struct

import pytest
from tensorboardX.proto import event_pb2
from tensorboardX.record_writer import masked_crc32c

from botan_jax import io
from botan_jax import tensorboard
from botan_jax import run_files


def read_events(path: str) -> list[event_pb2.Event]:
  """The `Event`s of one file, checking the CRCs of every record."""
  with open(path, 'rb') as f:
    raw = f.read()
  events, offset = [], 0
  while offset < len(raw):
    header, (header_crc,) = raw[offset:offset + 8], struct.unpack_from('<I', raw, offset + 8)
    (length,) = struct.unpack('<Q', header)
    data = raw[offset + 12:offset + 12 + length]
    (data_crc,) = struct.unpack_from('<I', raw, offset + 12 + length)
    assert header_crc == masked_crc32c(header) and data_crc == masked_crc32c(data)
    events.append(event_pb2.Event.FromString(data))
    offset += 16 + length
  return events


def read_scalars(logdir: str) -> dict[str, list[tuple[int, float]]]:
  """tag -> [(step, value)] over the event files of `logdir`, as TensorBoard shows them.

  A restart mark (SessionLog START at step S) drops the earlier events of steps >= S.
  """
  scalars: dict[str, list[tuple[int, float]]] = {}
  paths = sorted(glob.glob(os.path.join(logdir, 'events.out.tfevents.*')))
  assert paths, f'no event file in {logdir}'
  for path in paths:
    events = read_events(path)
    assert events[0].file_version == tensorboard.FILE_VERSION
    for event in events[1:]:
      assert event.wall_time > 1e9  # seconds since the epoch
      if event.session_log.status == event_pb2.SessionLog.START:
        scalars = {tag: [(s, v) for s, v in points if s < event.step]
                   for tag, points in scalars.items()}
      for value in event.summary.value:
        scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
  return scalars


def test_scalar_writer_round_trips(tmp_path):
  writer = tensorboard.ScalarWriter(str(tmp_path))
  writer.write(0, {'test/pearson_node': 0.25})
  writer.write(300, {'train/loss': 1.5e-3, 'test/pearson_node': 0.5})
  writer.write(2**40, {'train/loss': -2.0, 'test/pearson_edge': float('nan')})
  scalars = read_scalars(str(tmp_path))  # Readable before close: every write is flushed.
  # An undefined value (E's Pearson on files without E) is not drawn; metrics.jsonl keeps it.
  assert scalars == {'test/pearson_node': [(0, 0.25), (300, 0.5)],
                     'train/loss': [(300, pytest.approx(1.5e-3)), (2**40, -2.0)]}


def test_metrics_log_tags_and_a_resumed_run_in_a_new_file(tmp_path):
  log = run_files.MetricsLog(str(tmp_path), resume_step=0, write_tensorboard=True)
  for step in range(4):
    log.write(step=step, epoch=step, loss=float(step), test_pearson_node=0.5, graphs_per_s=9.0,
              test_per_file={'a.npz': 0.5})
  resumed = run_files.MetricsLog(str(tmp_path), resume_step=1, write_tensorboard=True)
  for step in (2, 3):
    resumed.write(step=step, epoch=step, loss=10.0 * step)
  assert len(glob.glob(str(tmp_path / 'tensorboard' / 'events.out.tfevents.*'))) == 2
  scalars = read_scalars(str(tmp_path / 'tensorboard'))
  assert scalars == {'train/loss': [(0, 0.0), (1, 1.0), (2, 20.0), (3, 30.0)],
                     'test/pearson_node': [(0, 0.5), (1, 0.5)],
                     'speed/graphs_per_s': [(0, 9.0), (1, 9.0)]}
  assert [r['step'] for r in io.read_jsonl(str(tmp_path / 'metrics.jsonl'))] == [0, 1, 2, 3]


def test_metrics_log_without_tensorboard_writes_no_event_file(tmp_path):
  run_files.MetricsLog(str(tmp_path), resume_step=0).write(step=0, loss=1.0)
  assert not (tmp_path / 'tensorboard').exists()

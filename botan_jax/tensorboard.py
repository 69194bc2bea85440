"""TensorBoard scalar event files, written without TensorFlow.

An event file is a sequence of TFRecords, each holding one serialized `Event`
protocol buffer. Only the few fields scalars need are encoded here:

  Event   {double wall_time = 1; int64 step = 2; string file_version = 3;
           Summary summary = 5;}
  Summary {repeated Value value = 1;}
  Value   {string tag = 1; float simple_value = 2;}

and a TFRecord is: uint64 length, masked CRC-32C of the length, the data,
masked CRC-32C of the data (all little-endian). `tensorboard --logdir WORKDIR`
reads the files that training writes under {workdir}/tensorboard/.
"""

import os
import socket
import struct
import time

_CRC32C_POLYNOMIAL = 0x82F63B78  # Castagnoli, bit-reflected


def _crc32c_table() -> tuple[int, ...]:
  table = []
  for byte in range(256):
    crc = byte
    for _ in range(8):
      crc = (crc >> 1) ^ (_CRC32C_POLYNOMIAL if crc & 1 else 0)
    table.append(crc)
  return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
  """CRC-32C (Castagnoli) of `data`, as TFRecord uses it."""
  crc = 0xFFFFFFFF
  for byte in data:
    crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> bytes:
  crc = crc32c(data)
  return struct.pack('<I', (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _varint(value: int) -> bytes:
  out = bytearray()
  while True:
    low, value = value & 0x7F, value >> 7
    out.append(low | (0x80 if value else 0))
    if not value:
      return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
  return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def tfrecord(data: bytes) -> bytes:
  """One TFRecord around `data`."""
  length = struct.pack('<Q', len(data))
  return length + _masked_crc(length) + data + _masked_crc(data)


def event(wall_time: float, step: int, scalars: dict[str, float] | None = None,
          file_version: str | None = None) -> bytes:
  """A serialized `Event` with scalar summaries (or the file-version header)."""
  out = _varint(1 << 3 | 1) + struct.pack('<d', wall_time) + _varint(2 << 3) + _varint(step)
  if file_version is not None:
    out += _length_delimited(3, file_version.encode())
  if scalars:
    values = b''.join(
        _length_delimited(1, _length_delimited(1, tag.encode())
                          + _varint(2 << 3 | 5) + struct.pack('<f', value))
        for tag, value in scalars.items())
    out += _length_delimited(5, values)
  return out


class ScalarWriter:
  """Appends scalar events to a new `events.out.tfevents.*` file in `logdir`.

  Each `write` is flushed, so an interrupted run keeps every complete record
  (TensorBoard ignores a truncated last one). A resumed run starts a new file
  in the same directory; TensorBoard reads them all.
  """

  def __init__(self, logdir: str):
    os.makedirs(logdir, exist_ok=True)
    name = f'events.out.tfevents.{time.time():.6f}.{socket.gethostname()}'
    self.path = os.path.join(logdir, name)
    with open(self.path, 'ab') as f:
      f.write(tfrecord(event(time.time(), 0, file_version='brain.Event:2')))

  def write(self, step: int, scalars: dict[str, float]) -> None:
    """Writes `scalars` (tag -> value) at `step`."""
    with open(self.path, 'ab') as f:
      f.write(tfrecord(event(time.time(), step, scalars)))

"""TensorBoard event files: CRC-32C, TFRecord framing and the Event protocol buffer.

The reader below is written independently of `botan_jax.tensorboard` (a bitwise
CRC and a generic protocol-buffer field parser), so that the two can disagree.
"""

import glob
import os
import struct

import numpy as np
import pytest

from botan_jax import tensorboard


def bitwise_crc32c(data: bytes) -> int:
  crc = 0xFFFFFFFF
  for byte in data:
    crc ^= byte
    for _ in range(8):
      crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
  return crc ^ 0xFFFFFFFF


def unmask(masked: int) -> int:
  rotated = (masked - 0xA282EAD8) & 0xFFFFFFFF
  return ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF


def read_records(path: str) -> list[bytes]:
  """TFRecord payloads of a file, checking both CRCs of every record."""
  with open(path, 'rb') as f:
    raw = f.read()
  records, offset = [], 0
  while offset < len(raw):
    length_bytes = raw[offset:offset + 8]
    (length,) = struct.unpack('<Q', length_bytes)
    (length_crc,) = struct.unpack('<I', raw[offset + 8:offset + 12])
    data = raw[offset + 12:offset + 12 + length]
    (data_crc,) = struct.unpack('<I', raw[offset + 12 + length:offset + 16 + length])
    assert unmask(length_crc) == bitwise_crc32c(length_bytes)
    assert unmask(data_crc) == bitwise_crc32c(data)
    records.append(data)
    offset += 16 + length
  return records


def parse_fields(data: bytes) -> list[tuple[int, object]]:
  """(field number, value) of a serialized protocol buffer; bytes for length-delimited."""
  fields, offset = [], 0

  def varint():
    nonlocal offset
    value, shift = 0, 0
    while True:
      byte = data[offset]
      offset += 1
      value |= (byte & 0x7F) << shift
      shift += 7
      if not byte & 0x80:
        return value

  while offset < len(data):
    key = varint()
    field, wire_type = key >> 3, key & 7
    if wire_type == 0:
      fields.append((field, varint()))
    elif wire_type == 1:
      fields.append((field, struct.unpack('<d', data[offset:offset + 8])[0]))
      offset += 8
    elif wire_type == 5:
      fields.append((field, struct.unpack('<f', data[offset:offset + 4])[0]))
      offset += 4
    elif wire_type == 2:
      length = varint()
      fields.append((field, data[offset:offset + length]))
      offset += length
    else:
      raise AssertionError(f'unexpected wire type {wire_type}')
  return fields


def read_scalars(logdir: str) -> dict[str, list[tuple[int, float]]]:
  """tag -> [(step, value)] over every event file of `logdir`; checks the header."""
  scalars: dict[str, list[tuple[int, float]]] = {}
  paths = sorted(glob.glob(os.path.join(logdir, 'events.out.tfevents.*')))
  assert paths, f'no event file in {logdir}'
  for path in paths:
    records = [dict_of(parse_fields(r)) for r in read_records(path)]
    assert records[0][3] == b'brain.Event:2'
    for record in records[1:]:
      assert record[1] > 1e9  # wall time in seconds since the epoch
      for _, value in parse_fields(record[5]):
        entry = dict_of(parse_fields(value))
        scalars.setdefault(entry[1].decode(), []).append((record.get(2, 0), entry[2]))
  return scalars


def dict_of(fields):
  return {field: value for field, value in fields}


def test_crc32c_matches_the_check_value_and_a_bitwise_implementation():
  assert tensorboard.crc32c(b'123456789') == 0xE3069283
  data = np.random.default_rng(0).bytes(1000)
  assert tensorboard.crc32c(data) == bitwise_crc32c(data)


def test_scalar_writer_round_trips(tmp_path):
  writer = tensorboard.ScalarWriter(str(tmp_path))
  writer.write(0, {'test/pearson_node': 0.25})
  writer.write(300, {'train/loss': 1.5e-3, 'test/pearson_node': 0.5})
  writer.write(2**40, {'train/loss': -2.0})
  scalars = read_scalars(str(tmp_path))
  assert scalars['test/pearson_node'] == [(0, 0.25), (300, 0.5)]
  assert scalars['train/loss'] == [(300, pytest.approx(1.5e-3)), (2**40, -2.0)]

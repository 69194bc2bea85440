"""The authors' dataset (one 58 GB tar.gz): only the files asked for, into the workspace layout.

Files are matched by name, `isoconfig_N4096T{T}_{id}_tc{XX}.npz`, wherever they
sit in the archive (its folders are not documented), and written to
`{data}/T{T:.2f}/{train,test}/` (ids 1-400 train, 401-500 test: the paper's
split), each atomically and checked (it loads, its shapes agree, it is finite:
`io.read_botan_npz`).

A gzip stream cannot be resumed in the middle, so by default the archive is
first downloaded to `{data}/downloads/public_dataset.tar.gz` (through a
`.partial` file resumed with HTTP Range: killed at any point, a rerun fetches
only the missing bytes), then read in one streaming pass that skips the files
already extracted; `keep_archive=False` deletes it afterwards. Where the disk
cannot hold the archive, `stream=True` extracts while downloading; a rerun then
reads the archive again from its start, skipping what is done.
"""

import dataclasses
import os
from collections.abc import Sequence

from absl import logging

from botan_jax import io
from botan_jax import layout
from botan_jax.datasets import archives
from botan_jax.datasets import http

URL = 'https://ipomoea-www.cc.u-tokyo.ac.jp/i29002/botan/public_dataset.tar.gz'
TRAIN_IDS = range(1, 401)  # The paper's split of the 500 configurations per temperature.
TEST_IDS = range(401, 501)
BYTES_PER_FILE = 3_300_000  # One file: types, initial positions and 32 x 4096 x 3 float64.
NUM_TIME_INDICES = 10


@dataclasses.dataclass(frozen=True)
class Selection:
  """Which files to extract.

  Attributes:
    temperatures: e.g. (0.44,).
    time_indices: 1-based tcXX indices (all ten by default).
    splits: 'train' and/or 'test'.
    ids: (first, last) configuration ids, inclusive, or None for the split's.
    max_configs: at most this many configurations per temperature and split,
      the lowest ids first (None: all).
  """
  temperatures: tuple[float, ...] = (0.44,)
  time_indices: tuple[int, ...] = tuple(range(1, NUM_TIME_INDICES + 1))
  splits: tuple[str, ...] = layout.SPLITS
  ids: tuple[int, int] | None = None
  max_configs: int | None = None

  def ids_of(self, split: str) -> range:
    """The configuration ids of `split` that are selected."""
    ids = TRAIN_IDS if split == 'train' else TEST_IDS
    if self.ids is not None:
      ids = range(max(ids.start, self.ids[0]), min(ids.stop, self.ids[1] + 1))
    if self.max_configs is not None:
      ids = ids[:self.max_configs]
    return ids

  def split_of(self, config_id: int) -> str | None:
    for split in self.splits:
      if config_id in self.ids_of(split):
        return split
    return None

  def count(self) -> int:
    """The number of files selected."""
    return (len(self.temperatures) * len(self.time_indices)
            * sum(len(self.ids_of(split)) for split in self.splits))

  def destination(self, data_dir: str, member_name: str) -> str | None:
    """Where the archive member `member_name` goes, or None if it is not selected."""
    name = layout.parse_dataset_name(member_name)
    if name is None or name['time_index'] not in self.time_indices:
      return None
    temperature = next((t for t in self.temperatures if abs(t - name['temperature']) < 1e-6),
                       None)
    split = self.split_of(name['config_id'])
    if temperature is None or split is None:
      return None
    return os.path.join(layout.split_dir(data_dir, temperature, split),
                        os.path.basename(member_name))


def check_file(path: str) -> None:
  """Refuses an extracted file that does not load, or has inconsistent shapes or NaN values."""
  sample = io.read_botan_npz(path)
  if sample.trajectory_positions is None:
    raise io.DataError(f'{path}: no positions (trajectories) in a file of the authors\' '
                       'dataset; the archive is damaged.')


def archive_path(data_dir: str) -> str:
  return os.path.join(layout.downloads_dir(data_dir), layout.BOTAN_ARCHIVE)


def download(data_dir: str, selection: Selection = Selection(), url: str = URL,
             keep_archive: bool = True, stream: bool = False) -> dict:
  """Extracts the selected files of the authors' archive into `{data_dir}/T{T}/{split}/`.

  Returns:
    `files` (the selected files present, extracted now or before) and
    `bytes_fetched` (HTTP bytes of this run).
  """
  remote = http.probe(url)
  size = remote.size
  count = selection.count()
  destination_of = lambda name: selection.destination(data_dir, name)
  files_bytes = count * BYTES_PER_FILE
  label = os.path.basename(url.split('?')[0]) or layout.BOTAN_ARCHIVE
  if stream:
    http.check_free_space(data_dir, files_bytes, f'{count} files')
    logging.info('Streaming %s (%s) and extracting %d files on the fly; a rerun reads the archive '
                 'again from its start (a gzip stream cannot resume), skipping the files already '
                 'extracted.', url, http.format_bytes(size), count)
    chunks, _ = http.stream(url)
    meter = http.Meter(label, size)
    source = archives.MeteredReader(_ChunkReader(chunks), meter)
    files = archives.extract(source, destination_of, label, check_file)
    return dict(files=files, bytes_fetched=meter.done)
  archive = archive_path(data_dir)
  have = os.path.getsize(archive) if os.path.exists(archive) else 0
  partial = http.partial_path(archive)
  have_partial = os.path.getsize(partial) if os.path.exists(partial) else 0
  needed = (0 if have == size else size - have_partial) + files_bytes
  http.check_free_space(data_dir, needed, f'the archive ({http.format_bytes(size)}) and {count} '
                        'files')
  if not remote.ranges:
    logging.warning('%s: the server refuses byte ranges: an interrupted download starts again '
                    'from byte 0.', url)
  fetched = 0
  if have != size:
    logging.info('Downloading %s (%s) to %s.', url, http.format_bytes(size), archive)
    fetched = http.download(url, archive, label, 0, size, remote.version)
  files = archives.extract(archive, destination_of, label, check_file)
  if not keep_archive:
    os.remove(archive)
  return dict(files=files, bytes_fetched=fetched)


class _ChunkReader:
  """A readable stream over an iterator of byte chunks (for tarfile's stream mode)."""

  def __init__(self, chunks):
    self._chunks, self._chunk, self._position = chunks, b'', 0

  def read(self, count: int = -1) -> bytes:
    parts = []
    while count != 0:
      if self._position == len(self._chunk):
        self._chunk, self._position = next(self._chunks, b''), 0
        if not self._chunk:
          break
      take = len(self._chunk) - self._position if count < 0 else min(
          count, len(self._chunk) - self._position)
      parts.append(self._chunk[self._position:self._position + take])
      self._position += take
      count -= take if count > 0 else 0
    return b''.join(parts)


def selection_from(temperatures: Sequence[float], time_indices: Sequence[int] = (),
                   splits: Sequence[str] = (), ids: str | None = None,
                   max_configs: int | None = None) -> Selection:
  """A `Selection` from command-line values; `ids` as 'FIRST-LAST' (e.g. '401-500')."""
  id_range = None
  if ids:
    try:
      first, last = (int(part) for part in ids.split('-'))
    except ValueError:
      raise http.DownloadError(f'--ids={ids}: give FIRST-LAST, e.g. 401-500.') from None
    id_range = (first, last)
  bad = [s for s in splits if s not in layout.SPLITS]
  if bad:
    raise http.DownloadError(f'--split={",".join(bad)}: choose train and/or test.')
  return Selection(temperatures=tuple(float(t) for t in temperatures) or (0.44,),
                   time_indices=tuple(int(k) for k in time_indices) or Selection.time_indices,
                   splits=tuple(splits) or layout.SPLITS, ids=id_range, max_configs=max_configs)

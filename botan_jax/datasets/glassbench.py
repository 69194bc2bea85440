"""GlassBench (Zenodo record 10118191, one 6 GB zip): only the members asked for, by byte ranges.

  1. The zip's central directory (at its end; zip64) is read by the standard
     library's `zipfile` through `RemoteFile`, a seekable file over HTTP Range
     requests: a few hundred kB instead of 6 GB.
  2. Each selected member's bytes (local header and compressed data) are
     downloaded into `{destination}.partial`, resumed with Range after an
     interruption (`http.download`).
  3. The member is decompressed from them (stored or deflated, zlib), its
     CRC-32 and size checked against the central directory, and written
     atomically to `{data}/glassbench/{member path}`; a member that fails is
     refused and its partial bytes removed, so a rerun fetches it again.
  4. `KA_models/T{T}.tar.gz` tarballs are extracted beside themselves, by file name and
     split folder wherever they sit inside (`KA_models/T{T:.2f}/{train,test}/N4096T{T}_{id}.npz`,
     `tarball_destinations`).

Members already complete are skipped, so the same command resumes.
"""

import io as pyio
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence

from absl import logging

from botan_jax import layout
from botan_jax.datasets import archives
from botan_jax.datasets import http

URL = 'https://zenodo.org/api/records/10118191/files/GlassBench.zip/content'
# The same file at the record's download address (reported to serve large ranges where the
# API address answers HTTP 504).
RECORD_URL = 'https://zenodo.org/records/10118191/files/GlassBench.zip?download=1'
SIZE = 6_042_260_027  # Bytes, as Zenodo lists it.
BLOCK_BYTES = 256 << 10  # Read-ahead of the central directory reads.


class RemoteFile(pyio.RawIOBase):
  """A read-only, seekable file over HTTP byte ranges (for `zipfile.ZipFile`), with a one-block
  read-ahead; `fetched` counts the bytes transferred."""

  def __init__(self, url: str, size: int):
    super().__init__()
    self.url, self.size, self.position, self.fetched = url, size, 0, 0
    self._block_start, self._block = 0, b''

  def seekable(self) -> bool:
    return True

  def readable(self) -> bool:
    return True

  def tell(self) -> int:
    return self.position

  def seek(self, offset: int, whence: int = 0) -> int:
    base = {0: 0, 1: self.position, 2: self.size}[whence]
    self.position = max(0, base + offset)
    return self.position

  def read(self, count: int = -1) -> bytes:
    if count is None or count < 0:
      count = self.size - self.position
    count = min(count, self.size - self.position)
    if count <= 0:
      return b''
    offset = self.position - self._block_start
    if not (0 <= offset and offset + count <= len(self._block)):
      length = min(max(count, BLOCK_BYTES), self.size - self.position)
      self._block_start, self._block = self.position, http.read_range(self.url, self.position,
                                                                     length)
      self.fetched += length
      offset = 0
    self.position += count
    return self._block[offset:offset + count]

  def readinto(self, buffer) -> int:
    data = self.read(len(buffer))
    buffer[:len(data)] = data
    return len(data)


def central_directory(url: str) -> tuple[list[zipfile.ZipInfo], int]:
  """The members of the zip at `url` and the bytes fetched to list them.

  Raises:
    http.DownloadError: if the server refuses ranges, or the file is no zip.
  """
  remote = http.probe(url)
  if not remote.ranges:
    raise http.DownloadError(f'{url}: the server refuses byte ranges, so members cannot be '
                             'fetched alone; download the whole zip (e.g. with curl) and unzip '
                             'its KA_models and KA_results into {data}/glassbench.')
  reader = RemoteFile(url, remote.size)
  try:
    with zipfile.ZipFile(reader) as archive:
      return archive.infolist(), reader.fetched
  except zipfile.BadZipFile as err:
    raise http.DownloadError(f'{url}: not a zip file, or a truncated one ({err}).') from None


def select(members: Sequence[zipfile.ZipInfo], wanted: Sequence[str]) -> list[zipfile.ZipInfo]:
  """The files among `members` whose name is in `wanted`, or under a `wanted` ending in '/'.

  Raises:
    http.DownloadError: naming a wanted entry that matches nothing.
  """
  files = [m for m in members if not m.is_dir()]
  chosen = []
  for want in wanted:
    found = [m for m in files if m.filename == want or (want.endswith('/') and
                                                        m.filename.startswith(want))]
    if not found:
      near = sorted({m.filename.split('/')[0] + '/' for m in files})
      raise http.DownloadError(f'GlassBench has no member {want!r}; its folders are '
                               f'{", ".join(near)}.')
    chosen += [m for m in found if m not in chosen]
  return chosen


def default_members(temperatures: Sequence[float]) -> list[str]:
  """The 3-D tarballs of `temperatures` and the results folder (the benchmark's numbers)."""
  return [layout.glassbench_tarball(t) for t in temperatures] + [layout.GLASSBENCH_RESULTS + '/']


def tarball_destinations(data_dir: str) -> Callable[[str], str | None]:
  """Where a KA tarball's members go: each `N{N}T{T}_{id}.npz` under a `train` or `test`
  folder (at any depth) to `{data_dir}/glassbench/KA_models/T{T:.2f}/{split}/`; anything else
  is skipped."""
  def destination_of(name: str) -> str | None:
    parsed = layout.parse_glassbench_name(name)
    folders = name.split('/')[:-1]
    split = next((f for f in reversed(folders) if f in layout.SPLITS), None)
    if parsed is None or split is None:
      return None
    return os.path.join(layout.glassbench_split_dir(data_dir, parsed['temperature'], split),
                        os.path.basename(name))
  return destination_of


def _data_offset(url: str, member: zipfile.ZipInfo) -> int:
  """Where the member's compressed bytes start: after its local header (whose name and extra
  field lengths may differ from the central directory's)."""
  header = http.read_range(url, member.header_offset, zipfile.sizeFileHeader)
  fields = struct.unpack(zipfile.structFileHeader, header)
  if fields[0] != zipfile.stringFileHeader:
    raise http.DownloadError(f'{url}: no local header of {member.filename} at byte '
                             f'{member.header_offset}; the zip is damaged.')
  return (member.header_offset + zipfile.sizeFileHeader
          + fields[zipfile._FH_FILENAME_LENGTH] + fields[zipfile._FH_EXTRA_FIELD_LENGTH])  # pylint: disable=protected-access


def inflate_checked(raw_path: str, member: zipfile.ZipInfo, destination: str) -> None:
  """Decompresses the member's bytes in `raw_path` into `destination` (atomically), checking
  its CRC-32 and size; raises DownloadError (and writes nothing) where they differ."""
  if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
    raise http.DownloadError(f'{member.filename}: compression method {member.compress_type} '
                             'is not supported (stored and deflated are).')
  inflater = zlib.decompressobj(-zlib.MAX_WBITS) if member.compress_type else None
  crc, size = 0, 0
  from botan_jax import io  # pylint: disable=g-import-not-at-top (numpy: only when writing)
  with io.atomic_path(destination) as tmp, open(raw_path, 'rb') as source, open(tmp, 'wb') as out:
    try:
      while chunk := source.read(http.CHUNK_BYTES):
        data = inflater.decompress(chunk) if inflater else chunk
        crc, size = zlib.crc32(data, crc), size + len(data)
        out.write(data)
      if inflater:
        data = inflater.flush()
        crc, size = zlib.crc32(data, crc), size + len(data)
        out.write(data)
    except zlib.error as err:
      raise http.DownloadError(f'{member.filename}: corrupt compressed data ({err}); fetched '
                               'again at the next run.') from None
    except OSError as err:
      raise http.disk_full(destination, err) from None
    if crc != member.CRC or size != member.file_size:
      raise http.DownloadError(
          f'{member.filename}: CRC-32 {crc:08x} and size {size} do not match the zip\'s '
          f'{member.CRC:08x} and {member.file_size}: the member is corrupt; it was not kept and '
          'is fetched again at the next run.')


def fetch_member(url: str, member: zipfile.ZipInfo, destination: str) -> int:
  """One member into `destination`, checked; returns the bytes fetched (0 when complete)."""
  if os.path.exists(destination) and os.path.getsize(destination) == member.file_size:
    return 0
  raw = destination + '.zipped'  # Its compressed bytes, complete (renamed from .partial).
  fetched = 0
  if not (os.path.exists(raw) and os.path.getsize(raw) == member.compress_size):
    start = _data_offset(url, member)
    fetched = zipfile.sizeFileHeader  # The local header read for it.
    if member.compress_size:
      try:
        fetched += http.download(url, raw, member.filename, start, start + member.compress_size,
                                 f'{member.filename} CRC-32 {member.CRC:08x}')
      except http.DownloadError as err:
        if url != URL:
          raise
        raise http.DownloadError(f'{err} If Zenodo\'s API address keeps failing, give its record '
                                 f'address: --url=\'{RECORD_URL}\'.') from None
    else:
      open(raw, 'wb').close()
  try:
    inflate_checked(raw, member, destination)
  finally:
    os.remove(raw)
  return fetched


def download(data_dir: str, temperatures: Sequence[float] = (0.44,),
             members: Sequence[str] = (), url: str = URL, keep_archive: bool = True) -> dict:
  """Fetches GlassBench members into `{data_dir}/glassbench/` and extracts the KA tarballs.

  Args:
    data_dir: the data folder (`--workdir`, default data).
    temperatures: the 3-D temperatures whose tarball is fetched (with
      KA_results/) when `members` is empty.
    members: zip member names, or folders ending in '/', instead.
    url: the zip's URL (a mirror, or a test server).
    keep_archive: keep each tarball after its files are extracted.

  Returns:
    `members` (names written), `bytes_fetched` (HTTP bytes of this run),
    `files` (npz files extracted or already there).
  """
  entries, fetched = central_directory(url)
  chosen = select(entries, list(members) or default_members(temperatures))
  root = layout.glassbench_dir(data_dir)
  needed = sum(m.file_size for m in chosen) * (2 if keep_archive else 1)
  http.check_free_space(root, needed, f'{len(chosen)} GlassBench members (and their files)')
  logging.info('GlassBench: %d members, %s, from %s (listed with %s).', len(chosen),
               http.format_bytes(sum(m.compress_size for m in chosen)), url,
               http.format_bytes(fetched))
  files = []
  for member in chosen:
    destination = os.path.join(root, *member.filename.split('/'))
    archives.check_inside(root, destination, member.filename)
    is_tarball = member.filename.endswith('.tar.gz')
    extracted = archives.extracted_before(destination) if is_tarball else None
    if extracted is not None:
      files += extracted
      continue
    fetched += fetch_member(url, member, destination)
    if is_tarball:
      extracted = archives.extract(destination, tarball_destinations(data_dir), member.filename)
      archives.mark_extracted(destination, extracted)
      files += extracted
      if not keep_archive:
        os.remove(destination)
  logging.info('GlassBench: done; %s fetched over HTTP in this run.', http.format_bytes(fetched))
  return dict(members=[m.filename for m in chosen], bytes_fetched=fetched, files=files)

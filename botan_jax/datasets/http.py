"""HTTP for downloads: byte ranges, resumable files and progress lines (standard library only).

urllib is enough here: the downloads need GET with a Range header, redirects
(followed by urllib, a loop refused by it) and streaming reads, nothing that
a third-party client would add; so botan-jax needs no HTTP dependency.

Every failure a user can meet (an HTTP error, a server that cannot be reached,
a redirect loop, a body shorter than announced, a full disk) is a
`DownloadError` (a user error: one line on the command line) that names the
URL or file and says what to do; a rerun of the same command resumes.
"""

import dataclasses
import errno
import http.client as http_client
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from absl import logging

from botan_jax import errors
from botan_jax import layout
from botan_jax import progress

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60.0
PROGRESS_INTERVAL_S = 30.0
USER_AGENT = 'botan-jax (urllib)'
_CONTENT_RANGE = re.compile(r'bytes (\d+)-(\d+)/(\d+|\*)')


class DownloadError(errors.UserError):
  """A download or an archive that failed; the message names it and what to do."""


def _request(url: str, start: int | None = None, end: int | None = None):
  """An open response to GET `url`, from byte `start` to `end` inclusive when given."""
  headers = {'User-Agent': USER_AGENT, 'Accept-Encoding': 'identity'}
  if start is not None:
    headers['Range'] = f'bytes={start}-' + ('' if end is None else str(end))
  try:
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                  timeout=TIMEOUT_S)
  except urllib.error.HTTPError as err:
    if 300 <= err.code < 400:
      raise DownloadError(f'{url}: a redirect that cannot be followed (HTTP {err.code}: '
                          f'{err.reason}); check --url.') from None
    if err.code == 416:
      raise DownloadError(f'{url}: the server refused the byte range {start}-{end} (HTTP 416): '
                          'the file there changed or is shorter; delete the partial download '
                          'and rerun.') from None
    raise DownloadError(f'{url}: HTTP {err.code} {err.reason}; check --url, or retry later.'
                        ) from None
  except (urllib.error.URLError, OSError) as err:
    reason = getattr(err, 'reason', err)
    raise DownloadError(f'{url}: cannot be reached ({reason}); check the network and --url, '
                        'then rerun (downloads resume).') from None


def content_range(response) -> tuple[int, int, int | None] | None:
  """(first byte, last byte, total or None) of a 206 response's Content-Range, else None."""
  match = _CONTENT_RANGE.fullmatch(response.headers.get('Content-Range', '').strip())
  if response.status != 206 or match is None:
    return None
  total = None if match[3] == '*' else int(match[3])
  return int(match[1]), int(match[2]), total


@dataclasses.dataclass(frozen=True)
class Remote:
  """What the server says of a file: `size` in bytes, whether it serves byte `ranges`, and its
  `version` (ETag, else Last-Modified; '' when it gives neither), to tell a changed file."""
  size: int
  ranges: bool
  version: str


def probe(url: str) -> Remote:
  """The `Remote` of the file at `url`, from a request for its first byte: a 206 answer gives
  the size in Content-Range, a 200 (ranges refused) in Content-Length."""
  with _request(url, 0, 0) as response:
    version = response.headers.get('ETag') or response.headers.get('Last-Modified') or ''
    answer = content_range(response)
    if answer is not None and answer[2] is not None:
      return Remote(answer[2], True, version)
    length = response.headers.get('Content-Length')
    if response.status == 200 and length is not None:
      return Remote(int(length), False, version)
  raise DownloadError(f'{url}: the server gives no size for the file (no Content-Length or '
                      'Content-Range); it cannot be checked or resumed.')


def read_range(url: str, start: int, length: int) -> bytes:
  """`length` bytes of the file at `url` from byte `start` (one ranged GET)."""
  with _request(url, start, start + length - 1) as response:
    answer = content_range(response)
    if answer is None or answer[0] != start:
      raise DownloadError(f'{url}: the server ignored the byte range {start}-{start + length - 1} '
                          f'(HTTP {response.status}); it must serve ranges for this download.')
    data = response.read(length)
  if len(data) != length:
    raise DownloadError(f'{url}: {len(data)} bytes came for a range of {length}: the connection '
                        'was cut; rerun.')
  return data


class Meter:
  """Progress lines of a transfer: bytes done of the total, rate and ETA, every `interval_s`."""

  def __init__(self, label: str, total: int, done: int = 0,
               interval_s: float = PROGRESS_INTERVAL_S):
    self.label, self.total, self.done = label, total, done
    self.start_done, self.start = done, time.monotonic()
    self.interval = progress.Interval(interval_s)

  def add(self, count: int) -> None:
    self.done += count
    if self.interval.due():
      logging.info('%s', self.line())

  def line(self) -> str:
    elapsed = time.monotonic() - self.start
    moved = self.done - self.start_done
    rate = moved / elapsed if elapsed > 0 else float('nan')
    eta = progress.eta_seconds(self.total - self.done, moved, elapsed)
    return (f'{self.label}: {format_bytes(self.done)} of {format_bytes(self.total)} | '
            f'{progress.format_rate(rate / 1e6)} MB/s | ETA {progress.format_duration(eta)}')


def format_bytes(count: float) -> str:
  """'512 B', '3.4 MB', '58.0 GB' (decimal units)."""
  for unit, scale in (('GB', 1e9), ('MB', 1e6), ('kB', 1e3)):
    if count >= scale:
      return f'{count / scale:.1f} {unit}'
  return f'{count:.0f} B'


def check_free_space(directory: str, needed: int, what: str) -> None:
  """Refuses to start when `directory`'s file system has less than `needed` bytes free."""
  os.makedirs(directory, exist_ok=True)
  free = shutil.disk_usage(directory).free
  if free < needed:
    raise DownloadError(f'{directory}: {format_bytes(free)} free, but {what} need about '
                        f'{format_bytes(needed)}; free space or choose another --workdir'
                        + (' (or --stream, which keeps no archive)' if 'archive' in what else '')
                        + '.')


def disk_full(path: str, err: OSError) -> DownloadError:
  """The error for a write that failed, a full disk said in words."""
  if err.errno == errno.ENOSPC:
    return DownloadError(f'{path}: the disk is full; free space and rerun: what is complete is '
                         'kept and the download resumes.')
  return DownloadError(f'{path}: cannot be written ({err.strerror}).')


def stream(url: str, start: int = 0, end: int | None = None) -> tuple[Iterator[bytes], int]:
  """The body of `url` from byte `start` (to `end` inclusive) in chunks, and the byte it starts at.

  The start is 0 when the server refuses ranges (a 200 answer to a ranged
  request): the caller then starts over. Raises DownloadError for a body
  shorter than its announced length.
  """
  response = _request(url, start if start or end is not None else None, end)
  answer = content_range(response)
  begin = answer[0] if answer is not None else 0
  if start and answer is None:
    logging.warning('%s: the server refuses byte ranges (HTTP %d to a ranged request): '
                    'starting again from byte 0.', url, response.status)
  expected = response.headers.get('Content-Length')

  def chunks() -> Iterator[bytes]:
    received = 0
    with response:
      while True:
        try:
          chunk = response.read(CHUNK_BYTES)
        except (OSError, urllib.error.URLError, http_client.HTTPException) as err:
          raise DownloadError(f'{url}: the connection failed after {format_bytes(received)} '
                              f'({err}); rerun: the download resumes.') from None
        if not chunk:
          break
        received += len(chunk)
        yield chunk
    if expected is not None and received != int(expected):
      raise DownloadError(f'{url}: the server sent {received} of {expected} bytes (cut short); '
                          'rerun: the download resumes.')
  return chunks(), begin


def partial_path(destination: str) -> str:
  return destination + layout.PARTIAL_SUFFIX


def download(url: str, destination: str, label: str, start: int, stop: int,
             version: str = '') -> int:
  """Downloads bytes [`start`, `stop`) of the file at `url` (the whole file: 0 and its size) into
  `destination`, through `{destination}.partial`, resumed from its length with a Range request.

  Killed at any point, a rerun fetches only the missing bytes (or starts over,
  with a warning, from a server that refuses ranges). `version` identifies the
  remote file (`Remote.version`): it is kept beside the partial file, and a
  partial file of another version (the file changed on the server) is started
  again. Returns the bytes fetched.
  """
  length = stop - start
  end = stop - 1
  partial = partial_path(destination)
  record = partial + '.json'
  identity = dict(url_version=version, start=start, stop=stop)
  os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
  have = os.path.getsize(partial) if os.path.exists(partial) else 0
  if have and _read_json(record) not in (None, identity):
    logging.warning('%s: the file on the server changed since %s was started (%s, now %s); '
                    'starting again.', url, partial, _read_json(record), identity)
    have = 0
  if have > length:
    logging.warning('%s: longer than the file (%d > %d bytes); starting again.', partial, have,
                    length)
    have = 0
  with open(record + '.tmp', 'w') as f:
    json.dump(identity, f)
  os.replace(record + '.tmp', record)
  fetched = 0
  if have < length:
    if have:
      logging.info('%s: resuming at %s of %s.', label, format_bytes(have), format_bytes(length))
    chunks, begin = stream(url, start + have, end)
    have = begin - start if begin >= start else 0
    meter = Meter(label, length, have)
    try:
      with open(partial, 'r+b' if have and os.path.exists(partial) else 'wb') as f:
        f.seek(have)
        f.truncate()
        for chunk in chunks:
          if begin < start:  # A server without ranges sends the file from byte 0.
            skip = min(len(chunk), start - begin)
            begin += skip
            chunk = chunk[skip:]
          f.write(chunk[:max(length - meter.done, 0)])
          fetched += len(chunk)
          meter.add(len(chunk))
          if meter.done >= length:
            break
    except OSError as err:
      raise disk_full(partial, err) from None
    logging.info('%s', meter.line())
  if os.path.getsize(partial) != length:
    raise DownloadError(f'{url}: {os.path.getsize(partial)} of {length} bytes arrived; rerun: '
                        'the download resumes.')
  os.replace(partial, destination)
  os.remove(record)
  return fetched


def _read_json(path: str):
  """The JSON in `path`, or None where it is absent or unreadable."""
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None

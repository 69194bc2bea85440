"""A local HTTP file server for download tests: byte ranges (or not), counted bytes, throttling.

    with serving(directory, ranges=True) as server:
      url = server.url('archive.tar.gz')
      ...
      server.bytes_served  # body bytes written so far
      server.served_since(k)  # body bytes of the requests from the k-th on (len(server.requests))

`/loop` redirects to itself (a redirect loop); missing files are 404.
"""

import contextlib
import http.server
import os
import re
import threading
import time
from collections.abc import Iterator

_RANGE = re.compile(r'bytes=(\d+)-(\d*)$')


class FileServer(http.server.ThreadingHTTPServer):
  """Serves the files of `directory`; `ranges`: honour Range headers; `delay_s`: sleep per
  `chunk` bytes sent (to make a download slow enough to kill); `cut_after`: drop the
  connection after that many body bytes of a response (a network cut)."""
  daemon_threads = True

  def __init__(self, directory: str, ranges: bool = True, delay_s: float = 0.0,
               chunk: int = 64 << 10, cut_after: int | None = None):
    super().__init__(('127.0.0.1', 0), _Handler)
    self.directory, self.ranges, self.delay_s, self.chunk = directory, ranges, delay_s, chunk
    self.cut_after = cut_after  # Close a response's connection after this many body bytes.
    self.bytes_served, self.requests = 0, []
    self.lock = threading.Lock()

  def url(self, name: str) -> str:
    return f'http://127.0.0.1:{self.server_address[1]}/{name}'

  def count(self, request: dict, sent: int) -> None:
    with self.lock:
      self.bytes_served += sent
      request['sent'] += sent

  def served_since(self, first_request: int) -> int:
    """The body bytes of the requests from the `first_request`-th on (0-based)."""
    with self.lock:
      return sum(r['sent'] for r in self.requests[first_request:])


class _Handler(http.server.BaseHTTPRequestHandler):
  server: FileServer

  def log_message(self, *args) -> None:  # Quiet.
    del args

  def do_GET(self) -> None:  # pylint: disable=invalid-name
    request = dict(path=self.path, range=self.headers.get('Range'), sent=0)
    with self.server.lock:
      self.server.requests.append(request)
    if self.path == '/loop':
      self.send_response(302)
      self.send_header('Location', '/loop')
      self.send_header('Content-Length', '0')
      self.end_headers()
      return
    path = os.path.join(self.server.directory, self.path.lstrip('/').split('?')[0])
    if not os.path.isfile(path):
      self.send_error(404, 'Not Found')
      return
    size = os.path.getsize(path)
    start, end = 0, size - 1
    match = _RANGE.match(self.headers.get('Range', ''))
    if match and self.server.ranges:
      start = int(match[1])
      end = min(int(match[2]) if match[2] else size - 1, size - 1)
      if start >= size:
        self.send_error(416, 'Range Not Satisfiable')
        return
      self.send_response(206)
      self.send_header('Content-Range', f'bytes {start}-{end}/{size}')
    else:
      self.send_response(200)
    self.send_header('Content-Length', str(end - start + 1))
    self.send_header('Accept-Ranges', 'bytes' if self.server.ranges else 'none')
    stat = os.stat(path)
    self.send_header('ETag', f'"{stat.st_size}-{stat.st_mtime_ns}"')
    self.end_headers()
    with open(path, 'rb') as f:
      f.seek(start)
      remaining = end - start + 1
      while remaining > 0:
        if self.server.cut_after is not None and request['sent'] >= self.server.cut_after:
          self.close_connection = True
          return
        data = f.read(min(self.server.chunk, remaining))
        try:
          self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
          return
        self.server.count(request, len(data))
        remaining -= len(data)
        if self.server.delay_s:
          time.sleep(self.server.delay_s)


@contextlib.contextmanager
def serving(directory: str, **options) -> Iterator[FileServer]:
  """A `FileServer` on 127.0.0.1 (a free port) in a thread, for the `with` block."""
  server = FileServer(str(directory), **options)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield server
  finally:
    server.shutdown()
    server.server_close()

"""Selective, streaming extraction of tar.gz archives (standard library `tarfile`).

One pass over the archive, in stream mode (so it works on a download as it
arrives as well as on a file): each member that `destination_of` maps to a
path is written there atomically and checked, any other is skipped, and a
member whose destination already holds a file of its size is not written
again, so a rerun resumes. A truncated or corrupt archive ends with a
`DownloadError` that says how many files were complete (they are kept).
"""

import contextlib
import json
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO

from absl import logging

from botan_jax.datasets import http

EXTRACTED_SUFFIX = '.extracted.json'  # Beside an archive: the files it gave, once all are out.


def check_inside(root: str, path: str, name: str) -> None:
  """Refuses a member whose name would write outside `root` ('..', absolute paths)."""
  root, path = os.path.abspath(root), os.path.abspath(path)
  if os.path.commonpath([root, path]) != root:
    raise http.DownloadError(f'{name}: an archive member naming a path outside {root}; refused.')


def _members(archive: tarfile.TarFile, label: str, count: Callable[[], int]
             ) -> Iterator[tarfile.TarInfo]:
  """The archive's members, a truncated or corrupt archive said in words."""
  try:
    yield from archive
  except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
    raise http.DownloadError(
        f'{label}: the archive is truncated or corrupt ({err}); the {count()} files extracted '
        'before are complete and kept. Download it again (delete the archive) and rerun.'
    ) from None


def extract(source: str | IO[bytes], destination_of: Callable[[str], str | None], label: str,
            check: Callable[[str], None] | None = None) -> list[str]:
  """Extracts the members that `destination_of` maps to a path; returns those paths.

  Args:
    source: a .tar.gz file, or a readable stream of one (a download).
    destination_of: member name -> where it goes, or None to skip it.
    label: the archive's name, for messages.
    check: called on each extracted file (before it takes its name); raises
      to refuse it.
  """
  written: list[str] = []
  extracted = 0
  from botan_jax import io  # pylint: disable=g-import-not-at-top (numpy: only when writing)
  with contextlib.ExitStack() as stack:
    if isinstance(source, str):  # A file: progress lines over its compressed bytes.
      source = MeteredReader(stack.enter_context(open(source, 'rb')),
                             http.Meter(f'{label} (extracting)', os.path.getsize(source)))
    try:
      archive = stack.enter_context(tarfile.open(fileobj=source, mode='r|gz'))
    except (tarfile.TarError, EOFError, zlib.error) as err:
      raise http.DownloadError(f'{label}: not a tar.gz archive ({err}).') from None
    for member in _members(archive, label, lambda: extracted):
      destination = destination_of(member.name) if member.isfile() else None
      if destination is None:
        continue
      if os.path.exists(destination) and os.path.getsize(destination) == member.size:
        written.append(destination)
        continue
      try:
        with io.atomic_path(destination) as tmp:
          with archive.extractfile(member) as data, open(tmp, 'wb') as out:
            while chunk := data.read(http.CHUNK_BYTES):
              out.write(chunk)
          if os.path.getsize(tmp) != member.size:
            raise http.DownloadError(f'{label}: {member.name} ends early: the archive is '
                                     f'truncated; the {extracted} files extracted before are '
                                     'kept.')
          if check is not None:
            check(tmp)
      except io.DataError as err:
        raise http.DownloadError(f'{label}: the member {member.name} is damaged '
                                 f'({str(err).split(": ", 1)[-1]}); not kept.') from None
      except (tarfile.TarError, EOFError, zlib.error) as err:
        raise http.DownloadError(
            f'{label}: truncated or corrupt in {member.name} ({err}); the {extracted} files '
            'extracted before are complete and kept.') from None
      except OSError as err:
        raise http.disk_full(destination, err) from None
      written.append(destination)
      extracted += 1
  logging.info('%s: %d files extracted, %d already there.', label, extracted,
               len(written) - extracted)
  return written


class MeteredReader:
  """A binary file's `read`, counting what is read on a `http.Meter` (progress lines)."""

  def __init__(self, file: IO[bytes], meter: http.Meter):
    self.file, self.meter = file, meter

  def read(self, count: int = -1) -> bytes:
    data = self.file.read(count)
    self.meter.add(len(data))
    return data


def _marker(archive_path: str) -> str:
  return archive_path + EXTRACTED_SUFFIX


def mark_extracted(archive_path: str, files: list[str]) -> None:
  """Records that every file of `archive_path` is out (the archive may then be deleted)."""
  from botan_jax import io  # pylint: disable=g-import-not-at-top
  io.save_json(_marker(archive_path), sorted(files))


def extracted_before(archive_path: str) -> list[str] | None:
  """The files a previous run extracted from `archive_path`, if it finished and all remain."""
  marker = _marker(archive_path)
  if not os.path.exists(marker):
    return None
  with open(marker) as f:
    files = json.load(f)
  return files if all(os.path.exists(p) for p in files) else None

"""--mode=download against a local server: selective, resumable, checked, with clear errors."""

import os
import signal
import subprocess
import tarfile
import time
import zipfile

import numpy as np
import pytest

from botan_jax import datasets
from botan_jax import io
from botan_jax import layout
from botan_jax.datasets import glassbench as glassbench_download
from botan_jax.datasets import http
from tests import glassbench_files
from tests import http_server
from tests import synthetic
from tests import test_cli

PADDING_BYTES = 2_000_000  # An incompressible file in the archive, to have bytes to interrupt.


def make_botan_archive(root) -> tuple[str, list[str]]:
  """A tar.gz like the authors': BOTAN npz files in nested folders, and other files.

  Returns the archive's path and the member names of the T=0.44, tc07, test files.
  """
  source = root / 'source'
  for temperature_dir, temperature in (('T044', 0.44), ('T050', 0.50)):
    for time_index in (4, 7):
      folder = source / 'public_dataset' / temperature_dir / f'tc{time_index:02d}'
      for first_id in (1, 401):
        for path in synthetic.write_botan_files(folder, 2, first_id=first_id,
                                                time_index=time_index, seed=first_id):
          if temperature != 0.44:
            os.rename(path, path.replace('T0.44', 'T0.50'))
  (source / 'public_dataset' / 'README.txt').write_text('the authors\' dataset\n')
  (source / 'public_dataset' / 'padding.bin').write_bytes(
      np.random.default_rng(0).bytes(PADDING_BYTES))
  archive = root / 'server' / 'public_dataset.tar.gz'
  archive.parent.mkdir()
  with tarfile.open(archive, 'w:gz') as tar:
    tar.add(source / 'public_dataset', arcname='public_dataset')
  wanted = [f'isoconfig_N160T0.44_{i}_tc07.npz' for i in (401, 402)]
  return str(archive), wanted


@pytest.fixture(name='botan_archive')
def fixture_botan_archive(tmp_path):
  return make_botan_archive(tmp_path)


def test_selective_extraction_gets_exactly_the_requested_files(tmp_path, botan_archive):
  archive, wanted = botan_archive
  data = tmp_path / 'data'
  with http_server.serving(os.path.dirname(archive)) as server:
    result = datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                               temperatures=[0.44], time_indices=[7], splits=['test'])
    assert result['bytes_fetched'] == os.path.getsize(archive)
    test_dir = layout.split_dir(str(data), 0.44, 'test')
    assert sorted(os.listdir(test_dir)) == wanted
    assert not os.path.exists(layout.split_dir(str(data), 0.44, 'train'))
    assert not os.path.exists(layout.temperature_dir(str(data), 0.50))
    for name in wanted:
      assert io.read_botan_npz(os.path.join(test_dir, name)).trajectory_positions.shape == (
          4, 160, 3)
    # A rerun fetches nothing and writes nothing again.
    mtimes = [os.stat(os.path.join(test_dir, n)).st_mtime_ns for n in wanted]
    again = datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                              temperatures=[0.44], time_indices=[7], splits=['test'])
    assert again['bytes_fetched'] == 0
    assert mtimes == [os.stat(os.path.join(test_dir, n)).st_mtime_ns for n in wanted]
    # More of the archive: another time index, train ids 1-1 only.
    more = datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                             temperatures=[0.44], time_indices=[4], ids='1-1',
                             keep_archive=False)
    assert [os.path.basename(p) for p in more['files']] == ['isoconfig_N160T0.44_1_tc04.npz']
    assert not os.path.exists(os.path.join(layout.downloads_dir(str(data)),
                                           layout.BOTAN_ARCHIVE))


def test_streaming_extracts_the_same_files_and_keeps_no_archive(tmp_path, botan_archive):
  archive, wanted = botan_archive
  with http_server.serving(os.path.dirname(archive)) as server:
    result = datasets.download('botan', str(tmp_path / 'data'),
                               url=server.url('public_dataset.tar.gz'), time_indices=[7],
                               splits=['test'], stream=True)
  assert sorted(os.path.basename(p) for p in result['files']) == wanted
  assert not os.path.exists(layout.downloads_dir(str(tmp_path / 'data')))


def kill_when_partial(args: list[str], partial: str, threshold: int, cwd) -> int:
  """Runs `main.py args` and kills it (SIGKILL) once `partial` holds more than `threshold`
  bytes; returns the size it left."""
  client = subprocess.Popen(test_cli.main_command(*args), cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=test_cli.ROOT))
  deadline = time.monotonic() + 120
  while not (os.path.exists(partial) and os.path.getsize(partial) > threshold):
    assert time.monotonic() < deadline and client.poll() is None, 'no progress to interrupt'
    time.sleep(0.05)
  client.send_signal(signal.SIGKILL)
  client.wait()
  return os.path.getsize(partial)


def test_a_download_killed_half_way_fetches_only_the_rest(tmp_path, botan_archive):
  archive, wanted = botan_archive
  size = os.path.getsize(archive)
  data = tmp_path / 'data'
  partial = http.partial_path(os.path.join(layout.downloads_dir(str(data)), layout.BOTAN_ARCHIVE))
  with http_server.serving(os.path.dirname(archive), delay_s=0.05, chunk=32 << 10) as server:
    args = ['--mode=download', '--dataset=botan', f'--url={server.url("public_dataset.tar.gz")}',
            f'--workdir={data}', '--time_index=7', '--split=test']
    have = kill_when_partial(args, partial, size // 3, tmp_path)
    assert 0 < have < size
    server.delay_s, first = 0.0, len(server.requests)
    rerun = test_cli.run_main(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert server.served_since(first) == 1 + (size - have)  # The size probe, the missing bytes.
    assert server.requests[-1]['range'] == f'bytes={have}-{size - 1}'
  assert 'resuming at' in rerun.stderr
  with open(archive, 'rb') as original, open(partial[:-len('.partial')], 'rb') as copy:
    assert original.read() == copy.read()
  assert sorted(os.listdir(layout.split_dir(str(data), 0.44, 'test'))) == wanted


def test_a_glassbench_download_killed_half_way_fetches_only_the_rest(tmp_path):
  zip_path = make_glassbench_zip(tmp_path, padding_bytes=1000, tarball_padding=PADDING_BYTES)
  with zipfile.ZipFile(zip_path) as archive:
    member = archive.getinfo('KA_models/T0.44.tar.gz')
  data = tmp_path / 'data'
  raw = os.path.join(layout.glassbench_dir(str(data)), 'KA_models', 'T0.44.tar.gz.zipped')
  with http_server.serving(os.path.dirname(zip_path), delay_s=0.05, chunk=16 << 10) as server:
    args = ['--mode=download', '--dataset=glassbench', f'--url={server.url("GlassBench.zip")}',
            f'--workdir={data}', '--members=KA_models/T0.44.tar.gz']
    have = kill_when_partial(args, http.partial_path(raw), member.compress_size // 3, tmp_path)
    assert 0 < have < member.compress_size
    server.delay_s, first = 0.0, len(server.requests)
    rerun = test_cli.run_main(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    member_bytes = [r['sent'] for r in server.requests[first:] if r['sent'] > 10_000]
    assert member_bytes == [member.compress_size - have]
  assert len(os.listdir(layout.glassbench_split_dir(str(data), 0.44, 'train'))) == 2


def test_a_server_without_ranges_restarts_with_a_message(tmp_path, botan_archive, caplog):
  archive, wanted = botan_archive
  data = tmp_path / 'data'
  target = os.path.join(layout.downloads_dir(str(data)), layout.BOTAN_ARCHIVE)
  os.makedirs(os.path.dirname(target))
  with open(archive, 'rb') as f:
    half = f.read(os.path.getsize(archive) // 2)
  with open(http.partial_path(target), 'wb') as f:
    f.write(half[:-1000] + b'\0' * 1000)  # Damaged bytes at the end: they must be replaced.
  with http_server.serving(os.path.dirname(archive), ranges=False) as server:
    result = datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                               time_indices=[7], splits=['test'])
  assert 'the server refuses byte ranges (HTTP 200 to a ranged request): starting again' in (
      caplog.text)
  with open(archive, 'rb') as original, open(target, 'rb') as copy:
    assert original.read() == copy.read()
  assert sorted(os.path.basename(p) for p in result['files']) == wanted


def test_a_truncated_archive_is_a_clear_error_and_keeps_what_was_complete(tmp_path,
                                                                          botan_archive):
  archive, _ = botan_archive
  with open(archive, 'rb') as f:
    content = f.read()
  cut = tmp_path / 'cut'
  cut.mkdir()
  (cut / 'public_dataset.tar.gz').write_bytes(content[:int(len(content) * 0.35)])
  data = tmp_path / 'data'
  with http_server.serving(str(cut)) as server:
    with pytest.raises(http.DownloadError, match='truncated or corrupt') as raised:
      datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                        temperatures=[0.44, 0.50])
  kept = [os.path.join(folder, name) for folder, _, names in os.walk(data) for name in names
          if name.endswith('.npz')]
  assert kept, 'the files before the cut should be kept'
  assert f'the {len(kept)} files extracted before are complete and kept' in str(raised.value)
  for path in kept:
    io.read_botan_npz(path)


@pytest.mark.parametrize('name, message', [
    ('missing.tar.gz', 'HTTP 404'), ('loop', 'redirect'),
])
def test_http_errors_are_clear(tmp_path, name, message):
  with http_server.serving(str(tmp_path)) as server:
    with pytest.raises(http.DownloadError, match=message):
      datasets.download('botan', str(tmp_path / 'data'), url=server.url(name))


def test_a_full_disk_is_refused_before_starting(tmp_path, botan_archive, monkeypatch):
  archive, _ = botan_archive
  monkeypatch.setattr(http.shutil, 'disk_usage', lambda path: type('U', (), {'free': 1000})())
  with http_server.serving(os.path.dirname(archive)) as server:
    with pytest.raises(http.DownloadError, match='1.0 kB free, but the archive .* need about'):
      datasets.download('botan', str(tmp_path / 'data'), url=server.url('public_dataset.tar.gz'))
  assert server.bytes_served == 1  # The size probe only.


# GlassBench.

def make_glassbench_zip(root, padding_bytes: int = 4_000_000, tarball_padding: int = 0) -> str:
  """A zip with GlassBench's tree: KA_models/T{T}.tar.gz (stored; with an incompressible
  file of `tarball_padding` bytes), KA_results/*.dat (deflated), and a large 2-D member to
  leave alone."""
  tarballs = root / 'tarballs'
  for temperature in (0.44, 0.50):
    glassbench_files.write_temperature(tarballs / 'src', temperature, num_train=2, num_test=2)
    (tarballs / 'src' / f'T{temperature:.2f}' / 'padding.bin').write_bytes(
        np.random.default_rng(3).bytes(tarball_padding))
    with tarfile.open(tarballs / f'T{temperature:.2f}.tar.gz', 'w:gz') as tar:
      tar.add(tarballs / 'src' / f'T{temperature:.2f}',  # One nested deeper: found by name.
              arcname=('deeper/' if temperature == 0.44 else '') + f'T{temperature:.2f}')
  path = root / 'server' / 'GlassBench.zip'
  path.parent.mkdir()
  with zipfile.ZipFile(path, 'w') as archive:
    for temperature in (0.44, 0.50):
      archive.write(tarballs / f'T{temperature:.2f}.tar.gz',
                    f'KA_models/T{temperature:.2f}.tar.gz', zipfile.ZIP_STORED)
    for name in ('FIG1.dat', 'times_0.44.dat'):
      archive.writestr(f'KA_results/{name}', '0.13 0.695\n' * 50, zipfile.ZIP_DEFLATED)
    archive.writestr('KA2D_models/T0.23.tar.gz', np.random.default_rng(1).bytes(padding_bytes),
                     zipfile.ZIP_STORED)
    archive.writestr('KA_trajectories/README', 'see pyg_botan\n')
  return str(path)


def test_glassbench_fetches_only_the_members_asked_for(tmp_path):
  zip_path = make_glassbench_zip(tmp_path)
  data = tmp_path / 'data'
  with http_server.serving(os.path.dirname(zip_path)) as server:
    result = datasets.download('glassbench', str(data), url=server.url('GlassBench.zip'),
                               temperatures=[0.44])
    served = server.bytes_served
    with zipfile.ZipFile(zip_path) as archive:
      wanted = sum(archive.getinfo(n).compress_size for n in result['members'])
    assert result['members'] == ['KA_models/T0.44.tar.gz', 'KA_results/FIG1.dat',
                                 'KA_results/times_0.44.dat']
    assert served < wanted + 300_000 and served < os.path.getsize(zip_path) / 3
    assert result['bytes_fetched'] == served - 1
    root = layout.glassbench_dir(str(data))
    for split in ('train', 'test'):
      names = sorted(os.listdir(layout.glassbench_split_dir(str(data), 0.44, split)))
      first = 1 if split == 'train' else 401
      assert names == [f'N160T0.44_{i}.npz' for i in (first, first + 1)]
    assert not os.path.exists(os.path.join(root, 'KA_models', 'T0.50'))
    assert open(os.path.join(root, 'KA_results', 'FIG1.dat')).read() == '0.13 0.695\n' * 50
    sample = io.load_sample(os.path.join(layout.glassbench_split_dir(str(data), 0.44, 'test'),
                                         'N160T0.44_401.npz'), time_index=7)
    assert sample.propensity.shape == (160,)
    server.bytes_served = 0
    again = datasets.download('glassbench', str(data), url=server.url('GlassBench.zip'),
                              temperatures=[0.44])
    assert server.bytes_served < 300_000 and again['files'] == result['files']


def test_a_member_failing_its_crc_is_refused(tmp_path):
  zip_path = make_glassbench_zip(tmp_path)
  with zipfile.ZipFile(zip_path) as archive:
    info = archive.getinfo('KA_models/T0.44.tar.gz')
  with open(zip_path, 'r+b') as f:  # One flipped byte in the middle of the stored tarball.
    f.seek(info.header_offset + 100 + info.compress_size // 2)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0xFF]))
  data = tmp_path / 'data'
  with http_server.serving(os.path.dirname(zip_path)) as server:
    with pytest.raises(http.DownloadError, match='KA_models/T0.44.tar.gz: CRC-32 .* corrupt'):
      datasets.download('glassbench', str(data), url=server.url('GlassBench.zip'),
                        members=['KA_models/T0.44.tar.gz'])
  leftovers = os.listdir(os.path.join(layout.glassbench_dir(str(data)), 'KA_models'))
  assert leftovers == []


def test_glassbench_needs_ranges_and_names_unknown_members(tmp_path):
  zip_path = make_glassbench_zip(tmp_path, padding_bytes=1000)
  with http_server.serving(os.path.dirname(zip_path), ranges=False) as server:
    with pytest.raises(http.DownloadError, match='refuses byte ranges'):
      datasets.download('glassbench', str(tmp_path / 'data'), url=server.url('GlassBench.zip'))
  with http_server.serving(os.path.dirname(zip_path)) as server:
    with pytest.raises(http.DownloadError, match="no member 'KA_models/T0.40.tar.gz'"):
      datasets.download('glassbench', str(tmp_path / 'data'), url=server.url('GlassBench.zip'),
                        temperatures=[0.40])


def test_remote_file_reads_like_a_local_one(tmp_path):
  path = tmp_path / 'blob'
  content = np.random.default_rng(2).bytes(600_000)
  path.write_bytes(content)
  with http_server.serving(str(tmp_path)) as server:
    remote = glassbench_download.RemoteFile(server.url('blob'), len(content))
    for offset, count in ((0, 10), (599_990, 100), (300_000, 270_000), (5, 0)):
      remote.seek(offset)
      assert remote.read(count) == content[offset:offset + count]
    remote.seek(-4, 2)
    assert remote.read() == content[-4:]


def test_download_and_benchmark_mistakes_are_one_line(tmp_path):
  test_cli.assert_user_error(test_cli.run_main(
      '--mode=download', '--dataset=botan', '--url=http://127.0.0.1:9/none.tar.gz',
      f'--workdir={tmp_path / "d"}', cwd=tmp_path), 'none.tar.gz: cannot be reached')
  test_cli.assert_user_error(test_cli.run_main(
      '--mode=download', '--dataset=botan', '--ids=400', cwd=tmp_path), '--ids=400: give')
  test_cli.assert_user_error(test_cli.run_main(
      '--mode=benchmark', '--temperature=0.44,0.50', '--output=o', cwd=tmp_path),
      'one --temperature')
  test_cli.assert_user_error(test_cli.run_main(
      '--mode=benchmark', '--output=o', cwd=tmp_path),
      r'data/glassbench/KA_models/T0\.44/test: matches no file')


def test_a_member_that_fails_its_check_is_not_kept(tmp_path):
  good, = synthetic.write_botan_files(tmp_path / 'src' / 'a', 1, first_id=401)
  bad, = synthetic.write_botan_files(tmp_path / 'src' / 'b', 1, first_id=402)
  arrays = dict(np.load(bad))
  arrays['positions'][0, 0, 0] = np.nan
  io.save_npz(bad, **arrays)
  (tmp_path / 'server').mkdir()
  with tarfile.open(tmp_path / 'server' / 'public_dataset.tar.gz', 'w:gz') as tar:
    tar.add(tmp_path / 'src', arcname='x')
  data = tmp_path / 'data'
  with http_server.serving(str(tmp_path / 'server')) as server:
    with pytest.raises(http.DownloadError, match='member x/b/isoconfig_N160T0.44_402_tc07.npz is '
                       'damaged .*NaN'):
      datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                        time_indices=[7])
  assert os.listdir(layout.split_dir(str(data), 0.44, 'test')) == [os.path.basename(good)]


def test_an_interrupted_glassbench_member_resumes_from_its_partial_bytes(tmp_path):
  zip_path = make_glassbench_zip(tmp_path, padding_bytes=1000)
  with zipfile.ZipFile(zip_path) as archive:
    info = archive.getinfo('KA_models/T0.44.tar.gz')
  data = tmp_path / 'data'
  destination = os.path.join(layout.glassbench_dir(str(data)), 'KA_models', 'T0.44.tar.gz')
  os.makedirs(os.path.dirname(destination))
  with open(zip_path, 'rb') as f:  # What a killed run left: the first 40 % of the member's bytes.
    f.seek(info.header_offset + zipfile.sizeFileHeader + len(info.filename.encode()))
    have = int(info.compress_size * 0.4)
    open(http.partial_path(destination + '.zipped'), 'wb').write(f.read(have))
  with http_server.serving(os.path.dirname(zip_path)) as server:
    datasets.download('glassbench', str(data), url=server.url('GlassBench.zip'),
                      members=['KA_models/T0.44.tar.gz'])
    member_requests = [r for r in server.requests if r['sent'] > 100_000]
  assert [r['sent'] for r in member_requests] == [info.compress_size - have]
  assert len(os.listdir(layout.glassbench_split_dir(str(data), 0.44, 'test'))) == 2


def test_a_partial_download_of_a_file_changed_on_the_server_starts_again(tmp_path, botan_archive):
  archive, wanted = botan_archive
  size = os.path.getsize(archive)
  data = tmp_path / 'data'
  target = os.path.join(layout.downloads_dir(str(data)), layout.BOTAN_ARCHIVE)
  with http_server.serving(os.path.dirname(archive), delay_s=0.01) as server:
    url = server.url('public_dataset.tar.gz')
    with pytest.raises(http.DownloadError):  # A cut connection, as a kill would leave it.
      http.download(url, target, 'archive', 0, size + 10, http.probe(url).version)
    assert 0 < os.path.getsize(http.partial_path(target)) <= size
    os.utime(archive, ns=(1, 1))  # The file changes on the server (its ETag does).
    first = len(server.requests)
    result = datasets.download('botan', str(data), url=url, time_indices=[7], splits=['test'])
    assert server.served_since(first) == 1 + size
  assert sorted(os.path.basename(p) for p in result['files']) == wanted
  assert not os.path.exists(http.partial_path(target) + '.json')


def test_a_cut_connection_is_a_clear_error_and_the_rerun_resumes(tmp_path, botan_archive):
  archive, wanted = botan_archive
  size = os.path.getsize(archive)
  data = tmp_path / 'data'
  partial = http.partial_path(os.path.join(layout.downloads_dir(str(data)), layout.BOTAN_ARCHIVE))
  with http_server.serving(os.path.dirname(archive), cut_after=1 << 20) as server:
    with pytest.raises(http.DownloadError, match='cut short|connection failed'):
      datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                        time_indices=[7], splits=['test'])
    assert os.path.getsize(partial) == 1 << 20
    server.cut_after, first = None, len(server.requests)
    result = datasets.download('botan', str(data), url=server.url('public_dataset.tar.gz'),
                               time_indices=[7], splits=['test'])
    assert server.served_since(first) == 1 + size - (1 << 20)
  assert sorted(os.path.basename(p) for p in result['files']) == wanted

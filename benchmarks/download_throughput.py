"""Download and extraction throughput on a local server, against curl and tar (one-off).

  python -m benchmarks.download_throughput --workdir=/tmp/dl_bench [--num_files=400]

Builds a synthetic authors'-style archive (BOTAN npz files of N=4096, 32 runs,
about 3.1 MB each, random and so nearly incompressible: 400 files make a 1.2 GB
tar.gz), serves it from a local server (tests/http_server.py, in its own
process), and times:
  curl          `curl -o` of the archive;
  download      botan-jax's resumable download (http.download);
  tar -xzf      of the downloaded archive;
  extract       botan-jax's selective extraction of every file, with the check
                that loads each (botan_archive.download on the downloaded archive);
  stream        download and extraction at once (--stream), to a fresh folder.
Then a GlassBench-sized zip (6.04 GB: a KA_models/T0.44.tar.gz of GlassBench-like
npz files, about 590 MB, and incompressible members for the rest) and the bytes
fetched to take T=0.44 and KA_results/ out of it. Prints one line per measure
(MB/s of archive bytes) and removes what it wrote unless --keep.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile

import numpy as np

from botan_jax import datasets
from botan_jax import io
from botan_jax import layout
from botan_jax.datasets import http

MB = 1e6
GLASSBENCH_SIZE = 6_042_260_027


def write_botan_files(directory: str, count: int) -> None:
  rng = np.random.default_rng(0)
  box = 15.0566
  for k in range(count):
    initial = rng.uniform(0, box, (4096, 3))
    io.save_npz(os.path.join(directory, f'T044/tc07/isoconfig_N4096T0.44_{k + 1}_tc07.npz'),
                types=(np.arange(4096) >= 3277).astype(np.int64), initial_positions=initial,
                positions=initial + 0.3 * rng.normal(size=(32, 4096, 3)))


def serve(directory: str) -> tuple[subprocess.Popen, str]:
  """tests/http_server.py in its own process; returns it and its base URL."""
  code = ('import sys, time; from tests import http_server\n'
          'server = http_server.FileServer(sys.argv[1]); import threading\n'
          'print(server.server_address[1], flush=True); server.serve_forever()\n')
  process = subprocess.Popen([sys.executable, '-c', code, directory], stdout=subprocess.PIPE,
                             text=True, cwd=os.path.dirname(os.path.dirname(__file__)) or '.')
  port = int(process.stdout.readline())
  return process, f'http://127.0.0.1:{port}/'


def timed(label: str, size: int, function) -> float:
  start = time.monotonic()
  function()
  elapsed = time.monotonic() - start
  print(f'{label:28s} {size / MB:9.1f} MB in {elapsed:7.1f} s: {size / MB / elapsed:7.1f} MB/s',
        flush=True)
  return elapsed


def glassbench_zip(path: str, workdir: str) -> int:
  """A zip of GlassBench's size: KA_models/T0.44.tar.gz of npz files (~590 MB), incompressible
  members for the rest; returns the T=0.44 member's size."""
  rng = np.random.default_rng(1)
  source = os.path.join(workdir, 'gb_src', 'T0.44', 'test')
  for k in range(250):
    propensity = rng.random((10, 4096))
    io.save_npz(os.path.join(source, f'N4096T0.44_{401 + k}.npz'),
                types=np.where(np.arange(4096) < 3277, 1, 2),
                initial_positions=rng.uniform(-7.5, 7.5, (4096, 3)),
                initial_positions_inherent=rng.uniform(-7.5, 7.5, (4096, 3)),
                md_prop=propensity, bb_prop=propensity,
                **{m: propensity for m in ('BOTAN', 'CAGE', 'GlassMLP', 'SE3')})
  tarball = os.path.join(workdir, 'T0.44.tar.gz')
  subprocess.run(['tar', '-czf', tarball, '-C', os.path.join(workdir, 'gb_src'), 'T0.44'],
                 check=True)
  member_size = os.path.getsize(tarball)
  with zipfile.ZipFile(path, 'w', allowZip64=True) as archive:
    archive.write(tarball, 'KA_models/T0.44.tar.gz', zipfile.ZIP_STORED)
    archive.writestr('KA_results/FIG1.dat', '130 0.695 0.827 0.725 0.713\n', zipfile.ZIP_DEFLATED)
    rest = (GLASSBENCH_SIZE - member_size) // 4
    for name in ('KA_models/T0.50.tar.gz', 'KA_models/T0.56.tar.gz', 'KA_models/T0.64.tar.gz',
                 'KA2D_trajectories/T0.30.tar.xz'):
      with archive.open(name, 'w', force_zip64=True) as out:
        for start in range(0, rest, 64 << 20):
          out.write(rng.bytes(min(64 << 20, rest - start)))
  shutil.rmtree(os.path.join(workdir, 'gb_src'))
  os.remove(tarball)
  return member_size


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--workdir', required=True)
  parser.add_argument('--num_files', type=int, default=400)
  parser.add_argument('--keep', action='store_true')
  parser.add_argument('--skip_glassbench', action='store_true')
  args = parser.parse_args()
  root = os.path.abspath(args.workdir)
  served = os.path.join(root, 'served')
  os.makedirs(served, exist_ok=True)
  archive = os.path.join(served, 'public_dataset.tar.gz')
  if not os.path.exists(archive):
    start = time.monotonic()
    write_botan_files(os.path.join(root, 'src'), args.num_files)
    subprocess.run(['tar', '-czf', archive, '-C', os.path.join(root, 'src'), 'T044'], check=True)
    shutil.rmtree(os.path.join(root, 'src'))
    print(f'archive: {os.path.getsize(archive) / MB:.1f} MB, {args.num_files} files, built in '
          f'{time.monotonic() - start:.0f} s', flush=True)
  size = os.path.getsize(archive)
  server, base = serve(served)
  try:
    curl_copy = os.path.join(root, 'curl.tar.gz')
    timed('curl -o', size, lambda: subprocess.run(['curl', '-s', '-o', curl_copy,
                                                   base + 'public_dataset.tar.gz'], check=True))
    os.remove(curl_copy)
    data = os.path.join(root, 'data')
    ours = os.path.join(layout.downloads_dir(data), layout.BOTAN_ARCHIVE)
    timed('botan-jax download', size,
          lambda: http.download(base + 'public_dataset.tar.gz', ours, 'archive', 0, size))
    untar = os.path.join(root, 'untar')
    os.makedirs(untar)
    timed('tar -xzf', size, lambda: subprocess.run(['tar', '-xzf', ours, '-C', untar], check=True))
    shutil.rmtree(untar)
    timed('botan-jax extract (checked)', size, lambda: datasets.download(
        'botan', data, url=base + 'public_dataset.tar.gz', time_indices=[7], splits=['train']))
    timed('botan-jax --stream', size, lambda: datasets.download(
        'botan', os.path.join(root, 'data_stream'), url=base + 'public_dataset.tar.gz',
        time_indices=[7], splits=['train'], stream=True))
    if not args.skip_glassbench:
      zip_path = os.path.join(served, 'GlassBench.zip')
      member = glassbench_zip(zip_path, root)
      result = datasets.download('glassbench', os.path.join(root, 'gb_data'),
                                 url=base + 'GlassBench.zip', temperatures=[0.44])
      print(f'GlassBench-sized zip {os.path.getsize(zip_path) / MB:.1f} MB: T=0.44 and '
            f'KA_results/ took {result["bytes_fetched"] / MB:.2f} MB over HTTP (the T=0.44 '
            f'member is {member / MB:.2f} MB; overhead {(result["bytes_fetched"] - member) / 1e3:.0f}'
            f' kB), {len(result["files"])} files extracted', flush=True)
  finally:
    server.terminate()
    server.wait()
    if not args.keep:
      shutil.rmtree(root)


if __name__ == '__main__':
  main()

"""Median time to build the graph and targets of one configuration.

  python -m benchmarks.graph_build [--file PATH] [--repeats 11]

Reads one BOTAN npz (default: a 4096-particle, 32-run test file of the shared
sample), then times `input_pipeline.make_graph` (periodic k-d tree neighbor
search, directed edges, edge vectors, S and E targets, evaluation masks)
`--repeats` times. The last line is JSON with the median seconds.
"""

import argparse
import json
import os
import time

import numpy as np

import benchmarks
from botan_jax import input_pipeline
from botan_jax import io

DEFAULT_FILE = benchmarks.shared_path('data', 'botan_small', 'T0.44', 'test',
                                      'isoconfig_N4096T0.44_401_tc07.npz')


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--file', default=DEFAULT_FILE)
  parser.add_argument('--repeats', type=int, default=11)
  args = parser.parse_args()
  sample = io.read_botan_npz(args.file)
  input_pipeline.make_graph(sample)  # Warm-up.
  seconds = []
  for _ in range(args.repeats):
    start = time.perf_counter()
    graph = input_pipeline.make_graph(sample)
    seconds.append(time.perf_counter() - start)
  runs = sample.trajectory_positions.shape[0]
  print(f'{sample.num_particles} particles, {runs} runs, {len(graph.senders)} edges: '
        f'median {np.median(seconds):.4f} s, min {np.min(seconds):.4f} s, '
        f'max {np.max(seconds):.4f} s over {args.repeats} builds')
  print(json.dumps(dict(benchmark='graph_build', file=os.path.basename(args.file),
                        num_particles=sample.num_particles, num_runs=runs,
                        num_edges=int(len(graph.senders)), repeats=args.repeats,
                        median_s=float(np.median(seconds)))))


if __name__ == '__main__':
  main()

"""Time of one training update for 4096-particle graphs: BOTAN and NT-GNN.

  python -m benchmarks.train_step [--repeats 5] [--data DIR] [--peak_tflops X]

Runs the project's jitted update step (`train.make_train_step`: gather,
augmentation, forward, backward, clipping, Adam) on whatever devices JAX sees,
for BOTAN (p=0.4, one graph per step) and NT-GNN (p=1, five graphs per step).
Graphs come from the BOTAN npz files in `--data` (default: the shared sample's
training files) or, where those are absent, from uniformly random
configurations at density 1.2 (about the same number of edges). Prints the
median seconds per step, graphs/s, edges/s, peak memory, XLA's count of
FLOPs and bytes of the step, the authors' FLOP count for their formulation,
and the fraction of `--peak_tflops` reached. With `--profile_dir`, a few more
BOTAN steps run under the JAX profiler, and a table of where their device time
goes (`xla_profile.py`) is printed and kept in the JSON.

Two times per step are reported. `step_s` waits for every step before the
next starts (latency, host round trip included); `loop_step_s` dispatches
`--repeats` steps back to back as the training loop does (indices put on the
device each step, one wait at the end), so the host's work overlaps the
device's: that is the time per step of a training run. The last line is JSON
with `botan_step_s`, `ntgnn_step_s`, `botan_loop_step_s` and
`ntgnn_loop_step_s` (medians).
"""

import argparse
import glob
import json
import os
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

import benchmarks
from benchmarks import xla_profile
from botan_jax import graphs
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import model_setup
from botan_jax import system
from botan_jax import train
from botan_jax.presets import botan

DEFAULT_DATA = benchmarks.shared_path('data', 'botan_small', 'T0.44', 'train')


def random_sample(seed: int) -> io.Sample:
  """Uniformly random 4096-particle configuration at density 1.2 with 32 jittered runs."""
  rng = np.random.default_rng(seed)
  box = np.full(3, system.box_length(system.NUM_PARTICLES))
  initial = rng.uniform(0, box, (system.NUM_PARTICLES, 3))
  types = (rng.uniform(size=system.NUM_PARTICLES) > system.FRACTION_A).astype(np.int32)
  runs = initial + 0.3 * rng.normal(size=(32,) + initial.shape)
  return io.Sample(initial, types, box, runs, 0.44, 1.0, f'random-{seed}')


def load_graphs(data: str, count: int) -> tuple[input_pipeline.GraphSet, str]:
  files = sorted(glob.glob(os.path.join(data, '*.npz')))[:count]
  if len(files) == count:
    return input_pipeline.load_graph_set(files), f'{count} files from {data}'
  built = [input_pipeline.make_graph(random_sample(k)) for k in range(count)]
  budget = graphs.padding_budget(system.NUM_PARTICLES, max(len(g.senders) for g in built))
  stacked = graphs.stack([graphs.pad(g, *budget) for g in built])
  return input_pipeline.GraphSet(stacked, tuple(f'random-{k}' for k in range(count))), (
      f'{count} random configurations (no data in {data})')


def authors_flops(num_nodes: int, num_edges: int, latent: int = 64, steps: int = 7) -> float:
  """FLOPs of one forward and backward pass of the authors' (unfactored) BOTAN, as 3x forward."""
  mlp = lambda fan_in: 2 * (fan_in * latent + latent * latent)
  forward = (num_edges * (steps * mlp(4 * latent) + mlp(3) + mlp(latent) + 2 * latent)
             + num_nodes * (steps * mlp(3 * latent) + mlp(1) + mlp(latent) + 2 * latent))
  return 3.0 * forward


def peak_memory_bytes() -> int:
  stats = jax.devices()[0].memory_stats() or {}
  if 'peak_bytes_in_use' in stats:
    return int(stats['peak_bytes_in_use'])
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # CPU: process peak RSS.


def time_step(graph_set: input_pipeline.GraphSet, loss_p: float, batch: int, repeats: int,
              precision: str, dtype: str, profile_dir: str | None = None,
              profile_steps: int = 5) -> dict:
  config = botan.get_config('T044_t4120')
  config.loss_p, config.batch_size, config.model.precision = loss_p, batch, precision
  config.model.dtype = dtype
  model, optimizer = model_setup.create_model(config), train.create_optimizer(config)
  mesh = train.make_mesh(batch)
  example = jax.tree.map(lambda x: x[0], graph_set.graphs)
  state = train.put(train.initial_state(config, model, optimizer, example), mesh, train.P())
  dataset = train.put(graph_set.graphs, mesh, train.P())
  step = train.make_train_step(model, optimizer, loss_p, config.augmentation, mesh, batch)
  put_indices = lambda k: train.put(np.arange(k, k + batch, dtype=np.int32) % len(graph_set),
                                    mesh, train.P(train.DATA_AXIS))
  indices = [put_indices(k) for k in range(repeats + 1)]
  compiled = step.lower(state, dataset, indices[0]).compile()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  state, metrics = step(state, dataset, indices[0])
  jax.block_until_ready(metrics)
  seconds = []
  for k in range(repeats):
    start = time.perf_counter()
    state, metrics = step(state, dataset, indices[k + 1])
    jax.block_until_ready(metrics)
    seconds.append(time.perf_counter() - start)
  loop_seconds = []
  for _ in range(3):
    start = time.perf_counter()
    for k in range(repeats):  # Indices put on the device per step, as the training loop does.
      state, metrics = step(state, dataset, put_indices(k))
    jax.block_until_ready((state, metrics))
    loop_seconds.append((time.perf_counter() - start) / repeats)
  valid = np.asarray(graph_set.graphs.edges['valid'])
  edges_per_graph = float(valid.sum(axis=1).mean())
  nodes_per_graph = float(np.asarray(graph_set.graphs.nodes['valid']).sum(axis=1).mean())
  median = float(np.median(seconds))
  profile = {}
  if profile_dir:
    with xla_profile.trace(profile_dir):
      for k in range(profile_steps):
        state, metrics = step(state, dataset, indices[k % len(indices)])
        jax.block_until_ready(metrics)
    try:
      summary = xla_profile.summarise(profile_dir, profile_steps)
    except (FileNotFoundError, ValueError) as error:  # The timing stands without it.
      print(f'profile: {error}')
    else:
      print(xla_profile.format_table(summary))
      profile = dict(profile_busy_s=summary.busy_s, profile_ops_s=summary.total_s,
                     profile_kernels=sum(op.kernels for op in summary.ops),
                     profile_by_kind_s=summary.by_kind(),
                     profile_by_family=dict(list(summary.by_family().items())[:40]),
                     profile_short_ops=summary.short_ops())
  return dict(**profile, step_s=median, min_s=float(np.min(seconds)),
              loop_step_s=float(np.median(loop_seconds)), graphs_per_s=batch / median,
              edges_per_s=batch * edges_per_graph / median,
              xla_flops=float(cost.get('flops', float('nan'))),
              xla_bytes=float(cost.get('bytes accessed', float('nan'))),
              authors_flops=batch * authors_flops(nodes_per_graph, edges_per_graph),
              loss=float(metrics['loss']))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--data', default=DEFAULT_DATA)
  parser.add_argument('--peak_tflops', type=float, default=float('nan'),
                      help='the device peak for the fraction reached (e.g. 67 for H100 FP32)')
  parser.add_argument('--precision', default='highest',
                      help="config.model.precision: 'highest' (float32) or 'default'")
  parser.add_argument('--dtype', default='float32', choices=model_setup.MODEL_DTYPES,
                      help='config.model.dtype, the computation dtype of the layers')
  parser.add_argument('--skip_ntgnn', action='store_true')
  parser.add_argument('--profile_dir', default='',
                      help='trace a few BOTAN steps into this directory and print where they spend')
  args = parser.parse_args()
  graph_set, source = load_graphs(args.data, 5)
  print(f'devices: {jax.devices()}; graphs: {source}; precision {args.precision}; '
        f'dtype {args.dtype}')
  results = {'botan': time_step(graph_set, 0.4, 1, args.repeats, args.precision, args.dtype,
                                args.profile_dir)}
  if not args.skip_ntgnn:
    results['ntgnn'] = time_step(graph_set, 1.0, 5, args.repeats, args.precision, args.dtype)
  for name, r in results.items():
    print(f'{name:6s} step {r["step_s"] * 1e3:9.2f} ms (min {r["min_s"] * 1e3:.2f}; '
          f'back to back {r["loop_step_s"] * 1e3:.2f}) | '
          f'{r["graphs_per_s"]:8.2f} graphs/s | {r["edges_per_s"] / 1e6:8.2f} M edges/s | '
          f'XLA {r["xla_flops"] / 1e9:7.1f} GFLOP, {r["xla_bytes"] / 1e9:6.2f} GB | '
          f'authors\' count {r["authors_flops"] / 1e9:6.1f} GFLOP | '
          f'{r["xla_flops"] / r["step_s"] / 1e12:7.2f} TFLOP/s achieved '
          f'({r["xla_flops"] / r["step_s"] / 1e12 / args.peak_tflops:.1%} of peak), '
          f'{r["xla_bytes"] / r["step_s"] / 1e9:7.1f} GB/s')
  print(f'peak memory {peak_memory_bytes() / 2**30:.2f} GiB')
  print(json.dumps(dict(benchmark='train_step', device=str(jax.devices()[0].device_kind),
                        num_devices=jax.device_count(), graphs=source, precision=args.precision,
                        dtype=args.dtype,
                        botan_step_s=results['botan']['step_s'],
                        ntgnn_step_s=results.get('ntgnn', {}).get('step_s'),
                        botan_loop_step_s=results['botan']['loop_step_s'],
                        ntgnn_loop_step_s=results.get('ntgnn', {}).get('loop_step_s'),
                        peak_memory_bytes=peak_memory_bytes(),
                        details=results)))


if __name__ == '__main__':
  main()

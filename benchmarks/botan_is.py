"""BOTAN against BOTAN+IS at equal epochs: fine-tunes from the authors' model, per structure and seed.

  python -m benchmarks.botan_is [--structures thermal,both] [--seeds 3] [--epochs 35]
      [--data DIR] [--workdir runs/botan_is] [--only_seed K]

Every run trains BOTAN (p=0.4) from `pyg:model1` on the training files of
`--data` (default: the shared sample, T=0.44, t=4120) with the same epochs,
evaluates the test files after every epoch, and the script prints one table
of the test Pearson of S and E per structure (median, best, worst over seeds,
at the end and at the best epoch), one of the medians at every evaluation,
a table of single inherent-structure features used as predictions (no fit),
and a JSON line. Runs already finished in `--workdir` are kept (the trainer
resumes), so `--only_seed=K` in parallel processes, then one run without it,
gives the same tables.

On GlassBench (p=1, no trajectories) the same comparison is the sweep
`--config=sweep:structure` and `--mode=benchmark` (README "Beyond the paper").
"""

import argparse
import collections
import json
import os
import time

import numpy as np

import benchmarks
from botan_jax import errors
from botan_jax import inference
from botan_jax import inherent
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import model_setup
from botan_jax import run_files
from botan_jax import train
from botan_jax.analysis import benchmark
from botan_jax.presets import botan


def run_config(data: str, structure: str, seed: int, epochs: int, cache_dir: str):
  config = botan.get_config('T044_t4120')
  config.data.train_pattern = os.path.join(data, 'train', '*.npz')
  config.data.test_pattern = os.path.join(data, 'test', '*.npz')
  config.data.cache_dir = cache_dir
  config.data.structure = structure
  config.init_from = 'pyg:' + benchmarks.shared_path('data', 'pyg_botan_pretrained',
                                                      'model1.npz')
  config.seed = seed
  config.num_epochs = epochs
  config.eval_every_epochs = 1
  config.checkpoint_every_epochs = 5
  return config


def curves(run_dir: str) -> dict[str, list[float]]:
  """Test Pearson of S and E at every evaluation (epoch 0 = the starting model)."""
  records = [r for r in run_files.read_metrics(run_dir) if 'test_pearson_node' in r]
  return dict(epoch=[r['epoch'] for r in records],
              node=[r['test_pearson_node'] for r in records],
              edge=[r['test_pearson_edge'] for r in records])


def single_feature_baselines(data: str, cache_dir: str) -> dict[str, float]:
  """Pearson r of one inherent-structure feature with the target, per test file then averaged,
  on the same masks as the models (S on type A; E on A-A pairs with r_ij(0) < 1.35):
    S ~ |r_i(0) - r_i^IS| (the vibration amplitude), S ~ e_i^IS (inherent energy per particle),
    E ~ |r_ij^IS| - |r_ij(0)| (the bond's return to its inherent length), E ~ -|r_ij(0)|.
  No parameters are fitted: they say how much of each target these inputs carry by themselves.
  """
  config = run_config(data, 'both', 0, 0, cache_dir)  # The runs' spec: their cached structures.
  spec = model_setup.graph_spec(config)
  columns = collections.defaultdict(lambda: ([], [], []))  # name -> (features, targets, masks)
  for path in io.find_files(config.data.test_pattern):
    graph = input_pipeline.load_graph(path, spec, cache_dir)
    nodes, edges = graph.nodes, graph.edges
    thermal_length = np.linalg.norm(edges['features'][:, :3], axis=1)
    inherent_length = np.linalg.norm(edges['features'][:, 3:6], axis=1)
    for name, feature, part in (
        ('S ~ |r(0) - r_IS|', nodes['features'][:, 1], nodes),
        ('S ~ e_IS', nodes['features'][:, 2], nodes),
        ('E ~ |r_IS| - |r(0)|', inherent_length - thermal_length, edges),
        ('E ~ -|r(0)|', -thermal_length, edges)):
      for column, array in zip(columns[name], (feature, part['target'], part['eval_mask'])):
        column.append(array)
  return {name: benchmark.per_configuration_pearson(*arrays) for name, arrays in columns.items()}


def summary(values: list[float]) -> str:
  return f'{np.median(values):.3f} ({np.max(values):.3f}, {np.min(values):.3f})'


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--structures', default='thermal,both')
  parser.add_argument('--seeds', type=int, default=3)
  parser.add_argument('--epochs', type=int, default=35)
  parser.add_argument('--data', default=benchmarks.shared_path('data', 'botan_small', 'T0.44'))
  parser.add_argument('--workdir', default=os.path.join('runs', 'botan_is'))
  parser.add_argument('--only_seed', type=int, default=None,
                      help='train this seed alone and print no table')
  args = parser.parse_args()
  structures = args.structures.split(',')
  for structure in structures:  # Before any run: a typo must not cost the runs before it.
    try:
      inherent.check_structure(structure)
    except errors.ConfigError as error:
      parser.error(f'--structures: {error}')
  cache_dir = os.path.join(args.workdir, 'cache')
  results = {}
  for structure in structures:
    for seed in range(args.seeds) if args.only_seed is None else [args.only_seed]:
      run_dir = os.path.join(args.workdir, f'{structure}_seed{seed}')
      config = run_config(args.data, structure, seed, args.epochs, cache_dir)
      start = time.perf_counter()
      train.train_and_evaluate(config, run_dir)
      final = inference.evaluate(config, run_dir)
      results[(structure, seed)] = dict(curves=curves(run_dir), best_checkpoint=dict(
          node=final['pearson_node'], edge=final['pearson_edge']),
          wall_s=time.perf_counter() - start)
      last = results[(structure, seed)]['curves']
      print(f'{structure} seed {seed}: final S {last["node"][-1]:.3f} E {last["edge"][-1]:.3f}; '
            f'best checkpoint S {final["pearson_node"]:.3f} E {final["pearson_edge"]:.3f}',
            flush=True)
  if args.only_seed is not None:
    return
  print(f'\nTest Pearson on {args.data}/test after {args.epochs} epochs, median (best, worst) of '
        f'{args.seeds} seeds:\n')
  print('| structure | S, last epoch | E, last epoch | S, best checkpoint | E, best checkpoint | '
        'S at epoch 0 | E at epoch 0 |')
  print('| --- | --- | --- | --- | --- | --- | --- |')
  for structure in structures:
    runs = [results[(structure, seed)] for seed in range(args.seeds)]
    print(f'| {structure} | {summary([r["curves"]["node"][-1] for r in runs])} | '
          f'{summary([r["curves"]["edge"][-1] for r in runs])} | '
          f'{summary([r["best_checkpoint"]["node"] for r in runs])} | '
          f'{summary([r["best_checkpoint"]["edge"] for r in runs])} | '
          f'{runs[0]["curves"]["node"][0]:.3f} | {runs[0]["curves"]["edge"][0]:.3f} |')
  print(f'\nTest Pearson S / E at every evaluation, median over {args.seeds} seeds:\n')
  print('| epoch | ' + ' | '.join(structures) + ' |')
  print('| --- |' + ' --- |' * len(structures))
  epochs = results[(structures[0], 0)]['curves']['epoch']
  for k, epoch in enumerate(epochs):
    cells = []
    for structure in structures:
      runs = [results[(structure, seed)]['curves'] for seed in range(args.seeds)]
      cells.append(f'{np.median([c["node"][k] for c in runs]):.3f} / '
                   f'{np.median([c["edge"][k] for c in runs]):.3f}')
    print(f'| {epoch} | ' + ' | '.join(cells) + ' |')
  baselines = single_feature_baselines(args.data, cache_dir)
  print('\nOne inherent-structure feature as the prediction (no fit), Pearson per test file '
        'then averaged:\n')
  print('| feature | Pearson |\n| --- | --- |')
  for name, value in baselines.items():
    cell = name.replace('|', r'\|')  # A bare | would split the Markdown cell.
    print(f'| {cell} | {value:.3f} |')
  print(json.dumps(dict(benchmark='botan_is', epochs=args.epochs, data=args.data,
                        baselines=baselines, runs=[
      dict(structure=s, seed=k, **r) for (s, k), r in results.items()])))


if __name__ == '__main__':
  main()

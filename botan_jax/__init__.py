"""botan-jax: BOTAN (BOnd TArgeting Network) in JAX, Flax and jraph.

The Python API, each name imported from its module on first use, so that
`import botan_jax` stays light (jax and jax-md load when a name needs them):

  load_model(source, *, dtype=None, precision=None, eval_bond_cutoff=None) -> Model
      Model.predict(positions, types, box) -> Prediction(node, edge, edge_index, node_target)
      Model.predict_sample(sample) -> Prediction
      Model.evaluate(sample) -> Evaluation(pearson_node, pearson_edge, ...)
  read(path, *, pickle_time_index=0, time_index=None, glassbench_positions='initial',
       format=None, type_map=None, frame=0, strict=False) -> Sample
      (npz of the authors or GlassBench, DeepMind pickle, LAMMPS data or dump, extxyz, GSD)
  train_and_evaluate(config, workdir) -> dict     (botan_jax/train.py)
  generate(config, workdir) -> list[str]           (botan_jax/md/generate.py)
  download(dataset, data_dir='data', *, url=None, temperatures=(0.44,), ...) -> dict
      the authors' dataset ('botan') or GlassBench ('glassbench')  (botan_jax/datasets)
  benchmark(test_pattern, output, runs=(), temperature=None) -> list[str]
      GlassBench's table and figure             (botan_jax/analysis/benchmark.py)

See botan_jax/api.py.
"""

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    'Evaluation': 'botan_jax.api',
    'Model': 'botan_jax.api',
    'Prediction': 'botan_jax.api',
    'load_model': 'botan_jax.api',
    'read': 'botan_jax.api',
    'Sample': 'botan_jax.io',
    'train_and_evaluate': 'botan_jax.train',
    'generate': 'botan_jax.md.generate',
    'download': 'botan_jax.datasets',
    'benchmark': 'botan_jax.analysis.benchmark',
}
__all__ = sorted(_HOMES)

if TYPE_CHECKING:
  from botan_jax.analysis.benchmark import benchmark
  from botan_jax.api import Evaluation, Model, Prediction, load_model, read
  from botan_jax.datasets import download
  from botan_jax.io import Sample
  from botan_jax.md.generate import generate
  from botan_jax.train import train_and_evaluate


def __getattr__(name: str) -> Any:
  if name not in _HOMES:
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
  value = getattr(importlib.import_module(_HOMES[name]), name)
  globals()[name] = value  # Found directly from now on.
  return value


def __dir__() -> list[str]:
  return sorted(set(globals()) | set(__all__))

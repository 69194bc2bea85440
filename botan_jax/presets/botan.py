"""BOTAN training configurations: one preset per temperature and time of the paper's Table I.

Usage: `--config=botan:T044_t130` (T=0.44, t=130), `botan:T050_t217`,
`botan:T056_t52`, `botan:T064_t16.5`, ... and `botan:pretrain` (edge pretraining,
p=0, T=0.44, t=13); from the clone also `--config=configs/botan.py:T044_t130`.
Names are `T{100 T:03d}_t{time:g}`; `list_presets()` gives them all.
`--config.loss_p=1.0` turns BOTAN into the node-only NT-GNN (5 graphs per step
unless `batch_size` is set).
"""

import difflib
import math
import re

import ml_collections

from botan_jax import layout
from botan_jax import system


def preset_name(temperature: float, time: float) -> str:
  return f'T{round(temperature * 100):03d}_t{time:g}'


def list_presets() -> dict[str, tuple[float, int]]:
  """Preset name -> (temperature, 1-based time index) for every Table I entry."""
  return {preset_name(t, time): (t, k + 1)
          for t in system.table_temperatures() for k, time in enumerate(system.time_row(t))}


def nearest_presets(preset: str, presets: dict[str, tuple[float, int]], count: int = 3
                    ) -> list[str]:
  """Valid names closest to `preset`: by log time within its temperature's row, else by spelling."""
  match = re.fullmatch(r'T(\d+)_t([\d.eE+-]+)', preset)
  if match:
    temperature = int(match[1]) / 100
    row = {name: system.time_point(*where) for name, where in presets.items()
           if where[0] == round(temperature, 2)}
    try:
      time = float(match[2])
    except ValueError:
      time = 0.0
    if row and time > 0:
      return sorted(row, key=lambda name: abs(math.log(row[name] / time)))[:count]
  return difflib.get_close_matches(preset, list(presets), n=count, cutoff=0.3)


def unknown_preset_message(preset: str, presets: dict[str, tuple[float, int]]) -> str:
  """Why `preset` is refused, naming the nearest valid presets."""
  nearest = nearest_presets(preset, presets)
  hint = f' Nearest: {", ".join(nearest)}.' if nearest else ''
  return (f'Unknown preset {preset!r} of botan.{hint} Names are T{{100T}}_t{{time}} '
          'for the times of Table I (see the README\'s preset table), or "pretrain".')


def get_config(preset: str = 'T044_t4120') -> ml_collections.ConfigDict:
  """The configuration of `preset` (see the module docstring)."""
  presets = list_presets()
  pretrain = preset == 'pretrain'
  if pretrain:
    preset = preset_name(0.44, 13.0)
  if preset not in presets:
    raise ValueError(unknown_preset_message(preset, presets))
  temperature, time_index = presets[preset]

  config = ml_collections.ConfigDict()
  config.preset = 'pretrain' if pretrain else preset
  config.temperature = temperature
  config.time = system.time_point(temperature, time_index)

  config.data = ml_collections.ConfigDict()
  config.data.time_index = time_index
  config.data.train_pattern = layout.dataset_pattern(layout.DEFAULT_DATA_DIR, temperature, 'train',
                                                     time_index)
  config.data.test_pattern = layout.dataset_pattern(layout.DEFAULT_DATA_DIR, temperature, 'test',
                                                    time_index)
  config.data.edge_cutoff = system.EDGE_CUTOFF
  config.data.eval_bond_cutoff = system.EVAL_BOND_CUTOFF
  config.data.pickle_time_index = 0  # 0-based index for DeepMind pickles.
  # The network's inputs (botan_jax/inherent.py): 'thermal' (the paper's), 'inherent' or 'both'.
  config.data.structure = 'thermal'
  # FIRE minimisation of inherent structures (used unless thermal; all key the caches).
  config.data.inherent = ml_collections.ConfigDict(dict(
      force_tolerance=1e-5, max_steps=20_000, dt_start=0.005, dt_max=0.02, skin=0.3))
  # GlassBench files: which stored positions are the configuration, 'initial', 'inherent' or
  # 'cage' (glassbench.py); their inherent positions serve structure inherent and both as well.
  config.data.glassbench_positions = 'initial'
  # The user's cache directory (layout.default_cache_dir); '' disables the graph cache.
  config.data.cache_dir = layout.default_cache_dir()

  config.model = ml_collections.ConfigDict()
  config.model.latent_size = 64
  config.model.num_layers = 2
  config.model.num_message_passing_steps = 7
  config.model.share_step_weights = True
  config.model.share_decoder = True
  config.model.precision = 'highest'
  # Computation dtype of the layers: 'float32', or 'bfloat16' (mixed precision for
  # accelerators: float32 parameters, sums and outputs).
  config.model.dtype = 'float32'

  # Node target: 'S' (propensity), or the neighbor-relative 'R', 'D' or 'C'
  # of botan_jax.targets (paper Sec. V C).
  config.node_target = 'S'
  config.loss_p = 0.0 if pretrain else 0.4
  config.num_epochs = 2000 if pretrain else 1000
  config.batch_size = 0  # 0: one graph per step, five when loss_p == 1 (NT-GNN).
  config.learning_rate = 1e-4
  config.adam_eps = 1e-8
  config.grad_clip_norm = 1.0
  config.augmentation = 'axes'  # 'axes' (the authors'), 'rotation' or 'none'.
  config.seed = 0
  config.eval_every_epochs = 5
  config.checkpoint_every_epochs = 5
  config.log_every_steps = 50  # Step metrics to metrics.jsonl.
  config.log_every_s = 60.0  # A progress line (step, loss, graphs/s, ETA) at least this often.
  # Scalars also as TensorBoard event files in {workdir}/tensorboard/.
  config.tensorboard = True
  # '' (from scratch), 'pyg:PATH' (the authors' weights) or an Orbax
  # checkpoint directory, such as the workdir of a pretraining run.
  config.init_from = ''
  return config

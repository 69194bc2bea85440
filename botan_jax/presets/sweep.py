"""Sweeps: train and evaluate presets x seeds (x one ablated field) from one config.

Usage: `python main.py --config=sweep:ARG --workdir=runs/sweep` (from the clone also
`--config=configs/sweep.py:ARG`), ARG one of
  T044, T050, T056, T064  every time point of that temperature's row of Table I (Figs. 5, 8);
  all                every time point of the four temperatures;
  steps              message-passing steps n = 1..8 at tau_alpha, T = 0.44 (Fig. 9);
  loss_p             loss weight p = 0.1..1 at tau_alpha, T = 0.44, one graph per step (Fig. 10);
  structure          the input structure (data.structure: thermal, inherent, both) at tau_alpha,
                     T = 0.44: BOTAN against BOTAN+IS (README "Beyond the paper");
  NAME[,NAME...]     the named presets of botan (presets/botan.py), e.g. T044_t130,T044_t4120.

Fields:
  presets: the time points and temperatures (names of botan presets).
  seeds: runs per grid point; seed k trains with `--config.seed=k`.
  init_from_authors: a directory of the authors' `model{k}.npz`; seed k then
    starts from `model{k+1}.npz` (so at most 8 seeds). '' trains from
    `train.init_from` (default: from scratch).
  ablation_field, ablation_values: a field of `train` (dotted path) and the
    values it takes; '' and () for none.
  train: the training config of every run (presets/botan.py), overridable as
    `--config.train.num_epochs=50`. Its preset fields (temperature, time,
    time index) come from each preset, and `{temperature}` and `{time_index}`
    in its data patterns are filled in per preset. The NT-GNN baseline is
    `--config.train.loss_p=1.0`.
"""

import ml_collections

from botan_jax import layout
from botan_jax.presets import botan

TAU_ALPHA_T044 = 'T044_t4120'
# The ablation sweeps (all at tau_alpha, T = 0.44): ARG -> (field of train, its values).
ABLATIONS = {
    'steps': ('model.num_message_passing_steps', (1, 2, 3, 4, 5, 6, 7, 8)),
    'loss_p': ('loss_p', (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)),
    'structure': ('data.structure', ('thermal', 'inherent', 'both')),
}


def _presets(arg: str) -> tuple[str, ...]:
  """The preset names that `arg` selects (see the module docstring)."""
  presets = botan.list_presets()
  rows = {f'T{round(t * 100):03d}': [name for name, (temp, _) in presets.items() if temp == t]
          for t in {temp for temp, _ in presets.values()}}
  if arg in rows:
    return tuple(rows[arg])
  if arg == 'all':
    return tuple(presets)
  if arg in ABLATIONS:
    return (TAU_ALPHA_T044,)
  names = tuple(name for name in arg.split(',') if name)
  unknown = [name for name in names if name not in presets]
  if unknown or not names:
    raise ValueError(f'Unknown sweep {arg!r}: give T044, T050, T056, T064, all, '
                     f'{", ".join(ABLATIONS)} or preset names of botan, e.g. T044_t130 '
                     f'(unknown: {unknown}).')
  return names


def get_config(arg: str = 'T044') -> ml_collections.ConfigDict:
  """The sweep `arg` (see the module docstring)."""
  config = ml_collections.ConfigDict()
  config.mode = 'sweep'  # main.py's mode when --mode is not given.
  config.presets = _presets(arg)
  config.seeds = 5
  config.init_from_authors = ''
  config.ablation_field = ''
  config.ablation_values = ()
  if arg in ABLATIONS:
    config.ablation_field, config.ablation_values = ABLATIONS[arg]

  config.train = botan.get_config(config.presets[0])
  config.train.data.train_pattern = layout.dataset_pattern_template(layout.DEFAULT_DATA_DIR, 'train')
  config.train.data.test_pattern = layout.dataset_pattern_template(layout.DEFAULT_DATA_DIR, 'test')
  if arg == 'loss_p':
    config.train.batch_size = 1  # The same batch for every p, NT-GNN's p = 1 included.
  return config

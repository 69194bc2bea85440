"""The configurations botan-jax ships: one module per job, each with `get_config(arg)`.

  botan     training presets, one per time point of Table I: `botan:T044_t130`, ...,
            `botan:pretrain` (the edge pretraining)
  generate  isoconfigurational datasets: `generate:T044`, ..., `generate:T064`, `generate:tiny`
  sweep     presets x seeds (x one ablated field): `sweep:T044`, `sweep:all`, `sweep:steps`,
            `sweep:loss_p`, `sweep:structure`, `sweep:T044_t130,T044_t4120`
  demo      the embedded default (generate, train, evaluate, figures): `demo`

The command line takes these names from any directory (`--config=botan:T044_t130`,
see `module_path` and botan_jax/cli.py); the clone's configs/*.py re-export them,
so that `--config=configs/botan.py:T044_t130` names the same config. Python code
imports them: `from botan_jax.presets import botan; botan.get_config('T044_t130')`.
"""

import os

NAMES = ('botan', 'generate', 'sweep', 'demo')


def module_path(name: str) -> str:
  """The source file of the preset module `name` (one of NAMES)."""
  if name not in NAMES:
    raise ValueError(f'No preset module {name!r}; the preset modules are {", ".join(NAMES)}.')
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), f'{name}.py')

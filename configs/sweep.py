"""The sweeps, for `--config=configs/sweep.py:T044` from the clone.

Their code is botan_jax/presets/sweep.py, named `--config=sweep:T044` from any directory.
"""

# pylint: disable=unused-import
from botan_jax.presets.sweep import TAU_ALPHA_T044
from botan_jax.presets.sweep import get_config

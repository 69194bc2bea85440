"""The dataset generation presets, for `--config=configs/generate.py:T064` from the clone.

Their code is botan_jax/presets/generate.py, named `--config=generate:T064` from any directory.
"""

# pylint: disable=unused-import
from botan_jax.presets.generate import PRESET_TEMPERATURES
from botan_jax.presets.generate import get_config
from botan_jax.presets.generate import paper_config
from botan_jax.presets.generate import tiny_config

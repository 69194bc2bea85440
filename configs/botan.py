"""The BOTAN training presets, for `--config=configs/botan.py:T044_t130` from the clone.

Their code is botan_jax/presets/botan.py, named `--config=botan:T044_t130` from any directory.
"""

# pylint: disable=unused-import
from botan_jax.presets.botan import get_config
from botan_jax.presets.botan import list_presets
from botan_jax.presets.botan import nearest_presets
from botan_jax.presets.botan import preset_name
from botan_jax.presets.botan import unknown_preset_message

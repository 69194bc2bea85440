"""The embedded demo, for `--config=configs/demo.py` from the clone.

Its code is botan_jax/presets/demo.py, named `--config=demo` (the default) from any directory.
"""

# pylint: disable=unused-import
from botan_jax.presets.demo import get_config

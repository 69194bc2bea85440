"""Isoconfigurational dataset generation (`python main.py --mode=generate`).

Presets, chosen by the text after the colon of `--config=generate:PRESET`
(from the clone also `--config=configs/generate.py:PRESET`):
  T044, T050, T056, T064: the paper's protocol (Sec. III) at T = 0.44, 0.50,
    0.56, 0.64 (T = 0.56 is GlassBench's fourth temperature):
    N = 4096 at density 1.2, hold at T = 5.0 for t_hold = 1e4, cool in
    t_cool = 20, Nose-Hoover NVT for 40 tau_alpha, then 32 NVE replicas
    recorded at the ten times of the temperature's row of Table I;
    400 training and 100 test configurations (the authors' 500).
  tiny: N = 256 and short times, about a minute on a 2-core CPU; files at
    the first five time indices of T = 0.64.
Every field can be overridden on the command line, e.g. `--config.num_train=8`.
"""

import ml_collections

PRESET_TEMPERATURES = {'T044': 0.44, 'T050': 0.50, 'T056': 0.56, 'T064': 0.64}


def paper_config(temperature: float) -> ml_collections.ConfigDict:
  """The paper's protocol at `temperature`."""
  config = ml_collections.ConfigDict()
  config.mode = 'generate'  # main.py's mode when --mode is not given.
  # The system.
  config.temperature = temperature
  config.num_particles = 4096
  config.density = 1.2
  config.dt = 1e-3
  # NVT: hold at hold_temperature for t_hold, cool linearly to `temperature`
  # in t_cool, equilibrate for equilibration_tau_alpha x tau_alpha.
  config.hold_temperature = 5.0
  config.t_hold = 1e4
  config.t_cool = 20.0
  config.equilibration_tau_alpha = 40.0
  # tau_alpha and the time table; None takes the row of `temperature` in
  # botan_jax.system.TIME_POINTS (required for temperatures not there).
  config.tau_alpha = ml_collections.config_dict.placeholder(float)
  config.time_table = ml_collections.config_dict.placeholder(tuple)
  # Nose-Hoover chain: period (100 dt) and, as in LAMMPS fix nvt, 3 links
  # integrated with 1 substep of first order.
  config.thermostat_tau = 0.1
  config.thermostat_chain_length = 3
  config.thermostat_chain_steps = 1
  config.thermostat_sy_steps = 1
  # NVE replicas and the recorded time indices (1-based, file suffix tcXX).
  config.num_replicas = 32
  config.time_indices = tuple(range(1, 11))
  # Configurations: ids 1..num_train go to train/, the next num_test to test/.
  config.num_train = 400
  config.num_test = 100
  config.seed = 0
  # Numerics and batching.
  config.precision = 'float64'
  config.neighbor_format = 'dense'
  config.capacity_multiplier = 1.25
  # 'auto': a host k-d tree on CPUs, jax-md's cell lists on accelerators.
  config.neighbor_builder = 'auto'
  config.skin = 0.3
  config.nvt_batch = 8  # configurations equilibrated together
  config.nve_batch = 1  # configurations whose replicas run together
  config.segment_steps = 2000  # steps per compiled call
  config.checkpoint_every_steps = 1_000_000  # resumable state, in either stage
  config.log_interval_s = 60.0
  # Also store each configuration's inherent structure (FIRE minimum of its t=0 positions,
  # botan_jax/md/minimize.py) as `initial_positions_inherent`, for data.structure inherent/both.
  config.store_inherent = False
  return config


def tiny_config() -> ml_collections.ConfigDict:
  """A small, fast dataset for tests and demos."""
  config = paper_config(0.64)
  config.num_particles = 256
  config.t_hold = 2.0
  config.t_cool = 2.0
  config.equilibration_tau_alpha = 0.25
  config.num_replicas = 4
  config.time_indices = (1, 2, 3, 4, 5)
  config.num_train = 2
  config.num_test = 1
  config.nvt_batch = 3
  config.nve_batch = 3
  config.segment_steps = 1000
  config.log_interval_s = 5.0
  return config


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
  """Returns the config of `preset` (T044, T050, T056, T064 or tiny; default T064)."""
  preset = preset or 'T064'
  if preset == 'tiny':
    return tiny_config()
  if preset in PRESET_TEMPERATURES:
    return paper_config(PRESET_TEMPERATURES[preset])
  raise ValueError(f'Unknown generate preset {preset!r}; choose one of '
                   f'{sorted(PRESET_TEMPERATURES) + ["tiny"]}.')

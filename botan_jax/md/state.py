"""The generator's per-configuration checkpoint: where a configuration's MD stands.

While a configuration runs, `generate` keeps its state in
`{workdir}/T{T:.2f}/checkpoints/isoconfig_N{N}T{T:.2f}_{id}_state.npz`
(`checkpoint_path`, from `botan_jax.layout`), written atomically every
`checkpoint_every_steps` steps of either stage, at the end of equilibration and
at each recorded time, and removed when the configuration's files are
complete. A checkpoint stores the plan's physics fingerprint and is loaded only
by a run with the same one (`plans.require_same_physics`).

Arrays are float64 under x64: positions in sigma_AA, momenta with unit masses.
"""

import dataclasses
import os

import ml_collections
import numpy as np

from botan_jax import errors, io, layout
from botan_jax.md import plans


@dataclasses.dataclass
class Checkpoint:
  """Resumable state of one configuration.

  Attributes:
    stage: 'nvt' (equilibrating) or 'nve' (replicas running).
    step: the step of the stage that `positions` and `momenta` belong to.
    positions: nvt: (N, 3) in [0, L); nve: (R, N, 3) unwrapped replica positions.
    momenta: the momenta, shaped as `positions`.
    initial_positions: nve only: (N, 3) equilibrated positions in [0, L).
    start_velocities: nve only: (R, N, 3) replica velocities at t = 0.
  """
  stage: str
  step: int
  positions: np.ndarray
  momenta: np.ndarray
  initial_positions: np.ndarray | None = None
  start_velocities: np.ndarray | None = None


def checkpoint_path(workdir: str, config: ml_collections.ConfigDict, config_id: int) -> str:
  """The checkpoint file of configuration `config_id` of the dataset under `workdir`."""
  return os.path.join(
      layout.generator_state_dir(workdir, config.temperature),
      layout.generator_state_name(config.num_particles, config.temperature, config_id))


def save_checkpoint(path: str, checkpoint: Checkpoint, fingerprint: str) -> None:
  """Writes `checkpoint` and the plan's `fingerprint` to `path`, atomically."""
  fields = {f.name: getattr(checkpoint, f.name) for f in dataclasses.fields(Checkpoint)}
  arrays = {name: value for name, value in fields.items() if value is not None}
  io.save_npz(path, fingerprint=np.array(fingerprint), **arrays)


def load_checkpoint(path: str, fingerprint: str) -> Checkpoint | None:
  """The checkpoint at `path`, or None if absent.

  Raises:
    errors.ConfigError: if it was written with other physics (`plans.physics_fingerprint`).
  """
  if not os.path.isfile(path):
    return None
  with np.load(path) as data:
    stored = plans.stored_fingerprint(data)
    if stored is None:
      raise errors.ConfigError(f'{path}: a checkpoint of an older version; delete it to start '
                               'over.')
    plans.require_same_physics(path, stored, fingerprint)
    return Checkpoint(stage=str(data['stage']), step=int(data['step']),
                      **{f.name: data[f.name] for f in dataclasses.fields(Checkpoint)
                         if f.name not in ('stage', 'step') and f.name in data})

"""Inherent structures of dataset samples, for BOTAN's `structure` inputs (BOTAN+IS).

The inherent structure of a configuration is the local minimum of the
potential energy that steepest descent reaches from it: thermal vibrations
removed. `config.data.structure` chooses what the network sees:
  thermal   the t=0 configuration (the paper's inputs);
  inherent  edges and edge vectors from the inherent structure;
  both      edges chosen at t=0 as for thermal, edge features r_ij(0) and r_ij of
            the inherent structure (6 columns), node features the type,
            |r_i(0) - r_i^IS| and the particle's inherent energy (3 columns).
Targets and evaluation masks always come from the thermal configuration.

The inherent positions come from the file when it carries them
(`initial_positions_inherent`), else from FIRE minimisation
(`botan_jax.md.minimize`, imported only then: jax-md is slow to import),
cached in the graph cache folder as `{file}.{hash}.inherent.npz`, keyed by the
file's fingerprint and the minimiser's settings.
"""

import dataclasses
import hashlib
import json
import os

import numpy as np
from absl import logging

from botan_jax import errors
from botan_jax import io
from botan_jax import layout

STRUCTURES = ('thermal', 'inherent', 'both')


@dataclasses.dataclass(frozen=True)
class MinimizerSettings:
  """FIRE's settings; every one keys the inherent-structure cache.

  Attributes:
    force_tolerance: converged when max_i |F_i| < this (eps_AA / sigma_AA).
    max_steps: FIRE steps before giving up (refused then: not a minimum).
    dt_start, dt_max: FIRE's initial and largest time steps (LJ time units).
    skin: neighbor-list radius beyond the cut-off (sigma_AA).
  """
  force_tolerance: float = 1e-5
  max_steps: int = 20_000
  dt_start: float = 0.005
  dt_max: float = 0.02
  skin: float = 0.3

  def check(self) -> None:
    """Raises errors.ConfigError naming the first setting out of range."""
    for name in ('force_tolerance', 'dt_start', 'dt_max', 'skin'):
      value = getattr(self, name)
      if not (isinstance(value, (int, float)) and value > 0):
        raise errors.ConfigError(f'inherent-structure {name}={value!r}: must be > 0.')
    if not (isinstance(self.max_steps, int) and self.max_steps >= 1):
      raise errors.ConfigError(f'inherent-structure max_steps={self.max_steps!r}: must be an '
                               'integer >= 1.')
    if self.dt_max < self.dt_start:
      raise errors.ConfigError(f'inherent-structure dt_max={self.dt_max} is below dt_start='
                               f'{self.dt_start}.')


def check_structure(structure: str) -> None:
  """Raises errors.ConfigError unless `structure` is one of STRUCTURES."""
  if structure not in STRUCTURES:
    raise errors.ConfigError(f'config.data.structure={structure!r}: give one of '
                             f'{", ".join(STRUCTURES)}.')


def input_widths(structure: str) -> tuple[int, int]:
  """(node feature columns, edge feature columns) of `structure`."""
  return (3, 6) if structure == 'both' else (1, 3)


def _cache_path(path: str, settings: MinimizerSettings, cache_dir: str) -> str:
  key = json.dumps([io.file_fingerprint(path), dataclasses.asdict(settings)])
  digest = hashlib.sha1(key.encode()).hexdigest()[:16]
  return layout.cache_entry(cache_dir, path, digest, 'inherent')


def minimise(sample: io.Sample, settings: MinimizerSettings) -> tuple[np.ndarray, np.ndarray]:
  """FIRE from `sample`'s t=0 positions: inherent positions (N, 3) and energies (N,).

  Raises:
    io.DataError: if FIRE did not reach the force tolerance within max_steps.
  """
  from botan_jax.md import minimize  # pylint: disable=g-import-not-at-top
  result = minimize.inherent_structures(sample.initial_positions, sample.types,
                                        float(sample.box[0]), settings)
  if not result.max_force < settings.force_tolerance:
    raise io.DataError(
        f'{sample.source}: FIRE left a force of {result.max_force:.3g} after {result.steps} '
        f'steps, above the tolerance {settings.force_tolerance:g}; raise max_steps.')
  return result.positions, result.particle_energies


def inherent_structure(sample: io.Sample, settings: MinimizerSettings = MinimizerSettings(),
                       cache_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
  """The inherent positions (N, 3) in [0, L) and per-particle energies (N,) of `sample`.

  From the file's own inherent positions when it has them (their energies are
  computed), else from the cache, else minimised (and cached).

  Raises:
    io.DataError: for a box that is not cubic (the minimiser's periodic box is),
      or a minimisation that did not converge.
  """
  box = float(sample.box[0])
  if not np.allclose(sample.box, box):
    raise io.DataError(f'{sample.source}: inherent structures need a cubic box, got '
                       f'{sample.box.tolist()}.')
  if sample.inherent_positions is not None:
    from botan_jax.md import minimize  # pylint: disable=g-import-not-at-top
    positions = np.mod(sample.inherent_positions, box)
    return positions, minimize.particle_energies(positions, sample.types, box)
  cached = None
  if cache_dir and os.path.isfile(sample.source):
    cached = _cache_path(sample.source, settings, cache_dir)
    if os.path.exists(cached):
      try:
        with np.load(cached) as arrays:
          return arrays['positions'], arrays['particle_energies']
      except (*io.NPZ_READ_ERRORS, KeyError) as err:
        logging.warning('%s: unreadable cache entry (%s); minimising again.', cached, err)
  positions, energies = minimise(sample, settings)
  if cached is not None:
    io.save_npz(cached, positions=positions, particle_energies=energies)
  return positions, energies

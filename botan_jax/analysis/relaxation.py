"""Relaxation of an isoconfigurational ensemble: F_s(k, t), MSD and tau_alpha.

The self-intermediate scattering function (paper Eq. 9) of particles of one
type, averaged over the R replicas and over those particles,

  F_s(k, t) = < sin(k |dr_i(t)|) / (k |dr_i(t)|) >_{i, replicas},
  dr_i(t) = r_i(t) - r_i(0),

is the isotropic form: the exact average of cos(k . dr) over the directions of
k, rather than over three axes only (same expectation in an isotropic liquid,
less noise). Positions must be unwrapped relative to the initial positions,
as the generator writes them. The paper uses k = 2 pi and type A.
"""

from collections.abc import Iterable, Sequence

import numpy as np

from botan_jax import io, system

DEFAULT_WAVENUMBER = 2.0 * np.pi


def _displacements(initial_positions: np.ndarray, positions: np.ndarray,
                   types: np.ndarray | None,
                   particle_type: system.ParticleType | None) -> np.ndarray:
  """|r_i(t) - r_i(0)| with shape (R, n) for the selected particles."""
  positions = np.asarray(positions, np.float64)
  if positions.ndim == 2:
    positions = positions[None]
  distances = np.linalg.norm(positions - np.asarray(initial_positions, np.float64), axis=-1)
  if particle_type is None:
    return distances
  selected = np.asarray(types) == particle_type
  if not selected.any():
    raise ValueError(f'No particle of type {system.ParticleType(particle_type).name}.')
  return distances[:, selected]


def _isotropic_scattering(distances: np.ndarray, wavenumber: float) -> float:
  """Mean of sin(k r) / (k r) over displacement lengths r (any shape)."""
  return float(np.mean(np.sinc(wavenumber * distances / np.pi)))


def self_intermediate_scattering(initial_positions: np.ndarray, positions: np.ndarray,
                                 types: np.ndarray,
                                 wavenumber: float = DEFAULT_WAVENUMBER,
                                 particle_type: system.ParticleType | None = system.ParticleType.A
                                 ) -> float:
  """F_s(k, t) averaged over replicas and particles of `particle_type`.

  Args:
    initial_positions: (N, 3) positions at t = 0.
    positions: (R, N, 3) or (N, 3) unwrapped positions at t.
    types: (N,) particle types.
    wavenumber: k, in 1/sigma_AA.
    particle_type: the type averaged over; None for all particles.
  """
  distances = _displacements(initial_positions, positions, types, particle_type)
  return _isotropic_scattering(distances, wavenumber)


def mean_squared_displacement(initial_positions: np.ndarray, positions: np.ndarray,
                              types: np.ndarray | None = None,
                              particle_type: system.ParticleType | None = system.ParticleType.A
                              ) -> float:
  """<|r_i(t) - r_i(0)|^2> over replicas and particles of `particle_type` (None: all)."""
  distances = _displacements(initial_positions, positions, types, particle_type)
  return float(np.mean(distances**2))


def relaxation_time(times: Sequence[float], values: Sequence[float],
                    threshold: float = 1.0 / np.e) -> float:
  """First time at which `values` falls to `threshold`, interpolated linearly in log t.

  Args:
    times: increasing positive times.
    values: F_s (or any decaying correlation) at `times`.
    threshold: the level; 1/e gives tau_alpha.

  Raises:
    ValueError: if the values start at or below the threshold or never reach it.
  """
  times = np.asarray(times, np.float64)
  values = np.asarray(values, np.float64)
  if times.shape != values.shape or times.ndim != 1 or np.any(np.diff(times) <= 0):
    raise ValueError('times must be increasing and match values in shape.')
  if values[0] <= threshold:
    raise ValueError(f'F_s({times[0]:g}) = {values[0]:.4g} is already <= {threshold:.4g}; '
                     'record earlier times.')
  below = np.nonzero(values <= threshold)[0]
  if below.size == 0:
    raise ValueError(f'F_s stays above {threshold:.4g} up to t = {times[-1]:g} '
                     f'(last value {values[-1]:.4g}); run longer.')
  i = below[0]
  fraction = (values[i - 1] - threshold) / (values[i - 1] - values[i])
  log_time = np.log(times[i - 1]) + fraction * (np.log(times[i]) - np.log(times[i - 1]))
  return float(np.exp(log_time))


def ensemble_relaxation(samples: Iterable[io.Sample], wavenumber: float = DEFAULT_WAVENUMBER,
                        particle_type: system.ParticleType = system.ParticleType.A
                        ) -> dict[str, np.ndarray]:
  """F_s and MSD of generated samples, averaged over configurations at each time.

  Args:
    samples: `io.Sample`s with trajectories and times (e.g. every file of a
      generated dataset, read with `io.read_botan_npz`); a generator is read
      one sample at a time.

  Returns:
    'time' (T,) increasing, 'self_intermediate_scattering' (T,),
    'mean_squared_displacement' (T,) and 'num_configurations' (T,).
  """
  by_time: dict[float, list[tuple[float, float]]] = {}
  for sample in samples:
    if sample.trajectory_positions is None or sample.time is None:
      raise ValueError(f'{sample.source}: no trajectory or time to analyse.')
    by_time.setdefault(sample.time, []).append((
        self_intermediate_scattering(sample.initial_positions, sample.trajectory_positions,
                                     sample.types, wavenumber, particle_type),
        mean_squared_displacement(sample.initial_positions, sample.trajectory_positions,
                                  sample.types, particle_type)))
  times = np.array(sorted(by_time))
  values = [np.mean(by_time[t], axis=0) for t in times]
  return dict(time=times,
              self_intermediate_scattering=np.array([v[0] for v in values]),
              mean_squared_displacement=np.array([v[1] for v in values]),
              num_configurations=np.array([len(by_time[t]) for t in times]))


def trajectory_self_intermediate_scattering(positions: np.ndarray, types: np.ndarray,
                                            lags: Sequence[int], origin_stride: int = 1,
                                            wavenumber: float = DEFAULT_WAVENUMBER,
                                            particle_type: system.ParticleType = (
                                                system.ParticleType.A)) -> np.ndarray:
  """F_s(k, lag) of one equilibrium trajectory, averaged over time origins.

  The time-translation average of a stationary run estimates the same
  equilibrium F_s as an isoconfigurational ensemble does (used to check the
  generator against other codes, which write one long trajectory).

  Args:
    positions: (F, N, 3) unwrapped positions of F equally spaced frames.
    types: (N,) particle types.
    lags: frame lags, each in 1..F-1.
    origin_stride: frames between successive time origins.

  Returns:
    (len(lags),) F_s over particles of `particle_type` and all origins
    0, s, 2s, ... with origin + lag < F.
  """
  positions = np.asarray(positions, np.float64)
  num_frames = positions.shape[0]
  if positions.ndim != 3 or positions.shape[2] != 3 or positions.shape[1] != len(types):
    raise ValueError(f'positions must be (F, N, 3) with N = {len(types)}, '
                     f'got {positions.shape}.')
  selected = positions[:, np.asarray(types) == particle_type]
  values = []
  for lag in lags:
    if not 1 <= lag < num_frames:
      raise ValueError(f'Lag {lag} outside 1..{num_frames - 1}.')
    origins = np.arange(0, num_frames - lag, origin_stride)
    distances = np.linalg.norm(selected[origins + lag] - selected[origins], axis=-1)
    values.append(_isotropic_scattering(distances, wavenumber))
  return np.array(values)

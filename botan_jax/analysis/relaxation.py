"""Relaxation of an isoconfigurational ensemble: F_s(k, t), MSD and tau_alpha.

The self-intermediate scattering function (paper Eq. 9) of particles of one
type, averaged over the R replicas and over those particles,

  F_s(k, t) = < sin(k |dr_i(t)|) / (k |dr_i(t)|) >_{i, replicas},
  dr_i(t) = r_i(t) - r_i(0),

is the isotropic form: the exact average of cos(k . dr) over the directions of
k, rather than over three axes only (same expectation in an isotropic liquid,
less noise). Positions must be unwrapped relative to the initial positions,
as the generator writes them. The paper uses k = 2 pi and type A.

tau_alpha has two definitions here (`relaxation_time(..., method=...)`):
  '1/e': the time at which F_s falls to 1/e (read off the data);
  'fit': the paper's (Sec. III, after Sengupta et al., J. Chem. Phys. 138,
    12A548 (2013) and Shiba et al., PRL 123, 265501 (2019)): the slow time of
    a double stretched exponential fitted to F_s (`fit_two_step`),
      F_s(t) = (1 - A) exp(-(t / tau_f)^beta_f) + A exp(-(t / tau_alpha)^beta),
    a fast (cage) decay to the plateau A and the alpha decay from it, so that
    F_s(tau_alpha) is about A / e, below 1/e: the fitted tau_alpha is longer
    than the 1/e time (16.0 against 11.15 for a LAMMPS run at T = 0.64, with
    A = 0.77). The cited papers' exact form was not at hand; this one has both
    exponents free, so it contains the variant with a Gaussian fast term.
"""

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import optimize

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


RELAXATION_METHODS = ('1/e', 'fit')

# Limits of the two-step fit (see `fit_two_step`).
BETA_BOUNDS = (0.2, 1.2)  # slow (alpha) stretching exponent
BETA_FAST_BOUNDS = (0.5, 2.0)  # fast exponent: 2 is the ballistic (Gaussian) limit
MIN_FIT_POINTS = 7  # five parameters and two degrees of freedom
MIN_PLATEAU, MAX_PLATEAU = 0.05, 0.98  # A outside: no two-step decay
MIN_TIME_SEPARATION = 10.0  # tau_alpha / tau_f below: fast and slow decays not separate
MAX_TAU_RELATIVE_ERROR = 0.1  # one-sigma error of tau_alpha above: not constrained


def _check_curve(times: Sequence[float], values: Sequence[float]
                 ) -> tuple[np.ndarray, np.ndarray]:
  """float64 copies of a decay curve; ValueError unless times increase and match values."""
  times = np.asarray(times, np.float64)
  values = np.asarray(values, np.float64)
  if times.shape != values.shape or times.ndim != 1 or np.any(np.diff(times) <= 0):
    raise ValueError('times must be increasing and match values in shape.')
  return times, values


def _crossing_time(times: np.ndarray, values: np.ndarray, threshold: float) -> float:
  """First time at which `values` falls to `threshold`, interpolated linearly in log t."""
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


def two_step_decay(times: np.ndarray | Sequence[float], tau_alpha: float, plateau: float,
                   beta: float, tau_fast: float, beta_fast: float) -> np.ndarray:
  """(1 - A) exp(-(t / tau_f)^beta_f) + A exp(-(t / tau_alpha)^beta), A = `plateau`.

  Args:
    times: (T,) times, in units of sqrt(m sigma_AA^2 / epsilon_AA).
    tau_alpha, tau_fast: the slow and fast times, same units.
    plateau: A, the amplitude of the slow decay (the plateau's height).
    beta, beta_fast: the slow and fast exponents.

  Returns:
    (T,) the curve.
  """
  times = np.asarray(times, np.float64)
  return ((1.0 - plateau) * np.exp(-(times / tau_fast)**beta_fast)
          + plateau * np.exp(-(times / tau_alpha)**beta))


@dataclasses.dataclass(frozen=True)
class TwoStepFit:
  """A double stretched exponential fitted to F_s (see `two_step_decay`).

  Attributes:
    tau_alpha: the slow term's time: tau_alpha by the paper's definition.
    plateau: A, the slow term's amplitude.
    beta: the slow term's stretching exponent.
    tau_fast: the fast term's time.
    beta_fast: the fast term's exponent.
    fs_at_tau_alpha: the fitted curve at tau_alpha (about A / e).
    rms_residual: root mean square of data minus curve.
    tau_alpha_error: one-sigma relative error of tau_alpha (from the covariance
      of the least-squares fit, residuals taken as the noise). A lower bound
      where the residuals are systematic: on a LAMMPS F_s at T = 0.64 it
      says 1%, while leaving out the lags below 0.5 moves tau_alpha by 4%.
    plateau_error, beta_error: one-sigma absolute errors of A and beta.
    num_points: the number of data points fitted.
  """
  tau_alpha: float
  plateau: float
  beta: float
  tau_fast: float
  beta_fast: float
  fs_at_tau_alpha: float
  rms_residual: float
  tau_alpha_error: float
  plateau_error: float
  beta_error: float
  num_points: int

  def __call__(self, times: np.ndarray | Sequence[float]) -> np.ndarray:
    """The fitted curve at `times`."""
    return two_step_decay(times, self.tau_alpha, self.plateau, self.beta, self.tau_fast,
                          self.beta_fast)


# The fit's parameters, chosen for conditioning: times as logarithms and the
# slow time as its ratio to the fast one, which keeps tau_f < tau_alpha.
_LOG_TAU_FAST, _BETA_FAST, _PLATEAU, _LOG_SEPARATION, _BETA = range(5)


def _curve_of(theta: np.ndarray, times: np.ndarray) -> np.ndarray:
  """two_step_decay in the fit's parameters."""
  tau_fast = np.exp(theta[_LOG_TAU_FAST])
  return two_step_decay(times, tau_fast * np.exp(theta[_LOG_SEPARATION]), theta[_PLATEAU],
                        theta[_BETA], tau_fast, theta[_BETA_FAST])


def _jacobian_of(theta: np.ndarray, times: np.ndarray) -> np.ndarray:
  """(T, 5) derivatives of `_curve_of` with respect to the fit's parameters."""
  tau_fast = np.exp(theta[_LOG_TAU_FAST])
  tau_alpha = tau_fast * np.exp(theta[_LOG_SEPARATION])
  plateau, beta, beta_fast = theta[_PLATEAU], theta[_BETA], theta[_BETA_FAST]
  fast = (times / tau_fast)**beta_fast
  slow = (times / tau_alpha)**beta
  fast_term = (1.0 - plateau) * np.exp(-fast)
  slow_term = plateau * np.exp(-slow)
  jacobian = np.empty((times.size, 5))
  jacobian[:, _LOG_TAU_FAST] = fast_term * beta_fast * fast + slow_term * beta * slow
  jacobian[:, _BETA_FAST] = -fast_term * fast * np.log(times / tau_fast)
  jacobian[:, _PLATEAU] = np.exp(-slow) - np.exp(-fast)
  jacobian[:, _LOG_SEPARATION] = slow_term * beta * slow
  jacobian[:, _BETA] = -slow_term * slow * np.log(times / tau_alpha)
  return jacobian


def _starting_points(times: np.ndarray, values: np.ndarray) -> list[np.ndarray]:
  """Starting parameters for a few plateau heights, from the data's own crossings.

  For a guess A, tau_alpha starts where A exp(-(t/tau_alpha)^0.8) meets the
  data's 1/e time (or at the last time if the data stay above 1/e) and tau_f
  where the data are halfway from 1 to A.
  """
  starts = []
  for plateau in (0.6, 0.75, 0.9):
    beta = 0.8
    try:
      tau_alpha = _crossing_time(times, values, 1.0 / np.e) / (1.0 + np.log(plateau))**(1 / beta)
    except ValueError:
      tau_alpha = times[-1]
    try:
      tau_fast = _crossing_time(times, values, 1.0 - (1.0 - plateau) / 2)
    except ValueError:
      tau_fast = times[0]
    tau_fast = min(tau_fast, tau_alpha / (2 * MIN_TIME_SEPARATION))
    starts.append(np.array([np.log(tau_fast), 1.5, plateau, np.log(tau_alpha / tau_fast), beta]))
  return starts


def fit_two_step(times: Sequence[float], values: Sequence[float]) -> TwoStepFit:
  """Fits `two_step_decay` to F_s by least squares: the paper's tau_alpha and the rest.

  Bounds: 0 <= A <= 1, beta in BETA_BOUNDS, beta_f in BETA_FAST_BOUNDS,
  tau_f <= tau_alpha; the best of a few starting points (`_starting_points`)
  is kept.

  Args:
    times: (T,) increasing positive times.
    values: (T,) F_s at `times` (1 at t = 0).

  Returns:
    The fitted parameters, F_s(tau_alpha) and the fit's quality.

  Raises:
    ValueError: when the data do not constrain a two-step fit: fewer than
      MIN_FIT_POINTS points; no plateau (A outside [MIN_PLATEAU, MAX_PLATEAU]
      or tau_alpha < MIN_TIME_SEPARATION tau_f, as for a single exponential);
      no alpha decay recorded (tau_alpha beyond the last time, or the data
      never below the fitted F_s(tau_alpha)); or a one-sigma relative error
      of tau_alpha above MAX_TAU_RELATIVE_ERROR.
  """
  times, values = _check_curve(times, values)
  if times[0] <= 0:
    raise ValueError(f'The fit needs positive times (first: {times[0]:g}).')
  if times.size < MIN_FIT_POINTS:
    raise ValueError(f'The two-step fit needs at least {MIN_FIT_POINTS} points (it has 5 '
                     f'parameters); got {times.size}.')
  span = np.log(times[-1] / times[0]) + np.log(100.0)
  lower = np.array([np.log(times[0] / 100.0), BETA_FAST_BOUNDS[0], 0.0, 0.0, BETA_BOUNDS[0]])
  upper = np.array([np.log(times[-1]), BETA_FAST_BOUNDS[1], 1.0, span, BETA_BOUNDS[1]])
  best = None
  for start in _starting_points(times, values):
    result = optimize.least_squares(lambda theta: _curve_of(theta, times) - values,
                                    np.clip(start, lower, upper),
                                    jac=lambda theta: _jacobian_of(theta, times),
                                    bounds=(lower, upper), x_scale='jac')
    if best is None or result.cost < best.cost:
      best = result
  theta = best.x
  tau_fast = float(np.exp(theta[_LOG_TAU_FAST]))
  tau_alpha = float(tau_fast * np.exp(theta[_LOG_SEPARATION]))
  residuals = best.fun
  dof = times.size - theta.size
  covariance = (2 * best.cost / dof) * np.linalg.pinv(best.jac.T @ best.jac)
  log_tau_alpha_variance = (covariance[_LOG_TAU_FAST, _LOG_TAU_FAST]
                            + covariance[_LOG_SEPARATION, _LOG_SEPARATION]
                            + 2 * covariance[_LOG_TAU_FAST, _LOG_SEPARATION])
  fit = TwoStepFit(
      tau_alpha=tau_alpha, plateau=float(theta[_PLATEAU]), beta=float(theta[_BETA]),
      tau_fast=tau_fast, beta_fast=float(theta[_BETA_FAST]),
      fs_at_tau_alpha=float(_curve_of(theta, np.array([tau_alpha]))[0]),
      rms_residual=float(np.sqrt(np.mean(residuals**2))),
      tau_alpha_error=float(np.sqrt(max(log_tau_alpha_variance, 0.0))),
      plateau_error=float(np.sqrt(max(covariance[_PLATEAU, _PLATEAU], 0.0))),
      beta_error=float(np.sqrt(max(covariance[_BETA, _BETA], 0.0))),
      num_points=int(times.size))
  _check_fit(fit, times, values)
  return fit


def _check_fit(fit: TwoStepFit, times: np.ndarray, values: np.ndarray) -> None:
  """ValueError, saying why, if `fit` is not a constrained two-step decay (see fit_two_step)."""
  summary = (f'(fit: tau_alpha {fit.tau_alpha:.4g}, A {fit.plateau:.3f}, tau_f '
             f'{fit.tau_fast:.3g}, beta {fit.beta:.3f})')
  if not MIN_PLATEAU <= fit.plateau <= MAX_PLATEAU:
    raise ValueError(f'F_s shows no plateau: the slow amplitude A = {fit.plateau:.3f} is outside '
                     f'[{MIN_PLATEAU}, {MAX_PLATEAU}], so no two-step decay defines tau_alpha '
                     f"{summary}; use method='1/e'.")
  if fit.tau_alpha < MIN_TIME_SEPARATION * fit.tau_fast:
    raise ValueError(f'F_s shows no plateau: the slow time is only '
                     f'{fit.tau_alpha / fit.tau_fast:.3g} x the fast one (at least '
                     f"{MIN_TIME_SEPARATION:g} needed) {summary}; use method='1/e'.")
  if fit.tau_alpha > times[-1] or values.min() > fit.fs_at_tau_alpha:
    raise ValueError(f'F_s does not decay through the alpha regime: lowest value '
                     f'{values.min():.4g} up to t = {times[-1]:g}, above the fitted '
                     f'F_s(tau_alpha) = {fit.fs_at_tau_alpha:.4g} {summary}; run longer.')
  if fit.tau_alpha_error > MAX_TAU_RELATIVE_ERROR:
    raise ValueError(f'The data do not constrain tau_alpha: relative error '
                     f'{fit.tau_alpha_error:.2g} > {MAX_TAU_RELATIVE_ERROR:g} {summary}; '
                     'record more times or average more.')


def relaxation_time(times: Sequence[float], values: Sequence[float],
                    threshold: float = 1.0 / np.e, method: str = '1/e') -> float:
  """tau_alpha of a decaying F_s, by one of RELAXATION_METHODS.

  Args:
    times: increasing positive times.
    values: F_s (or any decaying correlation) at `times`.
    threshold: method '1/e' only: the level at which the time is read.
    method: '1/e': the first time at which `values` falls to `threshold`,
      interpolated linearly in log t; 'fit': the slow time of the paper's
      double stretched exponential (`fit_two_step`).

  Raises:
    ValueError: for an unknown method; for '1/e' if the values start at or
      below the threshold or never reach it; for 'fit' as fit_two_step does.
  """
  if method not in RELAXATION_METHODS:
    raise ValueError(f'Unknown tau_alpha method {method!r}; choose one of '
                     f'{", ".join(map(repr, RELAXATION_METHODS))}.')
  if method == 'fit':
    if threshold != 1.0 / np.e:
      raise ValueError("threshold applies to method='1/e' only.")
    return fit_two_step(times, values).tau_alpha
  times, values = _check_curve(times, values)
  return _crossing_time(times, values, threshold)


def tau_alpha_report(times: Sequence[float], values: Sequence[float]
                     ) -> dict[str, float | str | None]:
  """tau_alpha by both definitions, for logs and JSON; NaN where one cannot be had.

  Returns:
    'tau_alpha_1e' and 'tau_alpha_fit'; the fit's 'fit_plateau', 'fit_beta',
    'fit_tau_fast', 'fit_beta_fast', 'fit_fs_at_tau_alpha',
    'fit_tau_alpha_error' (relative), 'fit_rms_residual'; and
    'tau_alpha_errors', which names each definition that failed with its
    reason (None if both worked).
  """
  report: dict[str, float | str | None] = {}
  errors = []
  try:
    report['tau_alpha_1e'] = relaxation_time(times, values)
  except ValueError as err:
    report['tau_alpha_1e'] = float('nan')
    errors.append(f'1/e: {err}')
  try:
    fit = fit_two_step(times, values)
  except ValueError as err:
    fit = None
    errors.append(f'fit: {err}')
  report['tau_alpha_fit'] = fit.tau_alpha if fit else float('nan')
  for name in ('plateau', 'beta', 'tau_fast', 'beta_fast', 'fs_at_tau_alpha', 'tau_alpha_error',
               'rms_residual'):
    report[f'fit_{name}'] = getattr(fit, name) if fit else float('nan')
  report['tau_alpha_errors'] = ' | '.join(errors) or None
  return report


def describe_tau_alpha(report: dict[str, float | str | None]) -> str:
  """One line for logs from a `tau_alpha_report`: both definitions and the fit's parameters."""
  line = (f"tau_alpha {report['tau_alpha_1e']:.4g} at F_s = 1/e, {report['tau_alpha_fit']:.4g} "
          f"by the fit (A {report['fit_plateau']:.3f}, beta {report['fit_beta']:.3f}, tau_f "
          f"{report['fit_tau_fast']:.3g}, beta_f {report['fit_beta_fast']:.3f}, F_s(tau_alpha) "
          f"{report['fit_fs_at_tau_alpha']:.3f})")
  return line + (f" [{report['tau_alpha_errors']}]" if report['tau_alpha_errors'] else '')


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

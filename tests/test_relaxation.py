"""F_s and tau_alpha against closed forms."""

import numpy as np
import pytest

from botan_jax import system
from botan_jax.analysis import relaxation


def test_relaxation_time_of_an_exponential_is_its_time_constant():
  times = np.logspace(-2, 2, 400)
  assert relaxation.relaxation_time(times, np.exp(-times / 3.7)) == pytest.approx(3.7, rel=1e-3)


def test_trajectory_fs_of_a_random_walk_is_gaussian():
  """Gaussian steps of variance s^2 per axis: F_s(k, lag) = exp(-k^2 s^2 lag / 2)."""
  rng = np.random.default_rng(0)
  step = 0.05
  positions = np.cumsum(rng.normal(0.0, step, (200, 2000, 3)), axis=0)
  types = np.zeros(2000, np.int8)
  lags = [1, 10, 50, 100]
  values = relaxation.trajectory_self_intermediate_scattering(positions, types, lags,
                                                              origin_stride=5)
  expected = np.exp(-(2 * np.pi * step)**2 * np.array(lags) / 2)
  np.testing.assert_allclose(values, expected, atol=0.01)
  # Only particles of the requested type count: B particles frozen give F_s = 1.
  types[1000:] = system.ParticleType.B
  positions[:, 1000:] = positions[:1, 1000:]
  frozen = relaxation.trajectory_self_intermediate_scattering(
      positions, types, lags, particle_type=system.ParticleType.B)
  np.testing.assert_allclose(frozen, 1.0)


def test_trajectory_fs_rejects_bad_shapes_and_lags():
  positions = np.zeros((5, 4, 3))
  with pytest.raises(ValueError, match='must be'):
    relaxation.trajectory_self_intermediate_scattering(positions, np.zeros(3), [1])
  with pytest.raises(ValueError, match='Lag 5 outside'):
    relaxation.trajectory_self_intermediate_scattering(positions, np.zeros(4), [5])

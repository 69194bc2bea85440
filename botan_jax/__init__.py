"""botan-jax: BOTAN (BOnd TArgeting Network) in JAX, Flax and jraph."""

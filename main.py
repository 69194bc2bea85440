"""botan-jax command line: `python main.py --help`; the modes, flags and exit statuses are
described in botan_jax/cli.py."""

from botan_jax import cli

if __name__ == '__main__':
  cli.run()

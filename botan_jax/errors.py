"""The exceptions that tell a user's mistake from a failure of the program.

The command line (`botan_jax/cli.py`) reports a `UserError` as one line,
`botan-jax: error: MESSAGE`, with exit status 2 and no traceback, so its message
must say what was wrong and what to do. Any other exception is a bug or an
unforeseen failure and keeps its traceback (exit status 1).

Raise a `UserError` subclass only from a check of what the user asked for:
a config field, a flag, a path or a file they named. A ValueError raised deep
inside jax or numpy stays a ValueError, so it is never mistaken for one.
"""

import contextlib
from collections.abc import Iterator


class UserError(Exception):
  """A mistake in what the user asked for; the message names it and the remedy."""


class ConfigError(UserError, ValueError):
  """A config field or flag value that cannot work (also a ValueError, as before)."""


class NotFoundError(UserError, FileNotFoundError):
  """A file, directory or checkpoint the user named does not exist (also a FileNotFoundError)."""


class PartialFailure(Exception):
  """Some items of a batch job failed and were skipped; the rest were done.

  The command line reports the message as one line with exit status 1 (not 2:
  the command did work, but not all of it).
  """


@contextlib.contextmanager
def as_user_errors(*types: type[Exception]) -> Iterator[None]:
  """Re-raises an exception of `types` from the block as a user error with its message.

  For calling a check of the user's input that still raises plain ValueError
  or FileNotFoundError (e.g. `train.validate_config`): only the checks wrapped
  by it are affected, never the work that follows them. A FileNotFoundError
  becomes a `NotFoundError`, anything else a `ConfigError`.
  """
  try:
    yield
  except UserError:
    raise
  except types as error:
    kind = NotFoundError if isinstance(error, FileNotFoundError) else ConfigError
    raise kind(str(error)) from error

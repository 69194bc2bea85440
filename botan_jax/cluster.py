"""Where this process sits in a cluster job: its share of independent work.

Independent work (a dataset's configurations, a sweep's runs) is split into
`count` shards; this process does shard `index`. The shard comes from, in
order of precedence:
  an explicit `I/N` (the `--shard` flag; a sweep's `--task=K` names one run),
  a SLURM job array: index (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /
    SLURM_ARRAY_TASK_STEP, count SLURM_ARRAY_TASK_COUNT (`--shard=slurm`),
  JAX's distributed runtime: index jax.process_index(), count
    jax.process_count() (`--shard=processes`, after `--distributed`),
else the whole job is one shard.
"""

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TypeVar

from botan_jax import errors

Item = TypeVar('Item')


@dataclasses.dataclass(frozen=True)
class Shard:
  """Shard `index` (0-based) of `count`."""
  index: int = 0
  count: int = 1

  def __post_init__(self):
    if self.count < 1 or not 0 <= self.index < self.count:
      raise errors.ConfigError(f'shard {self.index}/{self.count}: the index must be in 0..'
                               f'{self.count - 1} and the count at least 1.')

  def __str__(self) -> str:
    return f'{self.index}/{self.count}'

  def take(self, items: Sequence[Item]) -> list[Item]:
    """This shard's items: those at positions index, index + count, ... (round robin)."""
    return list(items[self.index::self.count])


def _int_env(environ: Mapping[str, str], name: str, default: int | None = None) -> int:
  value = environ.get(name)
  if value is None and default is not None:
    return default
  try:
    return int(value)
  except (TypeError, ValueError):
    raise errors.ConfigError(f'environment variable {name}={value!r}: expected an integer '
                             '(is this a SLURM job array task?).') from None


def slurm_array_shard(environ: Mapping[str, str] | None = None) -> Shard:
  """The shard of this SLURM array task.

  Raises:
    errors.ConfigError: outside a job array (SLURM_ARRAY_TASK_ID unset).
  """
  environ = os.environ if environ is None else environ
  if 'SLURM_ARRAY_TASK_ID' not in environ:
    raise errors.ConfigError('--shard=slurm (or --task=slurm): SLURM_ARRAY_TASK_ID is not set; '
                             'submit with sbatch --array, or give the index explicitly.')
  task_id = _int_env(environ, 'SLURM_ARRAY_TASK_ID')
  first = _int_env(environ, 'SLURM_ARRAY_TASK_MIN', 0)
  step = max(_int_env(environ, 'SLURM_ARRAY_TASK_STEP', 1), 1)
  count = _int_env(environ, 'SLURM_ARRAY_TASK_COUNT')
  return Shard((task_id - first) // step, count)


def process_shard() -> Shard:
  """The shard of this process of JAX's distributed runtime (one shard without it)."""
  import jax  # pylint: disable=g-import-not-at-top
  return Shard(jax.process_index(), jax.process_count())


def parse_shard(value: str | None, environ: Mapping[str, str] | None = None) -> Shard:
  """`--shard`'s value: '' or None (everything), 'I/N', 'slurm' or 'processes'.

  Raises:
    errors.ConfigError: naming the flag and the accepted forms.
  """
  if not value:
    return Shard()
  if value == 'slurm':
    return slurm_array_shard(environ)
  if value == 'processes':
    return process_shard()
  index, slash, count = value.partition('/')
  if slash and index.strip().isdigit() and count.strip().isdigit():
    return Shard(int(index), int(count))
  raise errors.ConfigError(f'--shard={value}: expected I/N (e.g. 0/4), slurm or processes.')


def parse_task(value: str, num_tasks: int, environ: Mapping[str, str] | None = None) -> int:
  """`--task`'s value: a 0-based index K below `num_tasks`, or 'slurm' (the array task's index).

  Raises:
    errors.ConfigError: for an index outside 0..num_tasks-1, naming the count.
  """
  if value == 'slurm':
    index = slurm_array_shard(environ).index
  elif value.strip().isdigit():
    index = int(value)
  else:
    raise errors.ConfigError(f'--task={value}: expected a task index (0..{num_tasks - 1}) or '
                             'slurm.')
  if index >= num_tasks:
    raise errors.ConfigError(f'--task={value}: task {index} does not exist; this sweep has '
                             f'{num_tasks} tasks, 0..{num_tasks - 1} (--list_tasks lists them).')
  return index


def initialize_distributed(coordinator_address: str | None = None,
                           num_processes: int | None = None, process_id: int | None = None,
                           heartbeat_timeout_s: int = 60,
                           shutdown_timeout_s: int = 300) -> None:
  """Joins JAX's distributed runtime (call before anything touches a device).

  Arguments left None are detected by JAX (SLURM, Open MPI, cloud TPU). CPU
  collectives go through gloo, so that CPU processes can sum across each
  other (GPUs use NCCL whatever this says). A process that sends no heartbeat
  for `heartbeat_timeout_s` counts as dead, and the others stop. At the end,
  each process waits up to `shutdown_timeout_s` for the others to finish (shards
  of a dataset finish at different times: give them a long one).

  Raises:
    errors.ConfigError: for a partial or inconsistent set of arguments.
  """
  given = dict(coordinator_address=coordinator_address, num_processes=num_processes,
               process_id=process_id)
  if any(v is not None for v in given.values()) and any(v is None for v in given.values()):
    missing = [f'--{name}' for name, value in given.items() if value is None]
    raise errors.ConfigError(f'--distributed: give {", ".join(missing)} too, or none of the three '
                             '(then JAX detects them from SLURM or Open MPI).')
  if num_processes is not None and not 0 <= process_id < num_processes:
    raise errors.ConfigError(f'--process_id={process_id}: must be in 0..{num_processes - 1}.')
  if heartbeat_timeout_s < 1:
    raise errors.ConfigError(f'--heartbeat_timeout_s={heartbeat_timeout_s}: must be >= 1.')
  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(coordinator_address, num_processes, process_id,
                             heartbeat_timeout_seconds=heartbeat_timeout_s,
                             shutdown_timeout_seconds=shutdown_timeout_s)

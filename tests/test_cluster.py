"""A process's share of a cluster job: shards from flags, SLURM job arrays and JAX processes."""

import pytest

from botan_jax import cluster
from botan_jax import errors


def slurm(task_id, first, count, step=None):
  environ = dict(SLURM_ARRAY_TASK_ID=str(task_id), SLURM_ARRAY_TASK_MIN=str(first),
                 SLURM_ARRAY_TASK_COUNT=str(count))
  if step is not None:
    environ['SLURM_ARRAY_TASK_STEP'] = str(step)
  return environ


def test_shards_from_flags_and_slurm_arrays():
  assert cluster.parse_shard(None) == cluster.parse_shard('') == cluster.Shard(0, 1)
  assert cluster.parse_shard('2/4') == cluster.Shard(2, 4)
  assert cluster.parse_shard('slurm', slurm(12, 10, 5)) == cluster.Shard(2, 5)
  # --array=10-18:2 gives ids 10, 12, ..., 18: five tasks, id 14 is the third.
  assert cluster.parse_shard('slurm', slurm(14, 10, 5, step=2)) == cluster.Shard(2, 5)
  assert cluster.parse_shard('processes') == cluster.Shard(0, 1)  # One process without --distributed.


def test_every_item_goes_to_exactly_one_shard():
  items = list(range(1, 12))
  taken = [cluster.Shard(k, 3).take(items) for k in range(3)]
  assert sorted(sum(taken, [])) == items
  assert taken[1] == [2, 5, 8, 11]


@pytest.mark.parametrize('value,environ,message', [
    ('4/4', {}, 'shard 4/4: the index must be in 0..3'),
    ('1/0', {}, 'the count at least 1'),
    ('first', {}, "--shard=first: expected I/N"),
    ('slurm', {}, 'SLURM_ARRAY_TASK_ID is not set'),
    ('slurm', dict(SLURM_ARRAY_TASK_ID='x', SLURM_ARRAY_TASK_COUNT='2'),
     "SLURM_ARRAY_TASK_ID='x': expected an integer"),
])
def test_bad_shards_are_refused_with_the_reason(value, environ, message):
  with pytest.raises(errors.ConfigError, match=message.replace('.', r'\.')):
    cluster.parse_shard(value, environ)


def test_tasks_by_index_or_slurm_array():
  assert cluster.parse_task('3', 4) == 3
  assert cluster.parse_task('slurm', 4, slurm(7, 6, 2)) == 1
  with pytest.raises(errors.ConfigError, match='task 4 does not exist; this sweep has 4 tasks'):
    cluster.parse_task('4', 4)
  with pytest.raises(errors.ConfigError, match='task 2 does not exist'):
    cluster.parse_task('slurm', 2, slurm(2, 0, 3))  # An array larger than the sweep.
  with pytest.raises(errors.ConfigError, match='expected a task index'):
    cluster.parse_task('-1', 4)

"""Training and evaluation loop: `train_and_evaluate(config, workdir)`.

The update step is jit-compiled once. The training graphs live on the
devices, padded to one budget and stacked; each step gathers its batch by
index, applies the random augmentation to the edge vectors, and runs the
loss L = p MSE_S + (1 - p) MSE_E, global-norm clipping and Adam. Data
parallelism is a `shard_map` over a 1-D mesh of devices: every device holds
the data, takes its share of the batch indices, and the squared-error sums,
counts and gradients are summed across devices, so any number of devices
gives the update of one device on the same global batch.
"""

import functools
import math
import os
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import jraph
import ml_collections
import numpy as np
import optax
from absl import logging
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from botan_jax import checkpoints
from botan_jax import graphs
from botan_jax import input_pipeline
from botan_jax import io
from botan_jax import model_setup
from botan_jax import models
from botan_jax import progress
from botan_jax import run_files
from botan_jax import run_settings
from botan_jax import targets

DATA_AXIS = 'data'



@flax.struct.dataclass
class TrainState:
  """Everything a run needs to continue: step, parameters, optimizer state, augmentation key."""
  step: jax.Array
  params: Any
  opt_state: Any
  key: jax.Array

  @classmethod
  def create(cls, params: Any, optimizer: optax.GradientTransformation,
             key: jax.Array) -> 'TrainState':
    """The state at step 0: `params`, `optimizer`'s initial state for them, augmentation `key`."""
    return cls(step=jnp.zeros((), jnp.int32), params=params, opt_state=optimizer.init(params),
               key=key)


def create_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Global-norm clipping, then Adam (as torch's clip_grad_norm_ and Adam)."""
  return optax.chain(optax.clip_by_global_norm(config.grad_clip_norm),
                     optax.adam(config.learning_rate, eps=config.adam_eps))


def squared_errors(params: Any, graph: jraph.GraphsTuple, model: models.Botan,
                   loss_p: float) -> tuple[jax.Array, jax.Array]:
  """Sums of squared errors over the valid (non-padding) nodes and edges.

  A term whose loss weight is zero (the edge term of NT-GNN, p = 1; the node
  term of edge pretraining, p = 0) is returned as 0 without being computed, so
  XLA drops its decoder from the step.
  """
  node_pred, edge_pred = model.apply({'params': params}, graph)
  def sse(pred, items):
    return jnp.sum(jnp.where(items['valid'], pred - items['target'], 0.0) ** 2)
  node_sse = sse(node_pred, graph.nodes) if loss_p > 0.0 else jnp.zeros(())
  edge_sse = sse(edge_pred, graph.edges) if loss_p < 1.0 else jnp.zeros(())
  return node_sse, edge_sse


def loss_fn(params: Any, graph: jraph.GraphsTuple, model: models.Botan, loss_p: float,
            node_count: jax.Array | None = None,
            edge_count: jax.Array | None = None) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
  """L = p MSE_S + (1 - p) MSE_E over the valid nodes and edges of `graph`.

  Args:
    node_count, edge_count: the denominators of the means; by default the
      valid items of `graph`, on several devices the counts of the global batch.

  Returns:
    The loss and (MSE_S, MSE_E) (a zero-weighted term is 0, see `squared_errors`).
  """
  node_sse, edge_sse = squared_errors(params, graph, model, loss_p)
  node_mse = node_sse / (jnp.sum(graph.nodes['valid']) if node_count is None else node_count)
  edge_mse = edge_sse / (jnp.sum(graph.edges['valid']) if edge_count is None else edge_count)
  return loss_p * node_mse + (1.0 - loss_p) * edge_mse, (node_mse, edge_mse)


def make_mesh(global_batch: int) -> Mesh:
  """A 1-D mesh over the largest number of devices that divides the global batch."""
  devices = jax.devices()
  count = max(d for d in range(1, len(devices) + 1) if global_batch % d == 0)
  if count < len(devices):
    logging.warning('Using %d of %d devices: %d graphs per step do not split over more '
                    '(set --config.batch_size to a multiple of the device count).',
                    count, len(devices), global_batch)
  return Mesh(np.array(devices[:count]), (DATA_AXIS,))


def put(tree: Any, mesh: Mesh, spec: P) -> Any:
  """Places host arrays (identical on every process) on the mesh with `spec`."""
  sharding = NamedSharding(mesh, spec)
  return jax.tree.map(
      lambda x: jax.make_array_from_callback(np.shape(x), sharding,
                                             lambda index: np.asarray(x)[index]), tree)


def make_train_step(model: models.Botan, optimizer: optax.GradientTransformation,
                    loss_p: float, augmentation: str, mesh: Mesh, global_batch: int):
  """The jitted update `step(state, dataset, indices) -> (state, metrics)`.

  Args:
    dataset: stacked padded training graphs, replicated on every device.
    indices: (global_batch,) int32 graph indices, sharded over the mesh.
  """
  local_batch = global_batch // mesh.size

  def device_step(state: TrainState, dataset: jraph.GraphsTuple, indices: jax.Array):
    batch = jax.tree.map(lambda x: x[indices], dataset)
    keys = jax.random.split(jax.random.fold_in(state.key, state.step), global_batch)
    keys = jax.lax.dynamic_slice_in_dim(
        keys, jax.lax.axis_index(DATA_AXIS) * local_batch, local_batch)
    batch = jax.vmap(functools.partial(input_pipeline.augment, kind=augmentation))(batch, keys)
    graph = graphs.merge(batch)
    node_count = jax.lax.psum(jnp.sum(graph.nodes['valid']), DATA_AXIS)
    edge_count = jax.lax.psum(jnp.sum(graph.edges['valid']), DATA_AXIS)

    (loss, (node_mse, edge_mse)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.params, graph, model, loss_p, node_count, edge_count)
    # The parameters are replicated (invariant over the mesh), so autodiff already sums
    # their gradient over the devices; the loss terms are summed here.
    loss, node_mse, edge_mse = jax.lax.psum((loss, node_mse, edge_mse), DATA_AXIS)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    new_state = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                              opt_state=opt_state)
    step_metrics = dict(loss=loss, grad_norm=optax.global_norm(grads))
    if loss_p > 0.0:
      step_metrics['node_mse'] = node_mse
    if loss_p < 1.0:
      step_metrics['edge_mse'] = edge_mse
    return new_state, step_metrics

  sharded = jax.shard_map(device_step, mesh=mesh, in_specs=(P(), P(), P(DATA_AXIS)),
                          out_specs=(P(), P()))
  return jax.jit(sharded, donate_argnums=0)


def validate_config(config: ml_collections.ConfigDict) -> tuple[list[str], list[str]]:
  """Checks the config before any work; returns the training and test files.

  Raises:
    ValueError / FileNotFoundError / io.DataError with a message naming the field.
  """
  model_setup.graph_spec(config)  # An unknown structure or minimiser setting, before any work.
  if not 0.0 <= config.loss_p <= 1.0:
    raise ValueError(f'config.loss_p must lie in [0, 1], got {config.loss_p}.')
  if config.node_target not in targets.NODE_TARGETS:
    raise ValueError(f'config.node_target must be one of {", ".join(targets.NODE_TARGETS)}, '
                     f'got {config.node_target!r}.')
  if config.augmentation not in ('none', *input_pipeline.AUGMENTATIONS):
    raise ValueError(f'config.augmentation must be none, axes or rotation, '
                     f'got {config.augmentation!r}.')
  if config.model.dtype not in model_setup.MODEL_DTYPES:
    raise ValueError(f'config.model.dtype must be one of '
                     f'{", ".join(model_setup.MODEL_DTYPES)}, '
                     f'got {config.model.dtype!r}.')
  if config.num_epochs < 0 or config.batch_size < 0:
    raise ValueError('config.num_epochs and config.batch_size must be >= 0.')
  for field in ('eval_every_epochs', 'checkpoint_every_epochs', 'log_every_steps'):
    if config[field] < 1:
      raise ValueError(f'config.{field} must be >= 1, got {config[field]}.')
  checkpoints.check_init_source(config.init_from)
  train_files = io.find_files(config.data.train_pattern, config.data.time_index)
  test_files = io.find_files(config.data.test_pattern, config.data.time_index)
  if len(train_files) < model_setup.graphs_per_step(config):
    raise ValueError(f'{config.data.train_pattern}: {len(train_files)} training files, fewer '
                     f'than the {model_setup.graphs_per_step(config)} graphs per step.')
  return train_files, test_files


def initial_state(config: ml_collections.ConfigDict, model: models.Botan,
                  optimizer: optax.GradientTransformation, example: jraph.GraphsTuple) -> TrainState:
  """Parameters from `init_from` or a fresh initialisation from `seed`; fresh optimizer."""
  init_key, augment_key = jax.random.split(jax.random.PRNGKey(config.seed))
  params = jax.jit(model.init)(init_key, example)['params']
  if config.init_from:
    loaded = model_setup.fit_encoder_inputs(checkpoints.load(config.init_from)[0], config)
    if jax.tree.structure(loaded) != jax.tree.structure(params) or any(
        a.shape != b.shape for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(params))):
      raise ValueError(f'init_from {config.init_from}: parameters do not fit config.model.')
    params = jax.tree.map(jnp.asarray, loaded)
    logging.info('Initialised from %s.', config.init_from)
  return TrainState.create(params, optimizer, augment_key)


def epoch_order(seed: int, epoch: int, num_graphs: int) -> np.ndarray:
  """The order in which the training graphs are visited in `epoch` (a pure function)."""
  return np.random.default_rng([seed, epoch]).permutation(num_graphs)


def _weighted_loss(evaluation: dict, loss_p: float) -> float:
  return loss_p * evaluation['node_mse'] + (1.0 - loss_p) * evaluation['edge_mse']


def _selection_score(evaluation: dict, loss_p: float) -> float:
  """Test Pearson that picks the best checkpoint: of E for p=0, of S for p=1, else their mean."""
  if loss_p == 0.0:
    return evaluation['pearson_edge']
  if loss_p == 1.0:
    return evaluation['pearson_node']
  return 0.5 * (evaluation['pearson_node'] + evaluation['pearson_edge'])


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains from scratch, from `init_from`, or on from the workdir's latest checkpoint.

  Returns:
    The final test evaluation.
  """
  run_start = time.perf_counter()
  train_files, test_files = validate_config(config)
  os.makedirs(workdir, exist_ok=True)
  train_names = [os.path.basename(path) for path in train_files]
  run_files.check_resumable(config, workdir, train_names, model_setup.graphs_per_step)
  run_files.write_run_record(workdir, config, train_names)

  load = lambda files: input_pipeline.load_graph_set(
      files, model_setup.graph_spec(config), model_setup.cache_dir(config),
      pickle_time_index=config.data.pickle_time_index, require_targets=True,
      time_index=config.data.time_index,
      glassbench_positions=config.data.get('glassbench_positions', 'initial'),
      require_edge_targets=config.loss_p < 1.0)
  train_set, test_set = load(train_files), load(test_files)
  global_batch = model_setup.graphs_per_step(config)
  mesh = make_mesh(global_batch)
  model, optimizer = model_setup.create_model(config), create_optimizer(config)
  example = jax.tree.map(lambda x: x[0], train_set.graphs)

  latest = checkpoints.manager(workdir, checkpoints.LATEST)
  best = checkpoints.manager(workdir, checkpoints.BEST)
  if latest.latest_step() is not None:
    template = jax.eval_shape(lambda: TrainState.create(
        model.init(jax.random.PRNGKey(0), example)['params'], optimizer, jax.random.PRNGKey(0)))
    state, meta = checkpoints.restore(latest, template)
    best_score = meta.get('best_score', -math.inf)
    logging.info('Resuming from step %d (%s).', int(state.step), latest.directory)
  else:
    state, best_score = initial_state(config, model, optimizer, example), -math.inf
  # A best checkpoint saved after the latest one lies in the future the run replays; a run that
  # starts at step 0 saves the initial one again.
  if dropped := checkpoints.drop_steps_after(best, int(state.step) if int(state.step) else -1):
    logging.info('Dropped best checkpoints of steps %s, past the resumed step.', dropped)
  log = run_files.MetricsLog(workdir, int(state.step), config.tensorboard)
  settings = run_settings.of_config(config)  # Saved with every checkpoint, for inference.

  replicated = P()
  state = put(state, mesh, replicated)
  dataset = put(train_set.graphs, mesh, replicated)
  test_graphs = put(test_set.graphs, mesh, replicated)
  train_step = make_train_step(model, optimizer, config.loss_p, config.augmentation,
                               mesh, global_batch)
  predict = model_setup.make_predict_fn(model)

  steps_per_epoch = len(train_set) // global_batch
  total_steps = config.num_epochs * steps_per_epoch
  logging.info('%d training and %d test graphs; %d graphs per step on %d device(s); '
               '%d steps per epoch; step %d of %d.', len(train_set), len(test_set),
               global_batch, mesh.size, steps_per_epoch, int(state.step), total_steps)
  evaluation = None
  if int(state.step) == 0:
    evaluation = initial = model_setup.evaluate_graphs(predict, state.params, test_set,
                                                       test_graphs)
    logging.info('epoch 0: test Pearson %s %.4f E %.4f', config.node_target,
                 initial['pearson_node'], initial['pearson_edge'])
    log.write(step=0, epoch=0, test_pearson_node=initial['pearson_node'],
              test_pearson_edge=initial['pearson_edge'],
              test_loss=_weighted_loss(initial, config.loss_p), test_per_file=initial['per_file'])
    # The starting point competes too: fine-tuning can only lower a score it starts from.
    best_score = _selection_score(initial, config.loss_p)
    checkpoints.save(best, 0, state, dict(epoch=0, evaluation=initial, best_score=best_score,
                                          settings=settings))
  epoch_losses: list[jax.Array] = []
  recent_losses: list[jax.Array] = []  # Since the last progress line.
  progress_clock = progress.Interval(config.get('log_every_s', 60.0))
  timer_start, timed_steps, paused_s = None, 0, 0.0  # paused_s: evaluations and checkpoints.
  for step in range(int(state.step), total_steps):
    epoch, position = divmod(step, steps_per_epoch)
    indices = epoch_order(config.seed, epoch, len(train_set))[
        position * global_batch:(position + 1) * global_batch]
    state, step_metrics = train_step(state, dataset, put(indices.astype(np.int32), mesh,
                                                         P(DATA_AXIS)))
    epoch_losses.append(step_metrics['loss'])
    recent_losses.append(step_metrics['loss'])
    if timer_start is None:  # Time from the end of the first (compiling) step.
      jax.block_until_ready(state)
      timer_start = time.perf_counter()
    else:
      timed_steps += 1
    if (step + 1) % config.log_every_steps == 0:
      log.write(step=step + 1, epoch=epoch + 1, **{k: float(v) for k, v in step_metrics.items()})
    epoch_done = epoch + 1
    last = step + 1 == total_steps
    evaluating = position + 1 == steps_per_epoch and (
        epoch_done % config.eval_every_epochs == 0 or last)
    if not evaluating and progress_clock.due():
      recent_loss = float(np.mean(jax.device_get(recent_losses)))  # Waits for the steps.
      steps_per_s, eta = _speeds(timed_steps, timer_start, paused_s, total_steps - step - 1)
      logging.info('step %d/%d (epoch %d/%d) | loss %.5f (mean of %d steps) | %s graphs/s | '
                   'ETA %s', step + 1, total_steps, epoch_done, config.num_epochs, recent_loss,
                   len(recent_losses), progress.format_rate(steps_per_s * global_batch),
                   progress.format_duration(eta))
      recent_losses = []
    if position + 1 < steps_per_epoch:
      continue

    train_loss = float(np.mean(jax.device_get(epoch_losses)))
    epoch_losses = []
    pause_start = time.perf_counter()
    if evaluating:
      steps_per_s, eta = _speeds(timed_steps, timer_start, paused_s, total_steps - step - 1)
      evaluation = model_setup.evaluate_graphs(predict, state.params, test_set, test_graphs)
      logging.info('epoch %d/%d step %d: train loss %.5f | test Pearson %s %.4f E %.4f | '
                   '%s graphs/s | ETA %s', epoch_done, config.num_epochs, step + 1, train_loss,
                   config.node_target, evaluation['pearson_node'], evaluation['pearson_edge'],
                   progress.format_rate(steps_per_s * global_batch),
                   progress.format_duration(eta))
      progress_clock.restart()
      recent_losses = []
      log.write(step=step + 1, epoch=epoch_done, train_loss=train_loss,
                test_pearson_node=evaluation['pearson_node'],
                test_pearson_edge=evaluation['pearson_edge'],
                test_loss=_weighted_loss(evaluation, config.loss_p),
                test_per_file=evaluation['per_file'], graphs_per_s=steps_per_s * global_batch,
                wall_s=time.perf_counter() - run_start)
      score = _selection_score(evaluation, config.loss_p)
      if score > best_score:
        best_score = score
        checkpoints.save(best, step + 1, state, dict(epoch=epoch_done, evaluation=evaluation,
                                                     best_score=best_score, settings=settings))
    if epoch_done % config.checkpoint_every_epochs == 0 or last:
      checkpoints.save(latest, step + 1, state, dict(epoch=epoch_done, best_score=best_score,
                                                     settings=settings))
    paused_s += time.perf_counter() - pause_start
  if evaluation is None:
    evaluation = model_setup.evaluate_graphs(predict, state.params, test_set, test_graphs)
  return evaluation


def _speeds(timed_steps: int, timer_start: float | None, paused_s: float,
            remaining_steps: int) -> tuple[float, float]:
  """Training steps per second (evaluations and checkpoints left out) and the ETA in seconds.

  Args:
    timed_steps: steps run since `timer_start` (a `time.perf_counter()`).
    paused_s: seconds of evaluations and checkpoints since then.

  Returns:
    The rate, and the ETA at the wall rate (pauses included); both NaN before
    the first timed step.
  """
  if not timed_steps:
    return math.nan, math.nan
  elapsed_s = time.perf_counter() - timer_start
  return (timed_steps / (elapsed_s - paused_s),
          progress.eta_seconds(remaining_steps, timed_steps, elapsed_s))

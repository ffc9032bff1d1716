"""The `tf.distribute` strategy named by `--strategy`."""

import json
import os

import tensorflow as tf

__all__ = ['describe_devices', 'is_chief', 'make_strategy', 'worker_index']


def _tf_config():
  return json.loads(os.environ.get('TF_CONFIG') or '{}')


def _num_workers():
  cluster = _tf_config().get('cluster', {})
  return len(cluster.get('worker', [])) + len(cluster.get('chief', []))


def make_strategy(name, tpu=''):
  """`auto`, `default`, `mirrored`, `multi_worker` or `tpu`.

  * `auto`: `multi_worker` when `TF_CONFIG` lists several workers, else
    `MirroredStrategy` over all local GPUs when there are any, else the
    default strategy (one CPU or GPU).
  * `mirrored`: every local GPU (or, without GPUs, every logical CPU device),
    synchronous all-reduce.
  * `multi_worker`: `MultiWorkerMirroredStrategy`; each machine runs the same
    command with its own `TF_CONFIG` (`{"cluster": {"worker": [...]},
    "task": {"type": "worker", "index": i}}`); worker 0 is the chief.
  * `tpu`: `TPUStrategy` on the TPU named by `--tpu` (`''`: the local one).
  """
  if name == 'auto':
    if _num_workers() > 1:
      name = 'multi_worker'
    elif tf.config.list_physical_devices('GPU'):
      name = 'mirrored'
    else:
      name = 'default'
  if name == 'default':
    return tf.distribute.get_strategy()
  if name == 'mirrored':
    devices = [d.name for d in tf.config.list_logical_devices('GPU')] or [
        d.name for d in tf.config.list_logical_devices('CPU')]
    return tf.distribute.MirroredStrategy(devices)
  if name == 'multi_worker':
    if not _tf_config():
      raise ValueError(
          '--strategy=multi_worker needs the TF_CONFIG environment variable '
          '(cluster and task) on every worker.')
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == 'tpu':
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f'unknown --strategy={name!r}; choose one of auto, '
                   'default, mirrored, multi_worker, tpu.')


def worker_index(strategy):
  """This worker's index (0 outside multi-worker training)."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not isinstance(
      strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return 0
  return int(resolver.task_id or 0)


def is_chief(strategy):
  """Whether this process writes summaries, samples and exports."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not isinstance(
      strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return True
  task_type = resolver.task_type
  return task_type in (None, 'chief') or (
      task_type == 'worker' and int(resolver.task_id or 0) == 0 and
      'chief' not in resolver.cluster_spec().as_dict())


def describe_devices(strategy):
  """One plain line: what the run trains on (`Training on CPU (no GPU
  found).`, `Training on 2 GPUs.`, `Training on 8 TPU cores.`)."""
  replicas = strategy.num_replicas_in_sync
  if isinstance(strategy, tf.distribute.TPUStrategy):
    return f'Training on {replicas} TPU cores.'
  if tf.config.list_logical_devices('GPU'):
    return f'Training on {replicas} GPU{"s" if replicas > 1 else ""}.'
  copies = f', {replicas} replicas' if replicas > 1 else ''
  return f'Training on CPU (no GPU found{copies}).'

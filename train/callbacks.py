"""Keras callbacks of a training run: step limit, checkpoints, TensorBoard
scalars, sample grids, NaN policy and graceful SIGTERM/Ctrl-C."""

import contextlib
import json
import os
import signal
import time

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from tfp_glow import preprocessing
from tfp_glow.latent import grids
from train import model as model_lib

__all__ = ['write_png', 'write_png_file', 'write_scalar', 'Checkpoints', 'GracefulStop', 'NanStop', 'SampleGrids',
           'Scalars', 'StepLimit', 'TEMPERATURES', 'catch_signals',
           'save_grid']

TEMPERATURES = (0., 0.25, 0.5, 0.75, 1.)  # [1] Figure 8 shows 0 to 1.


class _StepCallback(keras.callbacks.Callback):
  """Tracks the global step (batches seen, `GlowTrainer.step`) cheaply."""

  def on_train_begin(self, logs=None):
    self.global_step = int(self.model.step.numpy())

  def on_train_batch_end(self, batch, logs=None):
    self.global_step += 1


class StepLimit(_StepCallback):
  """Stops `fit` once the global step reaches `train_steps`."""

  def __init__(self, train_steps):
    super().__init__()
    self.train_steps = train_steps

  def on_train_batch_end(self, batch, logs=None):
    super().on_train_batch_end(batch, logs)
    if self.global_step >= self.train_steps:
      self.model.stop_training = True


class Checkpoints(_StepCallback):
  """Saves a checkpoint every `every` steps."""

  def __init__(self, checkpointer, every):
    super().__init__()
    self.checkpointer, self.every = checkpointer, every

  def on_train_batch_end(self, batch, logs=None):
    super().on_train_batch_end(batch, logs)
    if self.global_step % self.every == 0:
      self.checkpointer.save(self.global_step)


class NanStop(keras.callbacks.Callback):
  """`--nan_policy=stop`: ends training at the first skipped step.

  The step itself was not applied (the train step never applies a non-finite
  update), and the run then ends without saving: the last good checkpoint
  stays the latest.
  """

  def __init__(self):
    super().__init__()
    self.stopped = False

  def on_train_batch_end(self, batch, logs=None):
    if logs and 'skipped' in logs and int(np.asarray(logs['skipped'])) > (
        self.skipped_before):
      self.stopped = True
      self.model.stop_training = True

  def on_train_begin(self, logs=None):
    self.skipped_before = int(self.model.skipped.numpy())


class GracefulStop(keras.callbacks.Callback):
  """Ends `fit` after the current step once a SIGTERM/SIGINT arrived."""

  def __init__(self, state):
    super().__init__()
    self.state = state

  def on_train_batch_end(self, batch, logs=None):
    if self.state['signal']:
      self.model.stop_training = True


@contextlib.contextmanager
def catch_signals():
  """Turns SIGTERM and the first Ctrl-C into a flag (`state['signal']`).

  A second Ctrl-C raises `KeyboardInterrupt` as usual. Only the main thread
  can install handlers; elsewhere this is a no-op.
  """
  state = {'signal': None}
  previous = {}

  def handler(signum, frame):
    del frame
    if state['signal'] == signal.SIGINT and signum == signal.SIGINT:
      raise KeyboardInterrupt
    state['signal'] = signum
    print(f'\nReceived {signal.Signals(signum).name}: saving a checkpoint '
          'after this step, then exiting (Ctrl-C again to abort).',
          flush=True)

  try:
    for signum in (signal.SIGTERM, signal.SIGINT):
      previous[signum] = signal.signal(signum, handler)
  except ValueError:  # Not the main thread.
    pass
  try:
    yield state
  finally:
    for signum, old in previous.items():
      signal.signal(signum, old)


class Scalars(_StepCallback):
  """TensorBoard scalars every epoch (`--log_every` steps) and metrics.jsonl.

  Train: `bpd`, `grad_norm` (means over the applied steps: null when every
  step of the epoch was skipped), `learning_rate`, `images_per_second`,
  `skipped_steps` (the run's total); test (from `fit`'s validation): `bpd`.
  Each record also
  goes to `<workdir>/metrics.jsonl` with the wall time since the run began,
  and to each of `listeners` (functions of the record, e.g.
  `train.progress.ProgressLines`).
  """

  def __init__(self, workdir, global_batch_size, start_time, chief=True,
               listeners=()):
    super().__init__()
    self.batch_size = global_batch_size
    self.start_time = start_time
    self.chief = chief
    self.listeners = list(listeners)
    self.path = os.path.join(workdir, 'metrics.jsonl')
    if chief:
      self.train_writer = tf.summary.create_file_writer(
          os.path.join(workdir, 'tensorboard', 'train'))
      self.test_writer = tf.summary.create_file_writer(
          os.path.join(workdir, 'tensorboard', 'test'))

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    self.skipped = int(self.model.skipped.numpy())

  def on_epoch_begin(self, epoch, logs=None):
    self.epoch_start = time.time()
    self.epoch_start_step = self.global_step

  def on_epoch_end(self, epoch, logs=None):
    logs = {k: float(np.asarray(v)) for k, v in (logs or {}).items()}
    steps = self.global_step - self.epoch_start_step
    seconds = max(time.time() - self.epoch_start, 1e-9)
    skipped, self.skipped = self.skipped, int(logs.get('skipped',
                                                       self.skipped))
    # The means are over applied steps; with none, there is no value (the
    # metrics' empty mean would read 0.0): null in metrics.jsonl.
    applied = steps - (self.skipped - skipped)
    record = dict(step=self.global_step,
                  wall_s=round(time.time() - self.start_time, 3),
                  train_bpd=logs.get('bpd') if applied else None,
                  grad_norm=logs.get('grad_norm') if applied else None,
                  learning_rate=logs.get('lr'),
                  skipped_steps=logs.get('skipped'),
                  images_per_second=steps * self.batch_size / seconds)
    if 'val_bpd' in logs:
      record['test_bpd'] = logs['val_bpd']
    self.write(record)

  def write(self, record):
    """Writes a record's scalars to TensorBoard, metrics.jsonl and the
    listeners (chief)."""
    if not self.chief:
      return
    for listener in self.listeners:
      listener(record)
    step = record['step']
    names = dict(train_bpd='bits_per_dim', grad_norm='gradient_norm',
                 learning_rate='learning_rate',
                 images_per_second='images_per_second',
                 skipped_steps='skipped_steps')
    with self.train_writer.as_default(step=step):
      for key, name in names.items():
        if record.get(key) is not None:
          write_scalar(name, record[key])
    if record.get('test_bpd') is not None:
      with self.test_writer.as_default(step=step):
        write_scalar('bits_per_dim', record['test_bpd'])
      self.test_writer.flush()
    self.train_writer.flush()
    with open(self.path, 'a') as f:
      f.write(json.dumps(record) + '\n')


class SampleGrids(_StepCallback):
  """Sample grids at temperatures 0 to 1 every `every` steps (0: none here).

  Rows are temperatures (`TEMPERATURES`, labelled), columns samples, tiles
  enlarged to a readable size; written to TensorBoard (`samples`) and
  `<workdir>/samples/step_<step>.png`.
  """

  def __init__(self, workdir, every, num_samples, seed=0, chief=True,
               averaged=None):
    super().__init__()
    self.workdir, self.every = workdir, every
    self.num_samples, self.seed, self.chief = num_samples, seed, chief
    self.averaged = averaged

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    self.last = self.global_step

  def on_epoch_end(self, epoch, logs=None):
    if self.every and self.global_step - self.last >= self.every:
      self.last = self.global_step
      if self.chief:
        with (self.averaged.swapped_in() if self.averaged
              else contextlib.nullcontext()):
          save_grid(self.model.dist, self.workdir, self.global_step,
                    self.num_samples, self.seed)


def save_grid(dist, workdir, step, num_samples, seed=0):
  """Writes one grid of samples at `TEMPERATURES`; returns the PNG path.

  Rows are temperatures, labelled; tiles are enlarged to a readable size
  (`tfp_glow.latent.grids.readable_scale`). The same picture goes to
  TensorBoard.
  """
  images = model_lib.sample_images(dist, TEMPERATURES, num_samples, seed)
  images = preprocessing.round_to_uint8(images * 255.).numpy()
  tiles = images.reshape(len(TEMPERATURES), num_samples, *images.shape[1:])
  grid = grids.labelled_grid(
      tiles, [f'T = {t:g}' for t in TEMPERATURES],
      scale=grids.readable_scale(images.shape[1]))
  path = write_png_file(os.path.join(workdir, 'samples', f'step_{step}.png'),
                        grid)
  writer = tf.summary.create_file_writer(
      os.path.join(workdir, 'tensorboard', 'train'))
  with writer.as_default(step=step):
    write_png('samples_temperature_0_to_1', grid)
  writer.flush()
  return path


def write_png_file(path, image):
  """Writes a uint8 `[H, W, C]` image as a PNG (any tf.io.gfile path, its
  directory made); returns the path."""
  tf.io.gfile.makedirs(os.path.dirname(path))
  tf.io.write_file(path, tf.io.encode_png(image))
  return path


# TensorBoard's scalar and image summaries, written with TensorFlow alone
# (`tf.summary.scalar`/`image` need the tensorboard package installed; the
# event files are the same, and `tensorboard --logdir` reads them).


def _metadata(plugin_name):
  return summary_pb2.SummaryMetadata(
      plugin_data=summary_pb2.SummaryMetadata.PluginData(
          plugin_name=plugin_name))


def write_scalar(name, value):
  """A TensorBoard scalar at the default writer's step."""
  return tf.summary.write(name, tf.constant(value, tf.float32),
                          metadata=_metadata('scalars'))


def write_png(name, image):
  """A TensorBoard image (uint8 `[H, W, C]`) at the default writer's step."""
  h, w = image.shape[:2]
  tensor = tf.stack([tf.as_string(w), tf.as_string(h),
                     tf.io.encode_png(image)])
  return tf.summary.write(name, tensor, metadata=_metadata('images'))

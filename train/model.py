"""`GlowTrainer`: the Keras model that trains a Glow distribution.

The distribution (`tfp_glow.glow(...)` or the `tfp.bijectors.Glow` baseline)
is a `tf.Module`; the trainer holds it, exposes its variables to Keras, and
defines one step of training and evaluation:

    bits/dim (per image)  =  tfp_glow.bits_per_dim(dist, uint8 images, n_bits)
                             (given the labels, for a class-conditional model;
                             + weight_y * bits_y, openai/glow's classifier)
    loss                  =  tf.nn.compute_average_loss(bits/dim)   per replica
    gradient              =  all-reduce(sum) over replicas          (global)
    if loss and gradient are finite:  clip by global norm, optimizer update
    else:                             skip the update, count it

Every replica sees the same all-reduced gradient, the same norm and the same
finiteness decision, so the weights stay identical everywhere.
"""

import keras
import numpy as np
import tensorflow as tf

from bijectors import _tf_compat
import tfp_glow
from tfp_glow import codec

__all__ = ['GlowTrainer', 'sample_images']


class GlowTrainer(keras.Model):
  """Trains `dist` on batches of uint8 images `[N, H, W, C]` with `fit`.

  A class-conditional `dist` (`num_classes`) trains on `(images, labels)`
  batches instead, int labels `[N]`; with `weight_y > 0` the loss adds
  openai/glow's classifier term `weight_y * bits_y` (see
  `tfp_glow.classifier`) and `fit`/`evaluate` also log `bits_y` and
  `accuracy`.

  Compile it with an optimizer from `train.optim.make_optimizer` (those expect
  gradients already summed over replicas). `fit` logs `bpd` (the running mean
  of the training bits/dim), `grad_norm`, `lr` and `skipped` (steps whose
  non-finite loss or gradient was not applied); `evaluate` logs the test
  `bpd`.
  """

  def __init__(self, dist, n_bits, clip_grad_norm=0., weight_y=0.,
               **kwargs):
    super().__init__(**kwargs)
    self.dist = dist
    self.n_bits = int(n_bits)
    self.clip_grad_norm = float(clip_grad_norm)
    self.conditional = bool(getattr(dist, 'num_classes', None))
    self.weight_y = float(weight_y)
    if self.weight_y < 0 or (self.weight_y and not self.conditional):
      raise ValueError(f'weight_y={weight_y}: the classifier term needs a '
                       'class-conditional model and weight_y >= 0.')
    self.bpd_tracker = keras.metrics.Mean(name='bpd')
    self.grad_norm_tracker = keras.metrics.Mean(name='grad_norm')
    self.bits_y_tracker = keras.metrics.Mean(name='bits_y')
    self.accuracy_tracker = keras.metrics.Mean(name='accuracy')
    # Batches seen (applied or skipped) and batches skipped; mirrored
    # counters updated once per step.
    self.step = tf.Variable(
        0, dtype=tf.int64, trainable=False, name='step',
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.skipped = tf.Variable(
        0, dtype=tf.int64, trainable=False, name='skipped',
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.built = True

  # Keras 3 does not see variables owned by a tf.Module: expose them.
  @property
  def trainable_weights(self):
    return list(self.dist.trainable_variables)

  @property
  def trainable_variables(self):
    return self.trainable_weights

  @property
  def metrics(self):
    metrics = [self.bpd_tracker, self.grad_norm_tracker]
    if self.weight_y:
      metrics += [self.bits_y_tracker, self.accuracy_tracker]
    return metrics

  def _unpack(self, batch):
    """`images` or `(images, labels)` -> `(images, labels or None)`."""
    images, labels = (tuple(batch) + (None,))[:2] if isinstance(
        batch, (tuple, list)) else (batch, None)
    if self.conditional and labels is None:
      raise ValueError('a class-conditional model trains on (images, labels) '
                       'batches; the dataset gives images only.')
    return images, (labels if self.conditional else None)

  def per_example_bpd(self, images, labels=None):
    """Bits/dim of each uint8 image, with fresh dequantization noise."""
    return tfp_glow.bits_per_dim(self.dist, images, self.n_bits,
                                 labels=labels)

  def per_example_loss(self, images, labels=None):
    """`(loss, bits/dim)` per image; updates the classifier metrics."""
    if not self.weight_y:
      bpd = self.per_example_bpd(images, labels)
      return bpd, bpd
    bpd, logits = tfp_glow.classifier.bits_per_dim_and_class_logits(
        self.dist, images, labels, self.n_bits)
    bits_y = tfp_glow.classifier.classification_bits(logits, labels)
    self.bits_y_tracker.update_state(bits_y)
    self.accuracy_tracker.update_state(tf.cast(tf.equal(
        tf.argmax(logits, axis=-1, output_type=tf.int32),
        tf.cast(labels, tf.int32)), bpd.dtype))
    return bpd + self.weight_y * bits_y, bpd

  def call(self, batch):
    return self.per_example_bpd(*self._unpack(batch))

  def train_step(self, batch):
    images, labels = self._unpack(batch)
    variables = self.trainable_weights
    with tf.GradientTape() as tape:
      per_example, bpd = self.per_example_loss(images, labels)
      loss = tf.nn.compute_average_loss(per_example)
      bpd = tf.nn.compute_average_loss(bpd)
    grads = tape.gradient(loss, variables)
    grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
             for g, v in zip(grads, variables)]
    context = tf.distribute.get_replica_context()
    loss, bpd, grads = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                          (loss, bpd, grads))
    norm = tf.linalg.global_norm(grads)
    finite = tf.logical_and(tf.math.is_finite(loss), tf.math.is_finite(norm))
    if self.clip_grad_norm > 0:
      grads, _ = tf.clip_by_global_norm(
          grads, self.clip_grad_norm,
          use_norm=tf.where(finite, norm, tf.ones_like(norm)))
    lr = self.optimizer.learning_rate
    self._apply_if(finite, grads, variables)
    self.step.assign_add(1)
    self.skipped.assign_add(tf.cast(tf.logical_not(finite), tf.int64))
    self.bpd_tracker.update_state(
        tf.where(finite, bpd, tf.zeros_like(bpd)),
        sample_weight=tf.cast(finite, bpd.dtype))
    self.grad_norm_tracker.update_state(
        tf.where(finite, norm, tf.zeros_like(norm)),
        sample_weight=tf.cast(finite, norm.dtype))
    return self._outputs(dict(self._metric_results(),
                              lr=tf.convert_to_tensor(lr),
                              skipped=self.skipped.value()))

  def _metric_results(self):
    return {m.name: m.result() for m in self.metrics}

  def _outputs(self, logs):
    # Keras reduces step outputs across MultiWorkerMirroredStrategy workers
    # with `strategy.reduce(MEAN, v, axis=0)`, which fails on scalars: give
    # it shape [1] there (the values are already global, the mean is exact).
    if isinstance(self.distribute_strategy,
                  tf.distribute.MultiWorkerMirroredStrategy):
      return {k: tf.reshape(tf.cast(v, tf.float32), [1])
              for k, v in logs.items()}
    return logs

  def _apply_if(self, finite, grads, variables):
    """`optimizer.apply(grads)` when `finite`, identically on every replica.

    The same construction as Keras' `LossScaleOptimizer`: where the strategy
    needs `merge_call` for updates, the `tf.cond` runs in cross-replica
    context (a replica-context cond cannot contain a `merge_call`).
    """
    optimizer = self.optimizer

    def apply():
      optimizer.apply(grads, variables)
      return tf.constant(True)

    if _tf_compat.strategy_supports_no_merge_call():
      tf.cond(finite, apply, lambda: tf.constant(False))
      return

    def cross_replica(strategy, finite, grads):
      finite = strategy.experimental_local_results(finite)[0]

      def apply_everywhere():
        strategy.extended.call_for_each_replica(
            lambda g: optimizer.apply(g, variables), args=(grads,))
        return tf.constant(True)

      tf.cond(finite, apply_everywhere, lambda: tf.constant(False))

    tf.distribute.get_replica_context().merge_call(
        cross_replica, args=(finite, grads))

  def test_step(self, batch):
    _, bpd = self.per_example_loss(*self._unpack(batch))
    self.bpd_tracker.update_state(bpd)
    results = self._metric_results()
    del results['grad_norm']
    return self._outputs(results)


def sample_images(dist, temperatures, num_per_temperature, seed=0):
  """`[len(temperatures) * n, H, W, C]` samples, row by row per temperature.

  Works for any flow whose `dist.bijector.forward` decodes flat standard
  normal latents into images in `[0, 1]` (the latent is scaled by the
  temperature, openai/glow's `eps_std`); the result is clipped to `[0, 1]`.
  A class-conditional model draws column `j` from class `j % num_classes`.
  """
  size = int(tf.reduce_prod(dist.event_shape))
  n = len(temperatures) * num_per_temperature
  z = codec.latents(
      n, size, np.repeat(temperatures, num_per_temperature), seed,
      dist.dtype)
  kwargs = {}
  num_classes = getattr(dist, 'num_classes', None)
  if num_classes:
    kwargs['conditional_input'] = tf.tile(
        tf.range(num_per_temperature) % num_classes, [len(temperatures)])
  images = dist.bijector.forward(tf.identity(z), **kwargs)
  return tf.clip_by_value(images, 0., 1.)

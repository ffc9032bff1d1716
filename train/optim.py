"""Adam and Adamax (openai/glow's default) with a linear learning-rate warm-up."""

import keras
import tensorflow as tf

__all__ = ['WarmUp', 'make_optimizer']


@keras.saving.register_keras_serializable('tfp_glow')
class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
  """`lr(step) = peak * min(1, (step + 1) / warmup_steps)`, then constant.

  openai/glow warms up linearly over its first `epochs_warmup` epochs
  (`lr * min(1, n_processed / (n_train * epochs_warmup))`) and then keeps the
  rate constant; this is the same ramp counted in optimizer steps.
  """

  def __init__(self, peak, warmup_steps):
    self.peak = float(peak)
    self.warmup_steps = int(warmup_steps)

  def __call__(self, step):
    if not self.warmup_steps:
      return tf.constant(self.peak, tf.float32)
    ramp = (tf.cast(step, tf.float32) + 1.) / self.warmup_steps
    return self.peak * tf.minimum(1., ramp)

  def get_config(self):
    return dict(peak=self.peak, warmup_steps=self.warmup_steps)


class _PreReduced:
  """Mixin: gradients arrive already summed over replicas.

  The train step all-reduces the gradients itself, so that the gradient
  norm it logs, clips and checks for NaN is the global one, identical on every
  replica. Keras' TF optimizer would all-reduce them a second time (summing
  `num_replicas` identical copies); this turns that into the identity.
  """

  def _all_reduce_sum_gradients(self, grads_and_vars):
    return list(grads_and_vars)


class Adam(_PreReduced, keras.optimizers.Adam):
  pass


class Adamax(_PreReduced, keras.optimizers.Adamax):
  pass


def make_optimizer(name, learning_rate, warmup_steps):
  """An optimizer for pre-reduced gradients: `'adam'` or `'adamax'`.

  openai/glow's Adamax and Adam use beta1 = 0.9, beta2 = 0.999 (Keras'
  defaults) and epsilon 1e-8 in Adam (`optim.py`); Keras' Adamax epsilon is
  1e-7, openai's 1e-8.
  """
  schedule = WarmUp(learning_rate, warmup_steps)
  if name == 'adam':
    return Adam(schedule, epsilon=1e-8)
  if name == 'adamax':
    return Adamax(schedule, epsilon=1e-8)
  raise ValueError(f'unknown optimizer {name!r}; choose adam or adamax.')

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


def _handle(variable):
  """The resource handle of a `tf.Variable` or a Keras 3 variable (under a
  strategy's `update`, the local replica's)."""
  return variable.handle


class Adam(_PreReduced, keras.optimizers.Adam):
  """Keras' Adam, each update one fused `ResourceApplyAdam` kernel.

  The same update as `keras.optimizers.Adam` (without amsgrad):

    m <- b1 m + (1 - b1) g,    v <- b2 v + (1 - b2) g^2,
    w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps),

  as one op per variable instead of about 40: a Glow has ~50 variables, and
  Keras' per-variable ops were a third of the training graph, of its trace
  time and of its first step.
  """

  def update_step(self, gradient, variable, learning_rate):
    if self.amsgrad:
      return super().update_step(gradient, variable, learning_rate)
    dtype = variable.dtype
    step = tf.cast(self.iterations + 1, dtype)
    index = self._get_variable_index(variable)
    tf.raw_ops.ResourceApplyAdam(
        var=_handle(variable), m=_handle(self._momentums[index]),
        v=_handle(self._velocities[index]),
        beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
        beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
        lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
        beta2=tf.cast(self.beta_2, dtype),
        epsilon=tf.cast(self.epsilon, dtype),
        grad=tf.cast(tf.convert_to_tensor(gradient), dtype))


class Adamax(_PreReduced, keras.optimizers.Adamax):
  """Keras' Adamax, each update one fused `ResourceApplyAdaMax` kernel.

    m <- b1 m + (1 - b1) g,    u <- max(b2 u, |g|),
    w <- w - lr / (1 - b1^t) * m / (u + eps)

  (see `Adam` for why).
  """

  def update_step(self, gradient, variable, learning_rate):
    dtype = variable.dtype
    step = tf.cast(self.iterations + 1, dtype)
    index = self._get_variable_index(variable)
    tf.raw_ops.ResourceApplyAdaMax(
        var=_handle(variable), m=_handle(self._m[index]),
        v=_handle(self._u[index]),
        beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
        lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
        beta2=tf.cast(self.beta_2, dtype),
        epsilon=tf.cast(self.epsilon, dtype),
        grad=tf.cast(tf.convert_to_tensor(gradient), dtype))


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

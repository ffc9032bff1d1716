"""Adam and Adamax (openai/glow's default) with a linear learning-rate warm-up
and an optional cosine decay."""

import math

import keras
import tensorflow as tf

from train import _keras_compat

__all__ = ['WarmUp', 'make_optimizer']


@keras.saving.register_keras_serializable('tfp_glow')
class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
  """A linear warm-up to `peak`, then constant or a cosine decay.

      lr(step) = peak * min(1, (step + 1) / warmup_steps)      step < warmup
      lr(step) = peak                                          decay_steps = 0
      lr(step) = peak * (f + (1 - f) (1 + cos(pi t)) / 2),
                 t = min(1, (step - warmup_steps) / (decay_steps - warmup_steps))

  with `f = final_fraction`. openai/glow warms up linearly over its first
  `epochs_warmup` epochs (`lr * min(1, n_processed / (n_train *
  epochs_warmup))`) and then keeps the rate constant; this is the same ramp
  counted in optimizer steps. `decay_steps` (the run's `--train_steps` with
  `--lr_decay=cosine`) anneals it to `f * peak` at the end of the run.
  """

  def __init__(self, peak, warmup_steps, decay_steps=0, final_fraction=0.):
    self.peak = float(peak)
    self.warmup_steps = int(warmup_steps)
    self.decay_steps = int(decay_steps)
    self.final_fraction = float(final_fraction)
    if self.decay_steps and self.decay_steps <= self.warmup_steps:
      raise ValueError(f'the decay must end after the warm-up: decay_steps '
                       f'{self.decay_steps} <= warmup_steps '
                       f'{self.warmup_steps}.')

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    lr = tf.constant(self.peak, tf.float32)
    if self.decay_steps:
      t = tf.clip_by_value((step - self.warmup_steps) /
                           (self.decay_steps - self.warmup_steps), 0., 1.)
      f = self.final_fraction
      lr *= f + (1. - f) * 0.5 * (1. + tf.cos(math.pi * t))
    if self.warmup_steps:
      lr *= tf.minimum(1., (step + 1.) / self.warmup_steps)
    return lr

  def get_config(self):
    return dict(peak=self.peak, warmup_steps=self.warmup_steps,
                decay_steps=self.decay_steps,
                final_fraction=self.final_fraction)


class _FusedUpdate:
  """Mixin: an update as one fused `ResourceApply*` kernel per variable,
  with the update's scalars (`lr`, the betas, `beta^t`) built once per step.

  Keras calls `update_step` once per variable; each computed its own casts
  and powers (4 casts and 2 `Pow`s per variable, 300 nodes for a Glow).
  Within one `apply` they are the same for every variable of a dtype, so
  they are built once and shared.

  `KERNEL` names the `tf.raw_ops` kernel; the two moments it updates come
  from Keras' private slot lists (`SLOTS`, see `_keras_compat`). Where those
  are gone, the update is Keras' own.
  """

  _shared_scalars = None
  _uses_beta2_power = True

  def apply(self, grads, trainable_variables=None):
    self._shared_scalars = {}
    try:
      return super().apply(grads, trainable_variables)
    finally:
      self._shared_scalars = None

  def update_step(self, gradient, variable, learning_rate):
    kernel = self._fused_kernel()
    moments = _keras_compat.slots(self, variable, self.SLOTS)
    if kernel is None or moments is None:
      return super().update_step(gradient, variable, learning_rate)
    self._apply_fused(kernel, gradient, variable, learning_rate, *moments)

  def _fused_kernel(self):
    return getattr(tf.raw_ops, self.KERNEL)

  def _scalars(self, dtype, learning_rate):
    """`dict(lr, beta1, beta2, epsilon, beta1_power[, beta2_power])`."""
    shared = self._shared_scalars
    if shared is not None and dtype in shared:
      return shared[dtype]
    step = tf.cast(self.iterations + 1, dtype)
    beta1 = tf.cast(self.beta_1, dtype)
    beta2 = tf.cast(self.beta_2, dtype)
    scalars = dict(
        lr=tf.cast(learning_rate, dtype), beta1=beta1, beta2=beta2,
        epsilon=tf.cast(self.epsilon, dtype),
        beta1_power=tf.pow(beta1, step))
    if self._uses_beta2_power:
      scalars['beta2_power'] = tf.pow(beta2, step)
    if shared is not None:
      shared[dtype] = scalars
    return scalars

  def _apply_fused(self, kernel, gradient, variable, learning_rate, m, v):
    """`kernel` (e.g. `tf.raw_ops.ResourceApplyAdam`) on `variable` and its
    two slots `m`, `v`."""
    dtype = variable.dtype
    kernel(var=_handle(variable), m=_handle(m), v=_handle(v),
           grad=tf.cast(tf.convert_to_tensor(gradient), dtype),
           **self._scalars(dtype, learning_rate))


class _AveragesOnRequest:
  """Mixin: the moving averages of `use_ema` go into the weights only when
  the training program says so (`put_averages_in`, see `train.averaging`).

  Keras' `fit` ends by overwriting the weights with their averages
  (`finalize_variable_values`), before the program has checkpointed the raw
  weights that a resumed run trains on from; here that call does nothing.
  """

  def finalize_variable_values(self, var_list):
    del var_list  # See the class docstring.

  def put_averages_in(self, var_list):
    """Overwrites `var_list` with their moving averages (with `use_ema`)."""
    super().finalize_variable_values(var_list)


def _handle(variable):
  """The resource handle of a `tf.Variable` or a Keras 3 variable (under a
  strategy's `update`, the local replica's)."""
  return variable.handle


class Adam(_FusedUpdate, _AveragesOnRequest,
           _keras_compat.PreReducedGradients, keras.optimizers.Adam):
  """Keras' Adam, each update one fused `ResourceApplyAdam` kernel.

  The same update as `keras.optimizers.Adam` (without amsgrad):

    m <- b1 m + (1 - b1) g,    v <- b2 v + (1 - b2) g^2,
    w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps),

  as one op per variable instead of about 40: a Glow has ~50 variables, and
  Keras' per-variable ops were a third of the training graph, of its trace
  time and of its first step.
  """

  KERNEL = 'ResourceApplyAdam'
  SLOTS = _keras_compat.ADAM_SLOTS

  def _fused_kernel(self):
    return None if self.amsgrad else super()._fused_kernel()


class Adamax(_FusedUpdate, _AveragesOnRequest,
             _keras_compat.PreReducedGradients, keras.optimizers.Adamax):
  """Keras' Adamax, each update one fused `ResourceApplyAdaMax` kernel.

    m <- b1 m + (1 - b1) g,    u <- max(b2 u, |g|),
    w <- w - lr / (1 - b1^t) * m / (u + eps)

  (see `Adam` for why).
  """

  KERNEL = 'ResourceApplyAdaMax'
  SLOTS = _keras_compat.ADAMAX_SLOTS
  _uses_beta2_power = False


def make_optimizer(name, learning_rate, warmup_steps, decay_steps=0,
                   ema_momentum=0.):
  """An optimizer for pre-reduced gradients: `'adam'` or `'adamax'`, its
  rate `WarmUp(learning_rate, warmup_steps, decay_steps)`; with
  `ema_momentum > 0` it also keeps a moving average of the weights (Keras'
  `use_ema`; see `train.averaging`).

  openai/glow's Adamax and Adam use beta1 = 0.9, beta2 = 0.999 (Keras'
  defaults) and epsilon 1e-8 in Adam (`optim.py`); Keras' Adamax epsilon is
  1e-7, openai's 1e-8.
  """
  schedule = WarmUp(learning_rate, warmup_steps, decay_steps)
  averaging = dict(use_ema=True, ema_momentum=float(ema_momentum)) if (
      ema_momentum) else {}
  if name == 'adam':
    return Adam(schedule, epsilon=1e-8, **averaging)
  if name == 'adamax':
    return Adamax(schedule, epsilon=1e-8, **averaging)
  raise ValueError(f'unknown optimizer {name!r}; choose adam or adamax.')

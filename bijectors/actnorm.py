"""ActNorm: per-channel affine map with data-dependent initialization."""

import tensorflow as tf

from bijectors import data_init
from bijectors import equality
from bijectors import one_pass

__all__ = ['ActNorm', 'actnorm_backward', 'actnorm_forward',
           'actnorm_inverse', 'fold_into_linear']


class ActNorm(equality.OwnsVariables,
              one_pass.OnePassBijector):
  """Activation normalization, `Y = g(X) = (X + shift) * exp(log_scale)`.

  `shift` and `log_scale` are per-channel vectors of shape `[C]` broadcast
  along the last axis, so `X` may be a vector `[..., C]` or an image
  `[..., H, W, C]`. The log-determinant of the Jacobian per `C`-vector is

    log|det dY/dX| = sum(log_scale),

  and TFP sums it over the remaining event dimensions (for an `[H, W, C]`
  event: `H * W * sum(log_scale)`, the paper's Table 1).

  **Data-dependent initialization** ([1], Section 3.1): while the boolean
  variable `initialized` is False, the first forward pass sets

    shift = -mean(X),   log_scale = -log(std(X) + 1e-6)

  (moments over every axis but the last) so that its output has zero mean and
  unit variance per channel, then flips `initialized`. The flag is a variable,
  so it is saved in checkpoints and a restored model never re-initializes.
  Under a `tf.distribute` strategy the automatic initialization is skipped in
  replica context (each replica would see different data); call
  `initialize(x)` in cross-replica context instead, which writes the same
  values to every replica (`bijectors.data_init`). With
  `data_dependent_init=False` both parameters start at zero (the identity)
  and are only learned; the Glow assembly uses that form for openai/glow's
  learned top prior.

  The map and its hand-written backward pass are the functions
  `actnorm_forward`, `actnorm_inverse` and `actnorm_backward`, which
  `GlowSteps` applies to its stacked parameters.

  #### Examples

  ```python
  actnorm = ActNorm(num_channels=3)
  y = actnorm.forward(images)   # first call initializes: y has unit variance
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  def __init__(self,
               num_channels,
               data_dependent_init=True,
               dtype=tf.float32,
               validate_args=False,
               name=None):
    """Creates an `ActNorm` bijector.

    Args:
      num_channels: Python `int`, the size `C` of the last axis.
      data_dependent_init: Python `bool`; initialize from the first batch.
      dtype: floating dtype of the parameters and inputs.
      validate_args: Python `bool`, check inputs at run time.
      name: Python `str` name.
    """
    parameters = dict(locals())
    with tf.name_scope(name or 'ActNorm') as name:
      if int(num_channels) < 1:
        raise ValueError(f'`num_channels` must be positive, got {num_channels}.')
      self._num_channels = int(num_channels)
      self._data_dependent_init = bool(data_dependent_init)
      self.shift = tf.Variable(
          tf.zeros([num_channels], dtype), name='shift')
      self.log_scale = tf.Variable(
          tf.zeros([num_channels], dtype), name='log_scale')
      self.initialized = tf.Variable(
          not self._data_dependent_init, trainable=False, name='initialized')
      super().__init__(
          forward_min_event_ndims=1,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def num_channels(self):
    return self._num_channels

  @property
  def step_tensors(self):
    """The parameters by the names `GlowSteps` stacks them under."""
    return {'actnorm_shift': self.shift, 'actnorm_log_scale': self.log_scale}

  def initialize(self, x):
    """Sets `shift` and `log_scale` from the moments of `x`; returns them."""
    x = tf.convert_to_tensor(x, self.dtype)
    self._check_channels(x)
    shift, log_scale = data_init.moments_init(x)
    self.shift.assign(shift)
    self.log_scale.assign(log_scale)
    self.initialized.assign(True)
    return shift, log_scale

  def _check_channels(self, x):
    one_pass.check_channels(self.name, x, self._num_channels)

  def _parameters_for(self, x):
    """The (shift, log_scale) to apply to `x`, initializing from it if due."""
    def parameters():
      return tf.identity(self.shift), tf.identity(self.log_scale)
    if not self._data_dependent_init:
      return parameters()
    return data_init.apply_or_initialize(self.initialized, parameters,
                                         lambda: self.initialize(x))

  def _forward_and_log_det(self, x):
    self._check_channels(x)
    shift, log_scale = self._parameters_for(x)
    return actnorm_forward(x, shift, log_scale)

  def _inverse_and_log_det(self, y):
    self._check_channels(y)
    return actnorm_inverse(y, self.shift, tf.convert_to_tensor(self.log_scale))


def actnorm_forward(x, shift, log_scale):
  """`((X + shift) * exp(log_scale), sum(log_scale))`: the output and the
  log-det per channel vector."""
  return (x + shift) * tf.exp(log_scale), tf.reduce_sum(log_scale)


def actnorm_inverse(y, shift, log_scale):
  """`(Y * exp(-log_scale) - shift, -sum(log_scale))`."""
  return y * tf.exp(-log_scale) - shift, -tf.reduce_sum(log_scale)


def actnorm_backward(y, dy, dlog_det, shift, log_scale):
  """Inverts ActNorm and back-propagates through it, from its output.

  With `Y = (X + shift) exp(log_scale)` and the gradient `dlog_det` of the
  per-vector log-det `sum(log_scale)` (summed over pixels and batch):

    X = Y exp(-log_scale) - shift,   dX = dY exp(log_scale),
    dshift = sum dX,   dlog_scale = sum dY * Y + dlog_det,

  the sums over every axis but the channels. Returns
  `(X, dX, dshift, dlog_scale)`.
  """
  x, _ = actnorm_inverse(y, shift, log_scale)
  dx = dy * tf.exp(log_scale)
  axes = list(range(len(y.shape) - 1))
  return (x, dx, tf.reduce_sum(dx, axis=axes),
          tf.reduce_sum(dy * y, axis=axes) + dlog_det)


def fold_into_linear(kernel, shift, log_scale):
  """ActNorm after a linear map, as one linear map with a bias.

  `(X K + shift) exp(log_scale) = X (K exp(log_scale)) + shift
  exp(log_scale)`: returns `(K exp(log_scale), shift exp(log_scale))`, so a
  convolution, its ActNorm and a ReLU run as one fused kernel. `kernel`
  `[..., O]` may have more axes than `shift` and `log_scale` `[..., O]`:
  their leading axes match the kernel's (stacked steps, `[K, ..., O]`
  against `[K, O]`).
  """
  scale = tf.exp(log_scale)
  kernel_scale = scale
  for _ in range(kernel.shape.rank - scale.shape.rank):
    kernel_scale = tf.expand_dims(kernel_scale, -2)
  return kernel * kernel_scale, shift * scale

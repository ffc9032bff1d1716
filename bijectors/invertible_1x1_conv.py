"""Invertible 1x1 convolution: a learned linear mixing of channels."""

import numpy as np
import tensorflow as tf

from bijectors import equality
from bijectors import one_pass

__all__ = ['Invertible1x1Conv', 'lu_init', 'lu_weight', 'random_rotation']

_PARAMETRIZATIONS = ('lu', 'plain')


class Invertible1x1Conv(equality.OwnsVariables,
                        one_pass.OnePassBijector):
  """Invertible 1x1 convolution, `Y = g(X) = X @ W` at every pixel.

  `W` is a `[C, C]` matrix applied to the channel vector of each position (a
  1x1 convolution with `C` filters), so the bijector works on vectors
  `[..., C]` and images `[..., H, W, C]` alike. Per `C`-vector

    log|det dY/dX| = log|det W|,

  which TFP sums over the other event dimensions (`H * W * log|det W|` per
  image, [1] Table 1). `W` starts as a random rotation (`log|det W| = 0`).

  Two parametrisations ([1], Section 3.2):

  * `'lu'`: `W = P L (U + diag(sign_s * exp(log_s)))` with a fixed
    permutation `P`, unit-lower-triangular `L`, strictly upper `U`, fixed
    signs `sign_s` and trainable `log_s`. The log-det is `sum(log_s)`, cheap
    and XLA-compilable; the inverse uses two triangular solves.
  * `'plain'`: `W` is a full trainable matrix. The log-det is
    `slogdet(W)` computed in float64 (as openai/glow), and the inverse uses
    `tf.linalg.inv`. `tf.linalg.slogdet` has no XLA kernel, so a model using
    `'plain'` cannot run under `jit_compile=True`.

  With `validate_args=True`, a singular `W` (zero on the diagonal of the LU
  form, or zero determinant) raises at run time.

  #### Examples

  ```python
  conv = Invertible1x1Conv(num_channels=12, parametrization='lu', seed=0)
  y = conv.forward(x)    # x: [batch, H, W, 12]
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  def __init__(self,
               num_channels,
               parametrization='lu',
               seed=None,
               dtype=tf.float32,
               validate_args=False,
               name=None):
    """Creates an `Invertible1x1Conv` bijector.

    Args:
      num_channels: Python `int`, the number of channels `C`.
      parametrization: `'lu'` or `'plain'`.
      seed: Python `int` seed of the random rotation used at initialization.
      dtype: floating dtype of the parameters and inputs.
      validate_args: Python `bool`, check invertibility at run time.
      name: Python `str` name.
    """
    parameters = dict(locals())
    with tf.name_scope(name or 'Invertible1x1Conv') as name:
      if parametrization not in _PARAMETRIZATIONS:
        raise ValueError(f'`parametrization` must be one of {_PARAMETRIZATIONS}, '
                         f'got {parametrization!r}.')
      if int(num_channels) < 1:
        raise ValueError(f'`num_channels` must be positive, got {num_channels}.')
      self._num_channels = c = int(num_channels)
      self._parametrization = parametrization
      rotation = random_rotation(c, seed)
      if parametrization == 'plain':
        self.weight = tf.Variable(tf.constant(rotation, dtype), name='weight')
      else:
        init = lu_init(rotation)
        self._permutation = tf.constant(init['permutation'], dtype)
        self._sign_s = tf.constant(init['sign_s'], dtype)
        self.lower = tf.Variable(tf.constant(init['lower'], dtype),
                                 name='lower')
        self.upper = tf.Variable(tf.constant(init['upper'], dtype),
                                 name='upper')
        self.log_s = tf.Variable(tf.constant(init['log_s'], dtype),
                                 name='log_s')
      super().__init__(
          forward_min_event_ndims=1,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def parametrization(self):
    return self._parametrization

  def weight_matrix(self):
    """Returns `W`, the `[C, C]` matrix of the forward map `Y = X @ W`."""
    return self._weight()

  def _weight(self, inverse=False):
    """`W`, or `W^-1` with `inverse`."""
    if self._parametrization == 'plain':
      return (tf.linalg.inv(self.weight) if inverse else
              tf.convert_to_tensor(self.weight))
    return lu_weight(self._permutation, self.lower, self.upper,
                     self._sign_s, self.log_s, inverse=inverse)

  def _log_abs_det(self):
    if self._parametrization == 'plain':
      # float64 as openai/glow; slogdet has no XLA kernel.
      _, log_abs_det = tf.linalg.slogdet(tf.cast(self.weight, tf.float64))
      return tf.cast(log_abs_det, self.dtype)
    return tf.reduce_sum(self.log_s)

  def _check_channels(self, x):
    one_pass.check_channels(self.name, x, self._num_channels)

  def _forward_and_log_det(self, x):
    self._check_channels(x)
    return tf.matmul(x, self._weight()), self._log_abs_det()

  def _inverse_and_log_det(self, y):
    self._check_channels(y)
    return tf.matmul(y, self._weight(inverse=True)), -self._log_abs_det()

  def _parameter_control_dependencies(self, is_init):
    if not self.validate_args or is_init:
      return []
    if self._parametrization == 'plain':
      return [tf.debugging.assert_none_equal(
          tf.linalg.det(tf.cast(self.weight, tf.float64)),
          tf.constant(0., tf.float64),
          message='`weight` must be invertible (nonzero determinant).')]
    return [tf.debugging.assert_all_finite(
        self.log_s,
        message='`log_s` must be finite: the LU form of `W` needs a nonzero '
        'diagonal.')]


def random_rotation(c, seed):
  """A random orthogonal `[c, c]` matrix (QR of a Gaussian), as openai/glow."""
  rng = np.random.default_rng(seed)
  q, _ = np.linalg.qr(rng.standard_normal([c, c]))
  return q


def lu_init(w):
  """The LU parameters of `w`: permutation, lower, upper, sign_s, log_s."""
  permutation, lower, upper = _lu_decompose(w)
  s = np.diag(upper)
  return dict(permutation=permutation, lower=lower, upper=np.triu(upper, 1),
              sign_s=np.sign(s), log_s=np.log(np.abs(s)))


def lu_weight(permutation, lower, upper, sign_s, log_s, inverse=False):
  """`W` (or `W^-1` with `inverse`) from LU parameters (any leading axes).

  `W = P (L * mask_lower + I) (U * mask_upper + diag(sign_s * exp(log_s)))`,
  and `W^-1 = U^-1 L^-1 P^T` by two triangular solves (XLA-compilable); only
  the matrix asked for is computed.
  """
  c = log_s.shape[-1]
  dtype = log_s.dtype
  eye = tf.eye(c, dtype=dtype)
  lower = tf.linalg.band_part(lower, -1, 0) * (1. - eye) + eye
  upper = (tf.linalg.band_part(upper, 0, -1) * (1. - eye) +
           tf.linalg.diag(sign_s * tf.exp(log_s)))
  if not inverse:
    return tf.matmul(permutation, tf.matmul(lower, upper))
  eye = tf.broadcast_to(eye, tf.shape(lower))
  lower_inv = tf.linalg.triangular_solve(lower, eye, lower=True)
  return tf.matmul(tf.linalg.triangular_solve(upper, lower_inv, lower=False),
                   permutation, transpose_b=True)


def _lu_decompose(w):
  """Returns `(P, L, U)` with `w = P @ L @ U`, L unit-lower, by partial pivoting."""
  c = w.shape[0]
  u = np.array(w, dtype=np.float64)
  lower = np.eye(c)
  perm = np.arange(c)
  for k in range(c):
    pivot = k + int(np.argmax(np.abs(u[k:, k])))
    if pivot != k:
      u[[k, pivot]] = u[[pivot, k]]
      lower[[k, pivot], :k] = lower[[pivot, k], :k]
      perm[[k, pivot]] = perm[[pivot, k]]
    for i in range(k + 1, c):
      lower[i, k] = u[i, k] / u[k, k]
      u[i, k:] -= lower[i, k] * u[k, k:]
  # Rows of `w` were permuted: w[perm] = L @ U, so w = P @ L @ U with
  # P[perm[i], i] = 1.
  p = np.zeros([c, c])
  p[perm, np.arange(c)] = 1.
  return p, lower, np.triu(u)

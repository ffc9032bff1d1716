"""Affine and additive coupling layers."""

import tensorflow as tf

from bijectors import coupling_network
from bijectors import equality
from bijectors import one_pass

__all__ = ['AffineCoupling', 'coupling_backward', 'coupling_forward',
           'coupling_inverse']

_KINDS = ('affine', 'additive')


class AffineCoupling(equality.OwnsVariables,
                     one_pass.OnePassBijector):
  """Coupling layer on images `[..., H, W, C]`, split along channels.

  With `X = [X_a, X_b]` (the first `C // 2` channels and the rest) and
  `h = NN(X_a)`:

  * `'affine'` ([1] Section 3.3, openai/glow):
    `shift = h[..., 0::2]`, `scale = sigmoid(h[..., 1::2] + 2)`,

      Y_a = X_a,   Y_b = (X_b + shift) * scale,
      log|det dY/dX| = sum(log(scale)).

    The `+ 2` makes the initial scale `sigmoid(2) ~ 0.88` and the sigmoid
    keeps it in (0, 1), openai/glow's choice for stable training (the paper
    writes `exp`).
  * `'additive'` (NICE, [2]): `Y_b = X_b + h`, log-det 0.

  `NN` is a `CouplingNetwork` whose last layer is zero-initialised, so the
  layer starts as `Y_b = X_b * sigmoid(2)` (affine) or the identity
  (additive). The network runs once per `forward`/`inverse` call: the log-det
  is computed in the same pass and served from TFP's bijector cache.

  #### Examples

  ```python
  coupling = AffineCoupling(num_channels=12, hidden_channels=512)
  y = coupling.forward(x)   # x: [batch, H, W, 12]
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  [2]: Laurent Dinh, David Krueger, Yoshua Bengio. NICE: Non-linear
       Independent Components Estimation. arXiv 1410.8516.
  """

  def __init__(self,
               num_channels,
               hidden_channels=512,
               kind='affine',
               hidden_actnorm=True,
               network=None,
               seed=None,
               dtype=tf.float32,
               validate_args=False,
               name=None):
    """Creates an `AffineCoupling` bijector.

    Args:
      num_channels: Python `int`, channels `C >= 2` of the input.
      hidden_channels: width of the default network.
      kind: `'affine'` or `'additive'`.
      hidden_actnorm: ActNorm in the default network's hidden layers.
      network: optional callable `X_a -> h` replacing the default network; it
        must return `2 * (C - C // 2)` channels for `'affine'` and
        `C - C // 2` for `'additive'`.
      seed: Python `int` seed for the default network.
      dtype: floating dtype.
      validate_args: Python `bool`, check inputs at run time.
      name: Python `str` name.
    """
    parameters = dict(locals())
    with tf.name_scope(name or 'AffineCoupling') as name:
      if kind not in _KINDS:
        raise ValueError(f'`kind` must be one of {_KINDS}, got {kind!r}.')
      if int(num_channels) < 2:
        raise ValueError(
            f'`num_channels` must be at least 2 to split, got {num_channels}.')
      self._num_channels = int(num_channels)
      self._kind = kind
      self._split = self._num_channels // 2
      out_channels = self._num_channels - self._split
      if kind == 'affine':
        out_channels *= 2
      self.network = network or coupling_network.CouplingNetwork(
          self._split, out_channels, hidden_channels=hidden_channels,
          hidden_actnorm=hidden_actnorm, seed=seed, dtype=dtype,
          name='network')
      super().__init__(
          forward_min_event_ndims=3,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def kind(self):
    return self._kind

  def _check_shape(self, x):
    one_pass.check_channels(self.name, x, self._num_channels, image=True)

  def _forward_and_log_det(self, x):
    self._check_shape(x)
    x_a, x_b = one_pass.split_channels(x, self._split)
    y_b, fldj = coupling_forward(x_b, self.network(x_a), self._kind)
    return tf.concat([x_a, y_b], axis=-1), fldj

  def _inverse_and_log_det(self, y):
    self._check_shape(y)
    y_a, y_b = one_pass.split_channels(y, self._split)
    x_b, ildj = coupling_inverse(y_b, self.network(y_a), self._kind)
    return tf.concat([y_a, x_b], axis=-1), ildj


def coupling_backward(y_b, h, dy_b, dlog_det, kind):
  """Inverts the coupling and back-propagates through it, by hand.

  For `Y_b = (X_b + t) * s` with `t = h[..., 0::2]`, `s = sigmoid(r)`,
  `r = h[..., 1::2] + 2` and `log|det| = sum log s` (affine), given the
  output gradients `dY_b` and `dlog_det` (one per batch member):

    X_b  = Y_b / s - t
    dX_b = dY_b * s,    dt = dX_b,
    dr   = dY_b * (X_b + t) * s (1 - s) + dlog_det (1 - s)
         = (1 - s) (dY_b * Y_b + dlog_det),

  and `dh` interleaves `dt` and `dr` as `h` does. For the additive coupling
  (`Y_b = X_b + h`), `dX_b = dh = dY_b`. Returns `(X_b, dX_b, dh)`.
  """
  if kind == 'additive':
    return y_b - h, dy_b, dy_b
  shift, log_scale = _shift_and_log_scale(h, kind)
  x_b = y_b * tf.exp(-log_scale) - shift
  scale = tf.exp(log_scale)
  dx_b = dy_b * scale
  dlog_det = tf.reshape(dlog_det, tf.concat(
      [tf.shape(dlog_det), [1, 1, 1]], axis=0))
  draw = (1. - scale) * (dy_b * y_b + dlog_det)
  dh = tf.reshape(tf.stack([dx_b, draw], axis=-1), tf.shape(h))
  return x_b, dx_b, dh


def _shift_and_log_scale(h, kind):
  if kind == 'additive':
    return h, None
  # openai/glow: scale = sigmoid(h + 2); log(sigmoid(a)) = -softplus(-a).
  shift, raw_scale = one_pass.deinterleave(h)
  return shift, tf.math.log_sigmoid(raw_scale + 2.)


def coupling_forward(x_b, h, kind):
  """`(Y_b, log|det|)` of the coupling given the network output `h`."""
  shift, log_scale = _shift_and_log_scale(h, kind)
  if log_scale is None:
    return x_b + shift, tf.zeros(tf.shape(x_b)[:-3], x_b.dtype)
  return ((x_b + shift) * tf.exp(log_scale),
          tf.reduce_sum(log_scale, axis=[-3, -2, -1]))


def coupling_inverse(y_b, h, kind):
  """`(X_b, log|det dX/dY|)` of the coupling given the network output `h`."""
  shift, log_scale = _shift_and_log_scale(h, kind)
  if log_scale is None:
    return y_b - shift, tf.zeros(tf.shape(y_b)[:-3], y_b.dtype)
  return (y_b * tf.exp(-log_scale) - shift,
          -tf.reduce_sum(log_scale, axis=[-3, -2, -1]))

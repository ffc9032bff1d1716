"""Coupling layers: `AffineCoupling`, and the affine and additive maps."""

import tensorflow as tf

from bijectors import coupling_network
from bijectors import couplings
from bijectors import equality
from bijectors import one_pass

__all__ = ['AdditiveTransform', 'AffineCoupling', 'AffineTransform']


class AffineCoupling(equality.OwnsVariables,
                     one_pass.OnePassBijector):
  """Coupling layer on images `[..., H, W, C]`, split along channels.

  With `X = [X_a, X_b]` (the first `C // 2` channels and the rest) and
  `h = NN(X_a)`, `Y = [X_a, f(X_b; h)]` where the map `f` is a
  `bijectors.couplings.CouplingTransform`, by name:

  * `'affine'` (`AffineTransform`, [1] Section 3.3, openai/glow);
  * `'additive'` (`AdditiveTransform`, NICE [2]);
  * any transform registered with `register_coupling`.

  `NN` is a `CouplingNetwork` (openai/glow's network; its hidden ActNorms
  initialize from the first batch) whose last layer is zero-initialised, so
  the layer starts as `Y_b = X_b * sigmoid(2)` (affine) or the identity
  (additive). The network runs once per `forward`/`inverse` call: the
  log-det is computed in the same pass and served from TFP's bijector cache.
  `GlowSteps` runs the same network and map on its stacked parameters.

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
               compute_dtype=None,
               seed=None,
               initial_values=None,
               dtype=tf.float32,
               validate_args=False,
               name=None):
    """Creates an `AffineCoupling` bijector.

    Args:
      num_channels: Python `int`, channels `C >= 2` of the input.
      hidden_channels: width of the default network.
      kind: a registered coupling's name (`'affine'`, `'additive'`, ...) or a
        `CouplingTransform`.
      hidden_actnorm: ActNorm in the default network's hidden layers.
      network: optional callable `X_a -> h` replacing the default network; it
        must return `transform.network_channels(C - C // 2)` channels.
      compute_dtype: dtype of the default network's convolutions.
      seed: Python `int` seed for the default network.
      initial_values: optional dict of the default network's values.
      dtype: floating dtype.
      validate_args: Python `bool`, check inputs at run time.
      name: Python `str` name.
    """
    parameters = dict(locals())
    with tf.name_scope(name or 'AffineCoupling') as name:
      self._transform = couplings.get_coupling(kind)
      if int(num_channels) < 2:
        raise ValueError(
            f'`num_channels` must be at least 2 to split, got {num_channels}.')
      self._num_channels = int(num_channels)
      self._split = self._num_channels // 2
      out_channels = self._transform.network_channels(
          self._num_channels - self._split)
      self.network = network or coupling_network.CouplingNetwork(
          self._split, out_channels, hidden_channels=hidden_channels,
          hidden_actnorm=hidden_actnorm, compute_dtype=compute_dtype,
          seed=seed, initial_values=initial_values, dtype=dtype,
          name='network')
      super().__init__(
          forward_min_event_ndims=3,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def kind(self):
    return self._transform.name

  @property
  def transform(self):
    """The `CouplingTransform` applied to the second half."""
    return self._transform

  @property
  def step_tensors(self):
    """The default network's variables, by the names `GlowSteps` stacks
    them under."""
    return dict(getattr(self.network, 'parameters', {}))

  def _check_shape(self, x):
    one_pass.check_channels(self.name, x, self._num_channels, image=True)

  def _forward_and_log_det(self, x):
    self._check_shape(x)
    flat, unflatten = one_pass.flatten_batch(x)
    x_a, x_b = one_pass.split_channels(flat, self._split)
    y_b, log_det = self._transform.forward(x_b, self.network(x_a))
    return unflatten(tf.concat([x_a, y_b], axis=-1), log_det)

  def _inverse_and_log_det(self, y):
    self._check_shape(y)
    flat, unflatten = one_pass.flatten_batch(y)
    y_a, y_b = one_pass.split_channels(flat, self._split)
    x_b, log_det = self._transform.inverse(y_b, self.network(y_a))
    return unflatten(tf.concat([y_a, x_b], axis=-1), log_det)


class AffineTransform(couplings.CouplingTransform):
  """`'affine'`: with `shift = h[..., 0::2]`, `scale = sigmoid(h[..., 1::2]
  + 2)`,

    Y_b = (X_b + shift) * scale,   log|det| = sum(log(scale)).

  The `+ 2` makes the initial scale `sigmoid(2) ~ 0.88` and the sigmoid
  keeps it in (0, 1), openai/glow's choice for stable training (the paper
  writes `exp`)."""

  name = 'affine'

  def network_channels(self, num_channels):
    return 2 * num_channels

  def _shift_and_log_scale(self, h):
    # log(sigmoid(a)) = -softplus(-a).
    shift, raw_scale = one_pass.deinterleave(h)
    return shift, tf.math.log_sigmoid(raw_scale + 2.)

  def forward(self, x_b, h):
    shift, log_scale = self._shift_and_log_scale(h)
    return ((x_b + shift) * tf.exp(log_scale),
            tf.reduce_sum(log_scale, axis=[-3, -2, -1]))

  def inverse(self, y_b, h):
    shift, log_scale = self._shift_and_log_scale(h)
    return (y_b * tf.exp(-log_scale) - shift,
            -tf.reduce_sum(log_scale, axis=[-3, -2, -1]))

  def backward(self, y_b, h, dy_b, dlog_det):
    """Inverts the map and back-propagates through it, by hand.

    For `Y_b = (X_b + t) * s` with `t = h[..., 0::2]`, `s = sigmoid(r)`,
    `r = h[..., 1::2] + 2` and `log|det| = sum log s`, given the output
    gradients `dY_b` and `dlog_det` (one per batch member):

      X_b  = Y_b / s - t
      dX_b = dY_b * s,    dt = dX_b,
      dr   = dY_b * (X_b + t) * s (1 - s) + dlog_det (1 - s)
           = (1 - s) (dY_b * Y_b + dlog_det),

    and `dh` interleaves `dt` and `dr` as `h` does.
    """
    shift, log_scale = self._shift_and_log_scale(h)
    x_b = y_b * tf.exp(-log_scale) - shift
    scale = tf.exp(log_scale)
    dx_b = dy_b * scale
    dlog_det = tf.reshape(dlog_det, tf.concat(
        [tf.shape(dlog_det), [1, 1, 1]], axis=0))
    draw = (1. - scale) * (dy_b * y_b + dlog_det)
    dh = tf.reshape(tf.stack([dx_b, draw], axis=-1), tf.shape(h))
    return x_b, dx_b, dh


class AdditiveTransform(couplings.CouplingTransform):
  """`'additive'` (NICE): `Y_b = X_b + h`, log-det 0; backward `dX_b = dh
  = dY_b`."""

  name = 'additive'

  def network_channels(self, num_channels):
    return num_channels

  def forward(self, x_b, h):
    return x_b + h, tf.zeros(tf.shape(x_b)[:-3], x_b.dtype)

  def inverse(self, y_b, h):
    return y_b - h, tf.zeros(tf.shape(y_b)[:-3], y_b.dtype)

  def backward(self, y_b, h, dy_b, dlog_det):
    del dlog_det
    return y_b - h, dy_b, dy_b


couplings.register_coupling(AffineTransform())
couplings.register_coupling(AdditiveTransform())

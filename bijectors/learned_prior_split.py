"""The split prior of multi-scale Glow, written as a bijector."""

import tensorflow as tf

from bijectors import conv
from bijectors import equality
from bijectors import one_pass

__all__ = ['LearnedPriorSplit']


class LearnedPriorSplit(equality.OwnsVariables,
                        one_pass.OnePassBijector):
  """Whitens the factored-out half of an image under its learned prior.

  Multi-scale Glow ([1] Section 3, openai/glow's `split2d`) splits
  `X = [X_a, X_b]` along channels (the first `C // 2` channels and the rest),
  keeps transforming `X_a` and models the factored-out `X_b` with a
  conditional Gaussian prior `N(mu(X_a), diag(exp(logs(X_a)))^2)`, where
  `[mu, logs]` interleaved is a zero-initialised 3x3 convolution of `X_a`.

  Written as a bijector onto a standard normal, the prior becomes

    Y_a = X_a,   Y_b = (X_b - mu(X_a)) * exp(-logs(X_a)),
    log|det dY/dX| = -sum(logs(X_a)),

  and `log N(Y_b; 0, I) + log|det|` equals the prior's log-density of `X_b`,
  so the whole model stays one bijector over a standard normal. `Y_b` is the
  level's latent `eps` (openai/glow's `get_eps`); the inverse draws
  `X_b = mu + exp(logs) * Y_b` (`sample2`, with `eps_std` applied upstream to
  `Y_b`). At initialization the prior is N(0, I) and the bijector the
  identity.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  def __init__(self, num_channels, dtype=tf.float32, validate_args=False,
               name=None):
    """Creates a `LearnedPriorSplit` for images with `num_channels >= 2`."""
    parameters = dict(locals())
    with tf.name_scope(name or 'LearnedPriorSplit') as name:
      if int(num_channels) < 2:
        raise ValueError(
            f'`num_channels` must be at least 2 to split, got {num_channels}.')
      self._num_channels = int(num_channels)
      self._split = self._num_channels // 2
      self.prior_network = conv.ZeroConv2D(
          self._split, 2 * (self._num_channels - self._split), 3, dtype=dtype,
          name='prior')
      super().__init__(
          forward_min_event_ndims=3,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def num_kept_channels(self):
    """Channels `C // 2` of `X_a`, the half that continues through the flow."""
    return self._split

  def _check_shape(self, x):
    one_pass.check_channels(self.name, x, self._num_channels, image=True)

  def _prior(self, x_a):
    h = self.prior_network(x_a)
    # openai/glow: mean, logs interleaved.
    return one_pass.deinterleave(h)

  def _forward_and_log_det(self, x):
    self._check_shape(x)
    x_a, x_b = one_pass.split_channels(x, self._split)
    mean, logs = self._prior(x_a)
    y_b = (x_b - mean) * tf.exp(-logs)
    return (tf.concat([x_a, y_b], axis=-1),
            -tf.reduce_sum(logs, axis=[-3, -2, -1]))

  def _inverse_and_log_det(self, y):
    self._check_shape(y)
    y_a, y_b = one_pass.split_channels(y, self._split)
    mean, logs = self._prior(y_a)
    x_b = mean + tf.exp(logs) * y_b
    return (tf.concat([y_a, x_b], axis=-1),
            tf.reduce_sum(logs, axis=[-3, -2, -1]))

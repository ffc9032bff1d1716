"""Class conditioning: a label-dependent prior and a chain that routes labels."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from bijectors import equality
from bijectors import one_pass

__all__ = ['ClassConditionalPrior', 'ConditionalChain', 'CONDITIONAL_INPUT']

# The bijector keyword that carries the labels, as in TFP's conditional
# bijectors: `dist.log_prob(x, bijector_kwargs={'conditional_input': y})`.
CONDITIONAL_INPUT = 'conditional_input'


class ClassConditionalPrior(equality.OwnsVariables,
                            one_pass.OnePassBijector):
  """Whitens an image under a class-conditional Gaussian prior.

  openai/glow's `--ycond` top prior: per-channel `[mean, logs]` (both length
  `C`) is a learned vector (openai's `--learntop`) plus a zero-initialised
  linear map of the one-hot label,

    [mean, logs] = b + onehot(y) @ W,
    Y = (X - mean) * exp(-logs),   log|det dY/dX| = -H W sum(logs),

  so `N(Y; 0, I)` times the Jacobian is the prior density of `X` given `y`.
  The label comes as the keyword `conditional_input`: int class ids of the
  batch shape, or probabilities `[..., num_classes]` (a one-hot or soft
  label). At initialization the prior is N(0, I) for every class.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  accepts_conditional_input = True

  def __init__(self, num_channels, num_classes, dtype=tf.float32,
               validate_args=False, name=None):
    parameters = dict(locals())
    with tf.name_scope(name or 'ClassConditionalPrior') as name:
      if int(num_classes) < 2:
        raise ValueError(f'`num_classes` must be >= 2, got {num_classes}.')
      self._num_channels, self._num_classes = int(num_channels), int(
          num_classes)
      self.bias = tf.Variable(tf.zeros([2 * num_channels], dtype), name='bias')
      self.label_weights = tf.Variable(
          tf.zeros([num_classes, 2 * num_channels], dtype),
          name='label_weights')
      super().__init__(
          forward_min_event_ndims=3,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def num_classes(self):
    return self._num_classes

  def _one_hot(self, labels):
    if labels is None:
      raise ValueError(
          f'{self.name}: this Glow is class-conditional; pass the labels, e.g. '
          "`dist.log_prob(x, bijector_kwargs={'conditional_input': y})` or "
          "`dist.sample(n, bijector_kwargs={'conditional_input': y})`.")
    labels = tf.convert_to_tensor(labels)
    if labels.dtype.is_integer:
      return tf.one_hot(labels, self._num_classes, dtype=self.dtype)
    if labels.shape[-1] is not None and labels.shape[-1] != self._num_classes:
      raise ValueError(
          f'{self.name}: expected int labels or probabilities '
          f'[..., {self._num_classes}], got shape {labels.shape}.')
    return tf.cast(labels, self.dtype)

  def _mean_and_logs(self, labels):
    h = self.bias + tf.matmul(self._one_hot(labels), self.label_weights)
    h = h[..., tf.newaxis, tf.newaxis, :]  # broadcast over H, W
    return one_pass.split_channels(h, self._num_channels)

  def _forward_and_log_det(self, x, conditional_input=None):
    one_pass.check_channels(self.name, x, self._num_channels, image=True)
    mean, logs = self._mean_and_logs(conditional_input)
    pixels = tf.cast(tf.reduce_prod(tf.shape(x)[-3:-1]), x.dtype)
    y = (x - mean) * tf.exp(-logs)
    return y, -pixels * tf.reduce_sum(logs, axis=[-3, -2, -1]) + tf.zeros(
        tf.shape(x)[:-3], x.dtype)

  def _inverse_and_log_det(self, y, conditional_input=None):
    one_pass.check_channels(self.name, y, self._num_channels, image=True)
    mean, logs = self._mean_and_logs(conditional_input)
    pixels = tf.cast(tf.reduce_prod(tf.shape(y)[-3:-1]), y.dtype)
    x = mean + tf.exp(logs) * y
    return x, pixels * tf.reduce_sum(logs, axis=[-3, -2, -1]) + tf.zeros(
        tf.shape(y)[:-3], y.dtype)


class ConditionalChain(equality.HashOnce, tfb.Composition):
  """A `tfb.Chain` that hands `conditional_input` to every bijector taking it.

  `tfb.Chain` routes keyword arguments by sub-bijector name; a label has to
  reach a prior nested several chains deep, so this chain passes the
  `conditional_input` keyword to each member with
  `accepts_conditional_input = True` (and keeps routing other keywords by
  name). Like `tfb.Chain`, the last bijector of `bijectors` applies first.

  A `tfb.Composition` (the public base of `tfb.Chain`, whose subclasses
  define the walks): subclasses of `tfb.Chain` itself become
  `AutoCompositeTensor`s, which our variable-owning bijectors cannot be.
  """

  accepts_conditional_input = True

  def __init__(self, bijectors, validate_args=False, name=None):
    parameters = dict(locals())
    bijectors = list(bijectors)
    name = name or '_of_'.join(['chain'] + [b.name for b in bijectors])
    with tf.name_scope(name.replace('/', '')) as name:
      super().__init__(
          bijectors=bijectors,
          # Inferred by walking the chain, as `tfb.Chain` does.
          forward_min_event_ndims=None if bijectors else 0,
          inverse_min_event_ndims=None if bijectors else 0,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  def _route(self, bijector, kwargs):
    routed = dict(kwargs.get(bijector.name, {}))
    if (CONDITIONAL_INPUT in kwargs and
        getattr(bijector, 'accepts_conditional_input', False)):
      routed[CONDITIONAL_INPUT] = kwargs[CONDITIONAL_INPUT]
    return routed

  def _walk_forward(self, step_fn, x, **kwargs):
    for bijector in reversed(self.bijectors):
      x = step_fn(bijector, x, **self._route(bijector, kwargs))
    return x

  def _walk_inverse(self, step_fn, y, **kwargs):
    for bijector in self.bijectors:
      y = step_fn(bijector, y, **self._route(bijector, kwargs))
    return y

"""Base class for bijectors whose output and log-det share one computation."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from bijectors import _tfp_compat

__all__ = ['OnePassBijector', 'check_channels', 'deinterleave',
           'event_shape_of', 'flatten_batch', 'override_values',
           'shape_with_last', 'split_channels']


class OnePassBijector(tfb.Bijector):
  """A `Bijector` that computes `y` and `log|det dy/dx|` in one pass.

  TFP asks a bijector for `forward(x)` and `forward_log_det_jacobian(x)` in two
  separate calls (`TransformedDistribution.log_prob` calls `inverse` and then
  `inverse_log_det_jacobian`). For a coupling layer both need the same network
  output, so computing them separately runs the network twice. Subclasses
  implement

    _forward_and_log_det(x) -> (y, fldj)
    _inverse_and_log_det(y) -> (x, ildj)

  with the log-det unreduced over `forward_min_event_ndims` (shape: the batch
  shape of `x`). `_forward`/`_inverse` store that log-det in the bijector
  cache's attributes for the `(x, y)` pair, where TFP's
  `_call_forward_log_det_jacobian`/`_call_inverse_log_det_jacobian` find it, so
  the later log-det call costs nothing. A log-det requested on its own still
  works: it runs the pass through the cache, so the output is not computed
  again either. (The cache is private to TFP: see `_tfp_compat`; without it
  each log-det call runs a pass of its own.)
  """

  def _forward_and_log_det(self, x, **kwargs):
    raise NotImplementedError

  def _inverse_and_log_det(self, y, **kwargs):
    raise NotImplementedError

  def _forward(self, x, **kwargs):
    y, fldj = self._forward_and_log_det(x, **kwargs)
    _tfp_compat.remember_ildj(self, 'forward', x, kwargs, -fldj)
    return y

  def _inverse(self, y, **kwargs):
    x, ildj = self._inverse_and_log_det(y, **kwargs)
    _tfp_compat.remember_ildj(self, 'inverse', y, kwargs, ildj)
    return x

  def _forward_log_det_jacobian(self, x, **kwargs):
    return -self._ildj_of_pass('forward', x, kwargs)

  def _inverse_log_det_jacobian(self, y, **kwargs):
    return self._ildj_of_pass('inverse', y, kwargs)

  def _ildj_of_pass(self, direction, value, kwargs):
    """The ildj of the pass in `direction` on `value`."""
    if _tfp_compat.bijector_cache_works():
      # Through the public, cached `forward`/`inverse`: the pass records its
      # log-det in the cache, and a later `forward(x)` (TFP's Chain asks for
      # the log-det first) is then a cache hit instead of a second pass.
      getattr(self, direction)(value, **kwargs)
      ildj = _tfp_compat.remembered_ildj(self, direction, value, kwargs)
      if ildj is not None:
        return ildj
    if direction == 'forward':
      return -self._forward_and_log_det(value, **kwargs)[1]
    return self._inverse_and_log_det(value, **kwargs)[1]

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    # Parameters are variables owned by the bijector, with no batch shape.
    return dict()


def check_channels(name, x, num_channels, image=False):
  """Raises `ValueError` unless `x` is `[..., C]` with `C = num_channels`.

  With `image=True`, `x` must also be an image batch `[..., H, W, C]`.
  Checks the static shape, so a mismatch fails at trace time.
  """
  if image and x.shape.rank is not None and x.shape.rank < 3:
    raise ValueError(f'{name}: expected images [..., H, W, C], got shape '
                     f'{x.shape}.')
  if x.shape[-1] is not None and x.shape[-1] != num_channels:
    raise ValueError(f'{name}: expected {num_channels} channels in the last '
                     f'axis, got input of shape {x.shape}.')


def event_shape_of(x, ndims=3):
  """Returns the last `ndims` dimensions of `x` as a static list where known."""
  static = x.shape[-ndims:]
  dynamic = tf.shape(x)[-ndims:]
  return [s if s is not None else dynamic[i] for i, s in enumerate(static)]


def flatten_batch(x):
  """`x` `[..., H, W, C]` as `[N, H, W, C]`, and the function that puts an
  output and its per-image log-det back: `unflatten(y, log_det)` returns
  `y` `[..., H, W, C']` and `log_det` `[...]`."""
  if x.shape.rank == 4:
    return x, lambda y, log_det: (y, log_det)
  shape = tf.shape(x)
  flat = tf.reshape(x, tf.concat([[-1], shape[-3:]], axis=0))

  def unflatten(y, log_det):
    return (tf.reshape(y, tf.concat([shape[:-1], tf.shape(y)[-1:]], axis=0)),
            tf.reshape(log_det, shape[:-3]))

  return flat, unflatten


def override_values(owner, defaults, given):
  """`defaults` (initial values by name) with those `given` replacing
  them; raises `ValueError` naming any given name `owner` does not have."""
  given = dict(given or {})
  unknown = set(given) - set(defaults)
  if unknown:
    raise ValueError(f'{owner}: unknown initial values {sorted(unknown)}; '
                     f'it has {sorted(defaults)}.')
  return {**defaults, **given}


def split_channels(x, first):
  """`(x[..., :first], x[..., first:])`, as one `tf.split` where `C` is known.

  One op instead of two slices, and its gradient is a concatenation instead
  of two `StridedSliceGrad`s (slow kernels, and four constants each).
  """
  c = x.shape[-1]
  if c is None:
    return x[..., :first], x[..., first:]
  return tuple(tf.split(x, [first, c - first], axis=-1))


def deinterleave(h):
  """`(h[..., 0::2], h[..., 1::2])` as a reshape to `[..., C / 2, 2]` and an
  unstack (whose gradient is a stack, not a `StridedSliceGrad`)."""
  c = h.shape[-1]
  if c is None or c % 2:
    return h[..., 0::2], h[..., 1::2]
  return tuple(tf.unstack(tf.reshape(h, shape_with_last(h, [c // 2, 2])),
                          axis=-1))


def shape_with_last(x, dims):
  """The shape of `x` with its last axis replaced by `dims` (ints), for a
  `tf.reshape`: a list (one constant) where the other axes are static, else
  a shape tensor."""
  if x.shape[:-1].is_fully_defined():
    return x.shape[:-1].as_list() + list(dims)
  return tf.concat([tf.shape(x)[:-1], dims], axis=0)

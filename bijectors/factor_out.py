"""Multi-scale factoring: keep transforming half the channels, set aside the rest."""

import numpy as np
import tensorflow as tf

from bijectors import equality
from bijectors import one_pass

__all__ = ['FactorOut']


class FactorOut(equality.HashOnce, one_pass.OnePassBijector):
  """Maps an image `[..., H, W, C]` to a flat latent `[..., H * W * C]`.

  With `X = [X_a, X_b]` split along channels (the first `C // 2` channels and
  the rest) and `inner` a bijector from `[H, W, C // 2]` images to flat
  vectors of the same size,

    Y = concat([flatten(X_b), inner(X_a)]),
    log|det dY/dX| = log|det d inner(X_a) / dX_a|.

  This is the multi-scale architecture of Real NVP [2] and Glow [1]: `X_b` is
  factored out at this scale (usually already whitened by a
  `LearnedPriorSplit`), `X_a` goes on through `inner`, which may itself end in
  a `FactorOut`. The flat latent therefore lists the levels in order: this
  level's `X_b` first, then everything `inner` produced.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  [2]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. ICLR 2017. arXiv 1605.08803.
  """

  def __init__(self, inner, image_shape, validate_args=False, name=None):
    """Creates a `FactorOut`.

    Args:
      inner: bijector from `[H, W, C // 2]` images to flat `[H * W * (C // 2)]`
        vectors.
      image_shape: the static event shape `[H, W, C]` of the input, `C >= 2`.
      validate_args: Python `bool`, check inputs at run time.
      name: Python `str` name.
    """
    parameters = dict(locals())
    with tf.name_scope(name or 'FactorOut') as name:
      image_shape = [int(d) for d in image_shape]
      if len(image_shape) != 3 or image_shape[-1] < 2:
        raise ValueError('`image_shape` must be [H, W, C] with C >= 2, got '
                         f'{image_shape}.')
      self._image_shape = image_shape
      h, w, c = image_shape
      self._split = c // 2
      self._factored_shape = [h, w, c - self._split]
      self._factored_size = int(np.prod(self._factored_shape))
      self._inner = inner
      super().__init__(
          forward_min_event_ndims=3,
          inverse_min_event_ndims=1,
          dtype=inner.dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def inner(self):
    return self._inner

  @property
  def image_shape(self):
    return list(self._image_shape)

  def _check_image(self, x):
    event = x.shape[-3:]
    if x.shape.rank is not None and (
        x.shape.rank < 3 or
        not event.is_compatible_with(self._image_shape)):
      raise ValueError(f'{self.name}: expected images [..., '
                       f'{", ".join(map(str, self._image_shape))}], got '
                       f'shape {x.shape}.')

  # The labels of a class-conditional model pass through to `inner`.
  accepts_conditional_input = True

  def _forward_and_log_det(self, x, **kwargs):
    self._check_image(x)
    batch_shape = tf.shape(x)[:-3]
    x_a, x_b = one_pass.split_channels(x, self._split)
    y_a = self._inner.forward(x_a, **kwargs)
    fldj = self._inner.forward_log_det_jacobian(x_a, event_ndims=3, **kwargs)
    y_b = tf.reshape(x_b, tf.concat([batch_shape, [-1]], axis=0))
    return tf.concat([y_b, y_a], axis=-1), fldj

  def _inverse_and_log_det(self, y, **kwargs):
    if y.shape[-1] is not None and y.shape[-1] != int(
        np.prod(self._image_shape)):
      raise ValueError(f'{self.name}: expected flat latents [..., '
                       f'{int(np.prod(self._image_shape))}], got shape '
                       f'{y.shape}.')
    batch_shape = tf.shape(y)[:-1]
    y_b, y_a = one_pass.split_channels(y, self._factored_size)
    x_a = self._inner.inverse(y_a, **kwargs)
    ildj = self._inner.inverse_log_det_jacobian(y_a, event_ndims=1, **kwargs)
    x_b = tf.reshape(y_b, tf.concat([batch_shape, self._factored_shape],
                                    axis=0))
    return tf.concat([x_a, x_b], axis=-1), ildj

  def _forward_event_shape(self, input_shape):
    return input_shape[:-3].concatenate([int(np.prod(self._image_shape))])

  def _inverse_event_shape(self, output_shape):
    return output_shape[:-1].concatenate(self._image_shape)

  def _forward_event_shape_tensor(self, input_shape):
    return tf.concat([input_shape[:-3], [int(np.prod(self._image_shape))]],
                     axis=0)

  def _inverse_event_shape_tensor(self, output_shape):
    return tf.concat([output_shape[:-1], self._image_shape], axis=0)

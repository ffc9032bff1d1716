"""Squeeze: 2x2 space-to-depth."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from bijectors import one_pass

__all__ = ['Squeeze']


class Squeeze(tfb.Bijector):
  """Space-to-depth, `[..., H, W, C] -> [..., H/2, W/2, 4C]`.

  Each 2x2 block of pixels becomes one pixel with four times the channels, in
  openai/glow's `squeeze2d` order: output channel `4 * c + 2 * dy + dx` holds
  input channel `c` at offset `(dy, dx)` in the block (channels of one input
  channel stay together, unlike `tf.nn.space_to_depth`). A permutation, so

    log|det dY/dX| = 0.

  `H` and `W` must be even: an odd size known at trace time raises
  `ValueError`; with `validate_args=True` a dynamic odd size raises at run
  time.

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. ICLR 2017. arXiv 1605.08803.
  """

  def __init__(self, validate_args=False, name=None):
    parameters = dict(locals())
    with tf.name_scope(name or 'Squeeze') as name:
      super().__init__(
          forward_min_event_ndims=3,
          is_constant_jacobian=True,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    return dict()

  def _check_even(self, x):
    if x.shape.rank is not None and x.shape.rank < 3:
      raise ValueError(f'{self.name}: expected images [..., H, W, C], got '
                       f'shape {x.shape}.')
    for axis, label in ((-3, 'height'), (-2, 'width')):
      size = x.shape[axis]
      if size is not None and size % 2:
        raise ValueError(f'{self.name}: image {label} must be even to '
                         f'squeeze, got shape {x.shape}.')
    if self.validate_args:
      return [tf.debugging.assert_equal(
          tf.shape(x)[-3:-1] % 2, 0,
          message=f'{self.name}: image height and width must be even.')]
    return []

  def _forward(self, x):
    with tf.control_dependencies(self._check_even(x)):
      x = tf.identity(x)
    batch_shape = tf.shape(x)[:-3]
    h, w, c = one_pass.event_shape_of(x)
    x = tf.reshape(x, [-1, h // 2, 2, w // 2, 2, c])
    x = tf.transpose(x, [0, 1, 3, 5, 2, 4])
    return tf.reshape(
        x, tf.concat([batch_shape, [h // 2, w // 2, 4 * c]], axis=0))

  def _inverse(self, y):
    self._check_channels(y)
    batch_shape = tf.shape(y)[:-3]
    h, w, c = one_pass.event_shape_of(y)
    c //= 4
    y = tf.reshape(y, [-1, h, w, c, 2, 2])
    y = tf.transpose(y, [0, 1, 4, 2, 5, 3])
    return tf.reshape(
        y, tf.concat([batch_shape, [2 * h, 2 * w, c]], axis=0))

  def _check_channels(self, y):
    if y.shape[-1] is not None and y.shape[-1] % 4:
      raise ValueError(f'{self.name}: channels must be a multiple of 4 to '
                       f'unsqueeze, got shape {y.shape}.')

  def _forward_log_det_jacobian(self, x):
    return tf.zeros([], self.dtype or x.dtype)

  def _forward_event_shape(self, input_shape):
    h, w, c = input_shape[-3:]
    return input_shape[:-3].concatenate([
        None if h is None else h // 2, None if w is None else w // 2,
        None if c is None else 4 * c])

  def _inverse_event_shape(self, output_shape):
    h, w, c = output_shape[-3:]
    return output_shape[:-3].concatenate([
        None if h is None else 2 * h, None if w is None else 2 * w,
        None if c is None else c // 4])

  def _forward_event_shape_tensor(self, input_shape):
    return tf.concat([input_shape[:-3], input_shape[-3:-1] // 2,
                      input_shape[-1:] * 4], axis=0)

  def _inverse_event_shape_tensor(self, output_shape):
    return tf.concat([output_shape[:-3], output_shape[-3:-1] * 2,
                      output_shape[-1:] // 4], axis=0)

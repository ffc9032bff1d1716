"""Convolutions as plain `tf.Module`s, for the networks inside bijectors.

The variables are plain `tf.Variable`s owned by `tf.Module`s, so they are seen
by `bijector.trainable_variables`, by `tf.train.Checkpoint`, by Keras 3 models
(through the model's `trainable_variables` override) and by tf-keras.
"""

import tensorflow as tf

__all__ = ['Conv2D', 'ZeroConv2D', 'conv2d_nhwc']


def conv2d_nhwc(x, kernel):
  """`tf.nn.conv2d` with 'SAME' padding over any number of batch dimensions."""
  if x.shape.rank == 4:
    return tf.nn.conv2d(x, kernel, strides=1, padding='SAME')
  shape = tf.shape(x)
  flat = tf.reshape(x, tf.concat([[-1], shape[-3:]], axis=0))
  y = tf.nn.conv2d(flat, kernel, strides=1, padding='SAME')
  return tf.reshape(y, tf.concat([shape[:-1], tf.shape(y)[-1:]], axis=0))


class Conv2D(tf.Module):
  """A 'SAME' convolution `y = conv(x, kernel) (+ bias)`.

  The kernel starts from N(0, 0.05^2), openai/glow's default initializer.
  `use_bias=False` is for convolutions followed by ActNorm, which has its own
  shift.
  """

  def __init__(self, in_channels, out_channels, kernel_size, use_bias=True,
               seed=None, dtype=tf.float32, name=None):
    super().__init__(name=name)
    with self.name_scope:
      self.kernel = tf.Variable(
          tf.random.stateless_normal(
              [kernel_size, kernel_size, in_channels, out_channels],
              seed=[0 if seed is None else seed, 1], stddev=0.05, dtype=dtype),
          name='kernel')
      self.bias = (tf.Variable(tf.zeros([out_channels], dtype), name='bias')
                   if use_bias else None)

  def __call__(self, x):
    y = conv2d_nhwc(x, self.kernel)
    return y if self.bias is None else y + self.bias


class ZeroConv2D(tf.Module):
  """openai/glow's `conv2d_zeros`: `y = (conv(x, kernel) + bias) * exp(3 * logs)`.

  Every parameter starts at zero, so the output starts at zero: a coupling
  layer starts as the identity and a learned prior as N(0, I) ([1] Section
  3.3). The factor 3 on `logs` is openai/glow's `logscale_factor`.
  """

  def __init__(self, in_channels, out_channels, kernel_size=3,
               dtype=tf.float32, name=None):
    super().__init__(name=name)
    with self.name_scope:
      self.kernel = tf.Variable(
          tf.zeros([kernel_size, kernel_size, in_channels, out_channels],
                   dtype), name='kernel')
      self.bias = tf.Variable(tf.zeros([out_channels], dtype), name='bias')
      self.logs = tf.Variable(tf.zeros([out_channels], dtype), name='logs')

  def __call__(self, x):
    return (conv2d_nhwc(x, self.kernel) + self.bias) * tf.exp(3. * self.logs)

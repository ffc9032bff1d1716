"""Convolutions as plain `tf.Module`s, for the networks inside bijectors.

The variables are plain `tf.Variable`s owned by `tf.Module`s, so they are seen
by `bijector.trainable_variables`, by `tf.train.Checkpoint`, by Keras 3 models
(through the model's `trainable_variables` override) and by tf-keras.
"""

import tensorflow as tf

from bijectors import one_pass

__all__ = ['Conv2D', 'ZeroConv2D', 'conv1x1', 'conv2d_nhwc', 'conv3x3',
           'prepare1x1', 'prepare3x3']


def conv2d_nhwc(x, kernel):
  """`tf.nn.conv2d` with 'SAME' padding over any number of batch dimensions."""
  if x.shape.rank == 4:
    return _conv2d_same(x, kernel)
  shape = tf.shape(x)
  flat = tf.reshape(x, tf.concat([[-1], shape[-3:]], axis=0))
  y = _conv2d_same(flat, kernel)
  return tf.reshape(y, tf.concat([shape[:-1], tf.shape(y)[-1:]], axis=0))


def _conv2d_same(x, kernel):
  """`tf.nn.conv2d(x, kernel)`, 'SAME', stride 1, on `[N, H, W, C]`.

  The reshape gives an empty batch its `[0, H, W, O]` shape: TensorFlow's
  CPU kernel returns `[0, H, W, C]` for it. For any other batch it only
  restates the shape (no copy).
  """
  y = tf.nn.conv2d(x, kernel, strides=1, padding='SAME')
  return tf.reshape(y, one_pass.shape_with_last(x, [kernel.shape[-1]]))


def conv1x1(x, kernel, bias=None, relu=False):
  """A 1x1 convolution of `[N, H, W, C]` as one matrix product.

  The same map as `tf.nn.conv2d(x, kernel[1, 1, C, O])` (`kernel` may also
  be given as `[C, O]`; then `+ bias` and
  a ReLU, if asked); its gradients are matrix products too, where the
  convolution's backprop kernels are slower on CPUs. The bias and ReLU are
  applied to the `[N H W, O]` product, where TensorFlow fuses them into it.
  """
  cin, cout = kernel.shape[-2], kernel.shape[-1]
  if kernel.shape.rank != 2:
    kernel = tf.reshape(kernel, [cin, cout])
  y = _bias_relu(tf.matmul(tf.reshape(x, [-1, cin]), kernel), bias, relu)
  return tf.reshape(y, one_pass.shape_with_last(x, [cout]))


def _bias_relu(y, bias, relu):
  if bias is not None:
    y = tf.nn.bias_add(y, bias)
  return tf.nn.relu(y) if relu else y


def prepare1x1(kernel):
  """`kernel [..., 1, 1, C, O]` as the matrix `[..., C, O]` `conv1x1`
  multiplies by (leading axes kept, as `prepare3x3`)."""
  batch = kernel.shape.rank - 4
  return tf.reshape(kernel, _leading_shape(kernel, batch, kernel.shape[-2:]))


def prepare3x3(kernel):
  """`kernel [..., 3, 3, C, O]` in the layout `conv3x3` multiplies by.

  A thin output (`9 O <= C`) as the matrix `[..., C, 9 O]` (blocks `(a, b)`
  along the columns), a thin input (`9 C <= O`) as `[..., 9 C, O]`, any
  other kernel unchanged. Leading axes are kept, so the fused loop prepares
  the kernels of all its steps at once, before the loop, instead of
  transposing one in every step and its gradient.
  """
  cin, cout = kernel.shape[-2], kernel.shape[-1]
  batch = kernel.shape.rank - 4
  if 9 * cout <= cin:
    order = list(range(batch)) + [batch + 2, batch, batch + 1, batch + 3]
    return tf.reshape(tf.transpose(kernel, order),
                      _leading_shape(kernel, batch, [cin, 9 * cout]))
  if 9 * cin <= cout:
    return tf.reshape(kernel, _leading_shape(kernel, batch, [9 * cin, cout]))
  return kernel


def _leading_shape(x, batch, dims):
  """The first `batch` axes of `x`'s shape, then `dims`, for a reshape."""
  if x.shape[:batch].is_fully_defined():
    return x.shape[:batch].as_list() + list(dims)
  return tf.concat([tf.shape(x)[:batch], dims], axis=0)


def conv3x3(x, kernel, bias=None, relu=False):
  """A 'SAME' 3x3 convolution of `[N, H, W, C]` by `kernel[3, 3, C, O]`.

  With `x_(i, j)` the input pixel (zero outside the image),

    y_(i, j) = sum_(a, b in 0..2)  x_(i + a - 1, j + b - 1) @ kernel[a, b].

  A thin input or output (`9 C <= O` or `9 O <= C`: the coupling networks'
  first and last layers, e.g. 6 -> 400 and 400 -> 12 channels) turns this
  into one large matrix product and 9 shifted windows:

    thin input:   y = spread(x) @ K          K = kernel as [9 C, O]
    thin output:  y = shift_sum(x @ K')      K' = kernel as [C, 9 O]

  where `spread` stacks the 9 shifted copies of `x` along channels and
  `shift_sum` adds the 9 channel blocks, each shifted back (both shift the
  columns and the rows in separate passes, 6 slices in all). The two are each
  other's adjoints up to the direction of the shift, which gives their
  gradients. The result is the convolution, but its forward and backward
  passes are GEMMs instead of thin convolution kernels (on 2 CPU cores, the
  400 -> 12 layer at 16x16 runs forward and backward about 2x faster). Any
  other shape is `tf.nn.conv2d`. `kernel` may also be given as
  `prepare3x3(kernel)` (`K` or `K'`). `bias` and `relu` as `conv1x1`.
  """
  if kernel.shape.rank == 4:
    kernel = prepare3x3(kernel)
  if kernel.shape.rank == 4:
    y = _conv2d_same(x, kernel)
  elif kernel.shape[-2] == x.shape[-1]:  # K' [C, 9 O]
    y = _shift_sum(conv1x1(x, kernel), 1)
  else:  # K [9 C, O]
    return conv1x1(_spread(x, 1), kernel, bias, relu)
  return _bias_relu(y, bias, relu)


def _shifted(x, axis, direction, block=None):
  """The 3 windows `x_(i + d (a - 1))` along `axis` (1: rows, 2: columns).

  `block`: window `a` keeps only channels `a * block ... (a + 1) * block`.
  """
  paddings = [[0, 0]] * 4
  paddings[axis] = [1, 1]
  padded = tf.pad(x, paddings)
  size = [-1] * 4  # One size tensor for all three windows.
  size[axis] = x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]
  if block is not None:
    size[3] = block
  size = tf.convert_to_tensor(size)  # A constant, or packs the dynamic size.
  windows = []
  for a in range(3):
    begin = [0] * 4
    begin[axis] = 1 + direction * (a - 1)
    if block is not None:
      begin[3] = a * block
    windows.append(tf.slice(padded, begin, size))
  return windows


def _spread(x, direction):
  """`[N, H, W, C] -> [N, H, W, 9 C]`: block `(a, b)` is the window
  `x_(i + d (a - 1), j + d (b - 1))`; columns, then rows (6 slices)."""

  @tf.custom_gradient
  def spread(x):
    columns = tf.concat(_shifted(x, 2, direction), axis=-1)  # blocks b
    y = tf.concat(_shifted(columns, 1, direction), axis=-1)  # blocks (a, b)
    return y, lambda dy: _shift_sum(dy, -direction, x.shape[-1])

  return spread(x)


def _shift_sum(z, direction, channels=None):
  """`[N, H, W, 9 O] -> [N, H, W, O]`: the sum over blocks `(a, b)` of their
  windows `z_(i + d (a - 1), j + d (b - 1))`; rows, then columns.
  `channels`: `O`, where the static shape of `z` lacks it (a gradient's, in
  a traced function with unknown image sizes)."""

  @tf.custom_gradient
  def shift_sum(z):
    o = channels if channels is not None else z.shape[-1] // 9
    rows = tf.add_n(_shifted(z, 1, direction, block=3 * o))  # blocks b
    y = tf.add_n(_shifted(rows, 2, direction, block=o))
    return y, lambda dy: _spread(dy, -direction)

  return shift_sum(z)


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

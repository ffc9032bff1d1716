"""openai/glow's coupling network `NN()`."""

import tensorflow as tf

from bijectors import actnorm as actnorm_lib
from bijectors import conv

__all__ = ['CouplingNetwork']


class CouplingNetwork(tf.Module):
  """`h = NN(x)`: 3x3 conv -> ReLU -> 1x1 conv -> ReLU -> zero-init 3x3 conv.

  The network of [1] Section 3.3 and openai/glow's `f()`: two hidden layers of
  `hidden_channels` each, optionally with ActNorm after the hidden
  convolutions (openai/glow's default, `hidden_actnorm=True`; the convolution
  then has no bias), and a last `ZeroConv2D` so the coupling starts as the
  identity.

  Args:
    in_channels: channels of the input half.
    out_channels: channels of `h`.
    hidden_channels: width of the hidden layers (512 in the paper).
    hidden_actnorm: Python `bool`, ActNorm in the hidden layers.
    seed: Python `int` seed for the hidden kernels.
    dtype: floating dtype.
    name: Python `str` name.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  def __init__(self, in_channels, out_channels, hidden_channels=512,
               hidden_actnorm=True, seed=None, dtype=tf.float32, name=None):
    super().__init__(name=name or 'CouplingNetwork')
    seed = 0 if seed is None else int(seed)
    with self.name_scope:
      self.conv_in = conv.Conv2D(in_channels, hidden_channels, 3,
                                 use_bias=not hidden_actnorm, seed=2 * seed,
                                 dtype=dtype, name='conv_in')
      self.conv_hidden = conv.Conv2D(hidden_channels, hidden_channels, 1,
                                     use_bias=not hidden_actnorm,
                                     seed=2 * seed + 1, dtype=dtype,
                                     name='conv_hidden')
      self.conv_out = conv.ZeroConv2D(hidden_channels, out_channels, 3,
                                      dtype=dtype, name='conv_out')
      if hidden_actnorm:
        self.actnorm_in = actnorm_lib.ActNorm(hidden_channels, dtype=dtype,
                                              name='actnorm_in')
        self.actnorm_hidden = actnorm_lib.ActNorm(hidden_channels, dtype=dtype,
                                                  name='actnorm_hidden')
      else:
        self.actnorm_in = self.actnorm_hidden = None

  def __call__(self, x):
    h = self.conv_in(x)
    if self.actnorm_in is not None:
      h = self.actnorm_in.forward(h)
    h = tf.nn.relu(h)
    h = self.conv_hidden(h)
    if self.actnorm_hidden is not None:
      h = self.actnorm_hidden.forward(h)
    h = tf.nn.relu(h)
    return self.conv_out(h)

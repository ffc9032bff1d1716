"""openai/glow's coupling network `NN()`, as a function of its parameters."""

import numpy as np
import tensorflow as tf

from bijectors import actnorm as actnorm_lib
from bijectors import conv
from bijectors import data_init
from bijectors import one_pass

__all__ = ['CouplingNetwork', 'apply_network', 'apply_prepared',
           'network_initial_values', 'prepare_network']


class CouplingNetwork(tf.Module):
  """`h = NN(x)`: 3x3 conv -> ReLU -> 1x1 conv -> ReLU -> zero-init 3x3 conv.

  The network of [1] Section 3.3 and openai/glow's `f()`: two hidden layers
  of `hidden_channels` each, and a last `conv2d_zeros`, `(conv + bias) *
  exp(3 logs)`, zero-initialised so the coupling starts as the identity. The
  hidden layers have either ActNorm after their convolution
  (`hidden_actnorm=True`, openai/glow's default; data-dependent init on the
  first call, see `bijectors.data_init`) or a bias. Variables, by name:

    kernel_in [3, 3, C_in, W], kernel_hidden [1, 1, W, W],
    shift_in, log_scale_in, shift_hidden, log_scale_hidden [W]   (ActNorm)
      or bias_in, bias_hidden [W],
    kernel_out [3, 3, W, C_out], bias_out, logs_out [C_out].

  The computation is `apply_prepared(x, prepare_network(parameters))`, which
  `GlowSteps` runs on one row of its stacked parameters, prepared for all
  its steps at once: each ActNorm is folded into its convolution
  (`actnorm.fold_into_linear`) and the 1x1 and thin 3x3 convolutions run as
  matrix products (`bijectors.conv`).

  Args:
    in_channels: channels of the input half.
    out_channels: channels of `h`.
    hidden_channels: width of the hidden layers (512 in the paper).
    hidden_actnorm: Python `bool`, ActNorm in the hidden layers.
    compute_dtype: dtype of the convolutions (e.g. `tf.bfloat16`); the
      output is cast back to `dtype`. `None`: `dtype`.
    seed: Python `int` seed of the hidden kernels, N(0, 0.05^2).
    initial_values: optional dict of the variables' values (by name).
    dtype: floating dtype of the variables and the output.
    name: Python `str` name.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  def __init__(self, in_channels, out_channels, hidden_channels=512,
               hidden_actnorm=True, compute_dtype=None, seed=None,
               initial_values=None, dtype=tf.float32, name=None):
    super().__init__(name=name or 'CouplingNetwork')
    self._hidden_actnorm = bool(hidden_actnorm)
    self._dtype = tf.as_dtype(dtype)
    self._compute_dtype = tf.as_dtype(compute_dtype or dtype)
    values = {n: v[0] for n, v in network_initial_values(
        in_channels, out_channels, hidden_channels, hidden_actnorm, 1,
        np.random.default_rng(seed)).items()}
    values = one_pass.override_values(self.name, values, initial_values)
    with self.name_scope:
      self.parameters = {n: tf.Variable(tf.cast(v, dtype), name=n)
                         for n, v in values.items()}
      self.initialized = tf.Variable(not self._hidden_actnorm,
                                     trainable=False, name='initialized')

  @property
  def needs_init(self):
    """Whether the next call in cross-replica context initializes ActNorm."""
    return self._hidden_actnorm

  def __call__(self, x):
    """`NN(x)`; the first call (while not `initialized`) also sets the
    hidden ActNorms from the activations of `x`."""
    return data_init.apply_or_initialize(
        self.initialized, lambda: self._apply(x)[0],
        lambda: self.initialize(x))

  def _apply(self, x, init=False):
    """`(NN(x), data-dependent init values if init)`."""
    return apply_network(
        x, {n: tf.convert_to_tensor(v) for n, v in self.parameters.items()},
        self._hidden_actnorm, self._compute_dtype, self._dtype, init=init)

  def initialize(self, x):
    """Sets the hidden ActNorms from `x`; returns `NN(x)`."""
    h, updates = self._apply(x, init=True)
    ops = [self.parameters[n].assign(v) for n, v in updates.items()]
    ops.append(self.initialized.assign(True))
    with tf.control_dependencies(ops):
      return tf.identity(h)


def network_initial_values(in_channels, out_channels, hidden_channels,
                           hidden_actnorm, num_steps, rng):
  """The parameters of `num_steps` networks, stacked: dict of numpy arrays.

  Hidden kernels N(0, 0.05^2) (openai/glow's initializer, drawn from `rng`),
  everything else zero.
  """
  k, width = num_steps, int(hidden_channels)
  if width < 1:
    raise ValueError(f'`hidden_channels` must be positive, got '
                     f'{hidden_channels}.')
  zeros = lambda *shape: np.zeros((k,) + shape)
  normal = lambda *shape: 0.05 * rng.standard_normal((k,) + shape)
  values = dict(kernel_in=normal(3, 3, in_channels, width),
                kernel_hidden=normal(1, 1, width, width))
  for layer in ('in', 'hidden'):
    if hidden_actnorm:
      values[f'shift_{layer}'] = zeros(width)
      values[f'log_scale_{layer}'] = zeros(width)
    else:
      values[f'bias_{layer}'] = zeros(width)
  # [1] Section 3.3: the last convolution starts at zero (identity coupling).
  values.update(kernel_out=zeros(3, 3, width, out_channels),
                bias_out=zeros(out_channels), logs_out=zeros(out_channels))
  return values


def apply_network(a, p, hidden_actnorm, compute_dtype, dtype, init=False):
  """`h = NN(a)` for parameters `p` (one network's, by name).

  Returns `(h, updates)`; with `init`, `updates` holds the data-dependent
  values of the hidden ActNorms (`shift_*`, `log_scale_*`) computed from
  this batch and used for it. Otherwise this is
  `apply_prepared(a, prepare_network(p, ...))`.
  """
  if not (hidden_actnorm and init):
    return apply_prepared(
        a, prepare_network(p, hidden_actnorm, compute_dtype),
        compute_dtype, dtype), {}
  updates = {}
  h = tf.cast(a, compute_dtype)
  for layer in ('in', 'hidden'):
    convolve = conv.conv3x3 if layer == 'in' else conv.conv1x1
    h = convolve(h, tf.cast(p[f'kernel_{layer}'], compute_dtype))
    shift, log_scale = data_init.moments_init(h)
    updates[f'shift_{layer}'] = tf.cast(shift, dtype)
    updates[f'log_scale_{layer}'] = tf.cast(log_scale, dtype)
    h = tf.nn.relu(actnorm_lib.actnorm_forward(h, shift, log_scale)[0])
  prepared = prepare_network({**p, **updates}, hidden_actnorm, compute_dtype)
  return _output_layer(h, prepared, compute_dtype, dtype), updates


def prepare_network(p, hidden_actnorm, compute_dtype):
  """The network's parameters `p` as the linear maps `apply_prepared` runs.

  Each ActNorm is folded into the convolution before it
  (`actnorm.fold_into_linear`): a convolution, a bias and a ReLU that
  TensorFlow fuses into one kernel, with no full-size elementwise passes;
  likewise the output's `(conv + b) * exp(3 logs)`. The 3x3 kernels are put
  in the layout their convolution multiplies by (`conv.prepare3x3`) and the
  1x1 kernel made a matrix (`conv.prepare1x1`). Returns `{kernel_in,
  bias_in, kernel_hidden, bias_hidden, kernel_out, bias_out}`, the kernels
  and hidden biases in `compute_dtype`, the output bias in the parameters'
  dtype. `p`'s tensors may have leading axes (`[K, ...]`, stacked steps):
  `GlowSteps` prepares all its steps at once, before its loop, and each
  step reads its row.
  """
  q = {}
  for layer in ('in', 'hidden'):
    kernel = p[f'kernel_{layer}']
    if hidden_actnorm:
      kernel, bias = actnorm_lib.fold_into_linear(
          kernel, p[f'shift_{layer}'], p[f'log_scale_{layer}'])
    else:
      bias = p[f'bias_{layer}']
    prepare = conv.prepare3x3 if layer == 'in' else conv.prepare1x1
    q[f'kernel_{layer}'] = tf.cast(prepare(kernel), compute_dtype)
    q[f'bias_{layer}'] = tf.cast(bias, compute_dtype)
  # openai/glow's conv2d_zeros: (conv + b) * exp(3 * logs).
  kernel, q['bias_out'] = actnorm_lib.fold_into_linear(
      p['kernel_out'], p['bias_out'], 3. * p['logs_out'])
  q['kernel_out'] = tf.cast(conv.prepare3x3(kernel), compute_dtype)
  return q


def apply_prepared(a, q, compute_dtype, dtype):
  """`h = NN(a)` for one network's prepared parameters
  `q = prepare_network(p, ...)`. The convolutions run in `compute_dtype`;
  the output bias is added in `dtype`."""
  h = tf.cast(a, compute_dtype)
  h = conv.conv3x3(h, q['kernel_in'], q['bias_in'], relu=True)
  h = conv.conv1x1(h, q['kernel_hidden'], q['bias_hidden'], relu=True)
  return _output_layer(h, q, compute_dtype, dtype)


def _output_layer(h, q, compute_dtype, dtype):
  if compute_dtype == dtype:
    return conv.conv3x3(h, q['kernel_out'], q['bias_out'])
  return tf.nn.bias_add(tf.cast(conv.conv3x3(h, q['kernel_out']), dtype),
                        q['bias_out'])

"""Invertible 1x1 convolution: a learned linear mixing of channels."""

import numpy as np
import tensorflow as tf

from bijectors import conv
from bijectors import equality
from bijectors import one_pass
from bijectors import permutations

__all__ = ['Invertible1x1Conv', 'LUConv', 'PlainConv', 'lu_init',
           'lu_weight', 'random_rotation']


class Invertible1x1Conv(equality.OwnsVariables,
                        one_pass.OnePassBijector):
  """Invertible 1x1 convolution, `Y = g(X) = X @ W` at every pixel.

  `W` is a `[C, C]` matrix applied to the channel vector of each position (a
  1x1 convolution with `C` filters), so the bijector works on vectors
  `[..., C]` and images `[..., H, W, C]` alike. Per `C`-vector

    log|det dY/dX| = log|det W|,

  which TFP sums over the other event dimensions (`H * W * log|det W|` per
  image, [1] Table 1). `W` starts as a random rotation (`log|det W| = 0`).

  The parametrization is a `bijectors.permutations.Permutation`, by name:

  * `'lu'` (`LUConv`): `W = P L (U + diag(sign_s * exp(log_s)))` with a
    fixed permutation `P`, unit-lower-triangular `L`, strictly upper `U`,
    fixed signs `sign_s` and trainable `log_s`. The log-det is `sum(log_s)`,
    cheap and XLA-compilable; the inverse uses two triangular solves.
  * `'plain'` (`PlainConv`): `W` is a full trainable matrix. The log-det is
    `slogdet(W)` computed in float64 (as openai/glow), and the inverse uses
    `tf.linalg.inv`. `tf.linalg.slogdet` has no XLA kernel, so a model using
    `'plain'` cannot run under `jit_compile=True`.
  * `'reverse'`, `'shuffle'` (`FixedPermutation`): the paper's fixed
    ablations, `W` a permutation matrix, no variables.
  * any `Permutation` registered with `register_permutation`.

  With `validate_args=True`, a singular `W` (zero on the diagonal of the LU
  form, or zero determinant) raises at run time; `GlowSteps` makes the same
  checks with the same messages.

  #### Examples

  ```python
  conv = Invertible1x1Conv(num_channels=12, parametrization='lu', seed=0)
  y = conv.forward(x)    # x: [batch, H, W, 12]
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  def __init__(self,
               num_channels,
               parametrization='lu',
               seed=None,
               initial_values=None,
               dtype=tf.float32,
               validate_args=False,
               name=None):
    """Creates an `Invertible1x1Conv` bijector.

    Args:
      num_channels: Python `int`, the number of channels `C`.
      parametrization: a registered permutation's name (`'lu'`, `'plain'`,
        `'reverse'`, `'shuffle'`, ...) or a `Permutation`.
      seed: Python `int` seed of the initial values (e.g. the random
        rotation).
      initial_values: optional dict of the permutation's variables and
        constants (e.g. one step's row of `GlowSteps`), replacing the seeded
        ones.
      dtype: floating dtype of the parameters and inputs.
      validate_args: Python `bool`, check invertibility at run time.
      name: Python `str` name.
    """
    parameters = dict(locals())
    with tf.name_scope(name or 'Invertible1x1Conv') as name:
      if int(num_channels) < 1:
        raise ValueError(f'`num_channels` must be positive, got {num_channels}.')
      self._num_channels = c = int(num_channels)
      self._permutation = permutations.get_permutation(parametrization)
      variables, constants = self._permutation.initial_values(
          c, 1, np.random.default_rng(seed))
      row = lambda values: {n: v[0] for n, v in values.items()}
      variables, constants = row(variables), row(constants)
      given = dict(initial_values or {})
      unknown = set(given) - set(variables) - set(constants)
      if unknown:
        raise ValueError(f'{name}: unknown initial values {sorted(unknown)} '
                         f'for the permutation {self._permutation.name!r}.')
      self._variables = {
          n: tf.Variable(tf.cast(given.get(n, v), dtype), name=n)
          for n, v in variables.items()}
      self._constants = {
          n: tf.constant(np.asarray(given.get(n, v)),
                         dtype if np.asarray(v).dtype.kind == 'f' else None)
          for n, v in constants.items()}
      super().__init__(
          forward_min_event_ndims=1,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def parametrization(self):
    return self._permutation.name

  @property
  def permutation(self):
    """The `Permutation` this bijector applies."""
    return self._permutation

  @property
  def step_tensors(self):
    """Variables and constants by the names `GlowSteps` stacks them under."""
    return {**self._variables, **self._constants}

  def __getattr__(self, name):
    # The permutation's variables as attributes: `conv.log_s`, `conv.weight`.
    variables = self.__dict__.get('_variables')
    if variables is not None and name in variables:
      return variables[name]
    raise AttributeError(f'{type(self).__name__!r} object has no attribute '
                         f'{name!r}')

  def _prepared(self):
    return self._permutation.prepare(
        {n: tf.convert_to_tensor(t) for n, t in self.step_tensors.items()})

  def weight_matrix(self):
    """Returns `W`, the `[C, C]` matrix of the forward map `Y = X @ W`."""
    eye = tf.eye(self._num_channels, dtype=self.dtype)
    return self._permutation.forward(eye, self._prepared())[0]

  def _check_channels(self, x):
    one_pass.check_channels(self.name, x, self._num_channels)

  def _forward_and_log_det(self, x):
    self._check_channels(x)
    return self._permutation.forward(x, self._prepared())

  def _inverse_and_log_det(self, y):
    self._check_channels(y)
    return self._permutation.inverse(y, self._prepared())

  def _parameter_control_dependencies(self, is_init):
    if not self.validate_args or is_init:
      return []
    return self._permutation.assertions(self.step_tensors)


class _MatrixConv(permutations.Permutation):
  """A 1x1 convolution by a matrix `W`: prepared as `weight`, `weight_inv`
  and `log_det`, the three computed for all steps at once."""

  non_differentiable = ('weight_inv',)

  def forward(self, x, prepared):
    return _matmul(x, prepared['weight']), prepared['log_det']

  def inverse(self, y, prepared):
    return _matmul(y, prepared['weight_inv']), -prepared['log_det']

  def backward(self, y, dy, dlog_det, prepared):
    """From `Y = X W` and the gradient `dlog_det` of `log|det W|`:

      X = Y W^-1,   dX = dY W^T,   dW = sum over pixels of X^T dY,

    and `log_det` gets `dlog_det` (the gradient reaches the parameters
    through `prepare`)."""
    c = y.shape[-1]
    x = _matmul(y, prepared['weight_inv'])
    dx = _matmul(dy, tf.transpose(prepared['weight']))
    dw = tf.matmul(tf.reshape(x, [-1, c]), tf.reshape(dy, [-1, c]),
                   transpose_a=True)
    return x, dx, dict(weight=dw, weight_inv=None, log_det=dlog_det)


def _matmul(x, weight):
  """`x @ weight` over the last axis of a vector or image batch."""
  if x.shape.rank == 4:
    return conv.conv1x1(x, weight)
  return tf.matmul(x, weight)


class LUConv(_MatrixConv):
  """`'lu'`: `W = P L (U + diag(sign_s exp(log_s)))`, `log|det W| =
  sum(log_s)`; variables `lower`, `upper`, `log_s`, constants
  `lu_permutation` (`P`) and `lu_sign_s`, from the LU decomposition of a
  random rotation."""

  name = 'lu'

  def initial_values(self, num_channels, num_steps, rng):
    inits = [lu_init(random_rotation(num_channels, rng.integers(2**31)))
             for _ in range(num_steps)]
    stack = lambda key: np.stack([init[key] for init in inits])
    return (dict(lower=stack('lower'), upper=stack('upper'),
                 log_s=stack('log_s')),
            dict(lu_permutation=stack('permutation'),
                 lu_sign_s=stack('sign_s')))

  def prepare(self, params):
    lu = [params[n] for n in ('lu_permutation', 'lower', 'upper',
                              'lu_sign_s', 'log_s')]
    return dict(weight=lu_weight(*lu), weight_inv=lu_weight(*lu, inverse=True),
                log_det=tf.reduce_sum(params['log_s'], axis=-1))

  def assertions(self, params):
    return [tf.debugging.assert_all_finite(
        params['log_s'],
        message='`log_s` must be finite: the LU form of `W` needs a nonzero '
        'diagonal.')]


class PlainConv(_MatrixConv):
  """`'plain'`: a full trainable `weight`; `log|det W|` by `slogdet` in
  float64 (as openai/glow; no XLA kernel), `W^-1` by `tf.linalg.inv`."""

  name = 'plain'

  def initial_values(self, num_channels, num_steps, rng):
    return dict(weight=np.stack([
        random_rotation(num_channels, rng.integers(2**31))
        for _ in range(num_steps)])), {}

  def prepare(self, params):
    weight = params['weight']
    _, log_det = tf.linalg.slogdet(tf.cast(weight, tf.float64))
    return dict(weight=weight, weight_inv=tf.linalg.inv(weight),
                log_det=tf.cast(log_det, weight.dtype))

  def assertions(self, params):
    return [tf.debugging.assert_none_equal(
        tf.linalg.det(tf.cast(params['weight'], tf.float64)),
        tf.constant(0., tf.float64),
        message='`weight` must be invertible (nonzero determinant).')]


permutations.register_permutation(LUConv())
permutations.register_permutation(PlainConv())


def random_rotation(c, seed):
  """A random orthogonal `[c, c]` matrix (QR of a Gaussian), as openai/glow."""
  rng = np.random.default_rng(seed)
  q, _ = np.linalg.qr(rng.standard_normal([c, c]))
  return q


def lu_init(w):
  """The LU parameters of `w`: permutation, lower, upper, sign_s, log_s."""
  permutation, lower, upper = _lu_decompose(w)
  s = np.diag(upper)
  return dict(permutation=permutation, lower=lower, upper=np.triu(upper, 1),
              sign_s=np.sign(s), log_s=np.log(np.abs(s)))


def lu_weight(permutation, lower, upper, sign_s, log_s, inverse=False):
  """`W` (or `W^-1` with `inverse`) from LU parameters (any leading axes).

  `W = P (L * mask_lower + I) (U * mask_upper + diag(sign_s * exp(log_s)))`,
  and `W^-1 = U^-1 L^-1 P^T` by two triangular solves (XLA-compilable); only
  the matrix asked for is computed.
  """
  c = log_s.shape[-1]
  dtype = log_s.dtype
  eye = tf.eye(c, dtype=dtype)
  lower = tf.linalg.band_part(lower, -1, 0) * (1. - eye) + eye
  upper = (tf.linalg.band_part(upper, 0, -1) * (1. - eye) +
           tf.linalg.diag(sign_s * tf.exp(log_s)))
  if not inverse:
    return tf.matmul(permutation, tf.matmul(lower, upper))
  eye = tf.broadcast_to(eye, tf.shape(lower))
  lower_inv = tf.linalg.triangular_solve(lower, eye, lower=True)
  return tf.matmul(tf.linalg.triangular_solve(upper, lower_inv, lower=False),
                   permutation, transpose_b=True)


def _lu_decompose(w):
  """Returns `(P, L, U)` with `w = P @ L @ U`, L unit-lower, by partial pivoting."""
  c = w.shape[0]
  u = np.array(w, dtype=np.float64)
  lower = np.eye(c)
  perm = np.arange(c)
  for k in range(c):
    pivot = k + int(np.argmax(np.abs(u[k:, k])))
    if pivot != k:
      u[[k, pivot]] = u[[pivot, k]]
      lower[[k, pivot], :k] = lower[[pivot, k], :k]
      perm[[k, pivot]] = perm[[pivot, k]]
    for i in range(k + 1, c):
      lower[i, k] = u[i, k] / u[k, k]
      u[i, k:] -= lower[i, k] * u[k, k:]
  # Rows of `w` were permuted: w[perm] = L @ U, so w = P @ L @ U with
  # P[perm[i], i] = 1.
  p = np.zeros([c, c])
  p[perm, np.arange(c)] = 1.
  return p, lower, np.triu(u)

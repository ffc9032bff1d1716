"""`K` Glow flow steps as one loop over stacked parameters."""

import numpy as np
import tensorflow as tf

from bijectors import affine_coupling
from bijectors import conv
from bijectors import equality
from bijectors import invertible_1x1_conv
from bijectors import one_pass
from bijectors import stacked_rows

__all__ = ['GlowSteps']

_MIX_PARAMETERS = ('weight', 'lower', 'upper', 'log_s')

PERMUTATIONS = ('lu', 'plain', 'reverse', 'shuffle')
MEMORY = ('invertible', 'store')


class GlowSteps(equality.OwnsVariables,
                one_pass.OnePassBijector):
  """`K` steps of flow, `ActNorm -> permutation -> coupling`, as one bijector.

  Step `k` ([1] Figure 2a, Table 1) maps an image `[..., H, W, C]` by

    actnorm:      X1 = (X + shift_k) * exp(log_scale_k)
    permutation:  X2 = X1 @ W_k                  (1x1 convolution)
    coupling:     [A, B] = X2,  h = NN_k(A),
                  Y = [A, (B + h[..., 0::2]) * sigmoid(h[..., 1::2] + 2)]

  with `log|det|` = `H W sum(log_scale_k) + H W log|det W_k| +
  sum(log sigmoid(...))`. It is the same map as the chain of the single
  bijectors `ActNorm`, `Invertible1x1Conv` and `AffineCoupling` (tested
  against it), with four differences that make it fast and lean:

  * the `K` steps' parameters are stacked along a leading axis and the steps
    run in a `tf.while_loop`: tracing and XLA compilation cost one step,
    not `K`;
  * `memory='invertible'` backpropagates through the inverse: the backward
    pass recomputes each step's input from its output ([1] Section 1, "a
    constant memory cost with respect to depth") instead of storing every
    activation, running each coupling network once more (its output both
    inverts the step and is differentiated); `memory='store'` lets autodiff
    store the activations (memory linear in `K`). A level's backward loop
    starts only when its output's gradient arrives, and writes the stacked
    parameters' gradients in place (`stacked_rows`), so that an optimizer
    applied as gradients arrive holds one level's gradients at a time;
  * the coupling network runs once per pass, the log-det being computed
    with the output (`OnePassBijector`);
  * the network's ActNorms are folded into their convolutions' kernels and
    biases, and its 1x1 and thin 3x3 convolutions run as matrix products
    (`bijectors.conv`), which TensorFlow fuses with the bias and ReLU.

  `permutation` is `'lu'` (default), `'plain'`, or the paper's fixed
  ablations `'reverse'` and `'shuffle'`; `coupling` is `'affine'` or
  `'additive'`; `hidden_actnorm` puts ActNorm after the network's hidden
  convolutions (openai/glow). ActNorm's data-dependent initialization works
  as in `ActNorm`: the first forward pass, while `initialized` is False
  (skipped in a `tf.distribute` replica context; use it in cross-replica
  context), sets every ActNorm of every step, in order, so that its output
  has zero mean and unit variance per channel.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  def __init__(self,
               num_channels,
               num_steps,
               hidden_channels=512,
               coupling='affine',
               permutation='lu',
               hidden_actnorm=True,
               memory='invertible',
               compute_dtype=None,
               unroll=False,
               seed=0,
               dtype=tf.float32,
               validate_args=False,
               name=None):
    """Creates `GlowSteps`.

    Args:
      num_channels: channels `C >= 2` of the images.
      num_steps: `K >= 1`.
      hidden_channels: width of the coupling networks.
      coupling: `'affine'` or `'additive'`.
      permutation: `'lu'`, `'plain'`, `'reverse'` or `'shuffle'`.
      hidden_actnorm: ActNorm in the networks' hidden layers.
      memory: `'invertible'` or `'store'`, see above.
      unroll: Python `bool`; run the steps as an unrolled Python loop instead
        of a `tf.while_loop` (faster under XLA on CPU, tracing linear in K).
      compute_dtype: dtype of the coupling networks' convolutions (e.g.
        `tf.bfloat16`); `None` for `dtype`. Log-dets, ActNorm, the 1x1
        convolution and the coupling's affine map stay in `dtype`.
      seed: Python `int` seed of the initial weights.
      dtype: floating dtype of the parameters and inputs.
      validate_args: Python `bool`.
      name: Python `str` name.
    """
    parameters = dict(locals())
    with tf.name_scope(name or 'GlowSteps') as name:
      c, k = int(num_channels), int(num_steps)
      if c < 2 or k < 1:
        raise ValueError('`num_channels` must be >= 2 and `num_steps` >= 1, '
                         f'got {num_channels} and {num_steps}.')
      if coupling not in ('affine', 'additive'):
        raise ValueError('`coupling` must be "affine" or "additive", got '
                         f'{coupling!r}.')
      if permutation not in PERMUTATIONS:
        raise ValueError(f'`permutation` must be one of {PERMUTATIONS}, got '
                         f'{permutation!r}.')
      if memory not in MEMORY:
        raise ValueError(f'`memory` must be one of {MEMORY}, got {memory!r}.')
      self._num_channels, self._num_steps = c, k
      self._coupling, self._permutation = coupling, permutation
      self._hidden_actnorm = bool(hidden_actnorm)
      self._memory = memory
      self._unroll = bool(unroll)
      self._compute_dtype = tf.as_dtype(compute_dtype or dtype)
      self._split = c // 2
      out = (c - self._split) * (2 if coupling == 'affine' else 1)
      width = int(hidden_channels)
      self._params = self._make_parameters(c, k, width, out, seed, dtype)
      self.initialized = tf.Variable(False, trainable=False,
                                     name='initialized')
      super().__init__(
          forward_min_event_ndims=3,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  def _make_parameters(self, c, k, width, out, seed, dtype):
    """Creates the stacked variables; returns them by name, in a fixed order."""
    rng = np.random.default_rng(seed)
    params = {}

    def variable(name, value):
      params[name] = tf.Variable(tf.constant(value, dtype), name=name)

    zeros = lambda *shape: np.zeros((k,) + shape)
    variable('actnorm_shift', zeros(c))
    variable('actnorm_log_scale', zeros(c))
    rotations = [invertible_1x1_conv.random_rotation(c, rng.integers(2**31))
                 for _ in range(k)]
    if self._permutation == 'plain':
      variable('weight', np.stack(rotations))
    elif self._permutation == 'lu':
      inits = [invertible_1x1_conv.lu_init(w) for w in rotations]
      stack = lambda key: np.stack([init[key] for init in inits])
      self._lu_permutation = tf.constant(stack('permutation'), dtype)
      self._lu_sign_s = tf.constant(stack('sign_s'), dtype)
      variable('lower', stack('lower'))
      variable('upper', stack('upper'))
      variable('log_s', stack('log_s'))
    else:
      orders = [np.arange(c)[::-1] if self._permutation == 'reverse' else
                rng.permutation(c) for _ in range(k)]
      self._orders = tf.constant(np.stack(orders), tf.int32)
    normal = lambda *shape: 0.05 * rng.standard_normal((k,) + shape)
    variable('kernel_in', normal(3, 3, self._split, width))
    variable('kernel_hidden', normal(1, 1, width, width))
    for layer in ('in', 'hidden'):
      if self._hidden_actnorm:
        variable(f'shift_{layer}', zeros(width))
        variable(f'log_scale_{layer}', zeros(width))
      else:
        variable(f'bias_{layer}', zeros(width))
    variable('kernel_out', zeros(3, 3, width, out))  # [1] Section 3.3: zero
    variable('bias_out', zeros(out))                 # init, identity start.
    variable('logs_out', zeros(out))
    return params

  @property
  def num_steps(self):
    return self._num_steps

  @property
  def memory(self):
    return self._memory

  @property
  def stacked_variables(self):
    """The stacked parameters by name, each with leading axis `K`."""
    return dict(self._params)

  # --- One step, as pure functions of its parameters `p` -------------------

  def _network(self, a, p, init=False):
    """`NN(A)`; with `init`, also the data-dependent hidden ActNorm values.

    ActNorm after a convolution, `(conv(h, W) + shift) * exp(log_scale)`, is
    computed as the equal `conv(h, W * exp(log_scale)) + shift *
    exp(log_scale)`: a convolution, a bias and a ReLU that TensorFlow fuses
    into one kernel, with no full-size elementwise passes (likewise the
    output's `(conv + b) * exp(3 logs)`).
    """
    updates = {}
    compute = self._compute_dtype
    h = tf.cast(a, compute)
    for layer in ('in', 'hidden'):
      kernel = p[f'kernel_{layer}']
      convolve = conv.conv3x3 if layer == 'in' else conv.conv1x1
      if self._hidden_actnorm and init:
        h = convolve(h, tf.cast(kernel, compute))
        shift, log_scale = _moments_init(h)
        updates[f'shift_{layer}'] = tf.cast(shift, self.dtype)
        updates[f'log_scale_{layer}'] = tf.cast(log_scale, self.dtype)
        h = tf.nn.relu((h + shift) * tf.exp(log_scale))
      else:
        if self._hidden_actnorm:
          scale = tf.exp(p[f'log_scale_{layer}'])
          kernel, bias = kernel * scale, p[f'shift_{layer}'] * scale
        else:
          bias = p[f'bias_{layer}']
        h = convolve(h, tf.cast(kernel, compute), tf.cast(bias, compute),
                     relu=True)
    # openai/glow's conv2d_zeros: (conv + b) * exp(3 * logs), the bias added
    # in `dtype` (after the cast from a lower compute precision).
    scale = tf.exp(3. * p['logs_out'])
    kernel = tf.cast(p['kernel_out'] * scale, compute)
    bias = p['bias_out'] * scale
    if compute == self.dtype:
      return conv.conv3x3(h, kernel, bias), updates
    return tf.nn.bias_add(tf.cast(conv.conv3x3(h, kernel), self.dtype),
                          bias), updates

  def _mix_weights(self, p):
    """`W`, `W^-1` and `log|det W|` of 'lu' or 'plain' 1x1 convolutions,
    from their parameters `p` (any leading axes, e.g. `[K]`)."""
    if self._permutation == 'plain':
      weight = p['weight']
      _, log_det = tf.linalg.slogdet(tf.cast(weight, tf.float64))
      return dict(mix_weight=weight, mix_weight_inv=tf.linalg.inv(weight),
                  mix_log_det=tf.cast(log_det, weight.dtype))
    lu = [p[n] for n in ('lu_permutation', 'lower', 'upper', 'lu_sign_s',
                         'log_s')]
    return dict(mix_weight=invertible_1x1_conv.lu_weight(*lu),
                mix_weight_inv=invertible_1x1_conv.lu_weight(*lu,
                                                             inverse=True),
                mix_log_det=tf.reduce_sum(p['log_s'], axis=-1))

  def _mix(self, x, p, inverse=False):
    """The permutation step; returns `(X @ W, log|det W|)` (or the inverse)."""
    if self._permutation in ('reverse', 'shuffle'):
      order = p['order']
      if inverse:
        order = tf.math.invert_permutation(order)
      return tf.gather(x, order, axis=-1), tf.zeros([], x.dtype)
    weight = p['mix_weight_inv' if inverse else 'mix_weight']
    log_det = p['mix_log_det']
    return (conv.conv1x1(x, weight[tf.newaxis, tf.newaxis]),
            -log_det if inverse else log_det)

  def _actnorm_and_mix(self, x, p, init=False):
    """ActNorm then the permutation: `(X2, log|det| (scalar), init values)`."""
    pixels = tf.cast(tf.reduce_prod(tf.shape(x)[-3:-1]), x.dtype)
    updates = {}
    if init:
      shift, log_scale = _moments_init(x)
      updates.update(actnorm_shift=shift, actnorm_log_scale=log_scale)
    else:
      shift, log_scale = p['actnorm_shift'], p['actnorm_log_scale']
    x = (x + shift) * tf.exp(log_scale)
    x, mix_log_det = self._mix(x, p)
    return x, pixels * (tf.reduce_sum(log_scale) + mix_log_det), updates

  def _step_forward(self, x, p, init=False):
    """One step on `[N, H, W, C]`: returns `(Y, log|det| [N], init values)`."""
    x, log_det, updates = self._actnorm_and_mix(x, p, init=init)
    a, b = one_pass.split_channels(x, self._split)
    h, network_updates = self._network(a, p, init=init)
    updates.update(network_updates)
    b, coupling_log_det = affine_coupling.coupling_forward(b, h,
                                                           self._coupling)
    return tf.concat([a, b], axis=-1), log_det + coupling_log_det, updates

  def _inverse_actnorm_and_mix(self, x2, p):
    """The inverse of `_actnorm_and_mix`: `(X, log|det dX/dX2| (scalar), U)`,
    with `U = X2 W^-1` the ActNorm's output."""
    pixels = tf.cast(tf.reduce_prod(tf.shape(x2)[-3:-1]), x2.dtype)
    u, mix_log_det = self._mix(x2, p, inverse=True)
    log_scale = p['actnorm_log_scale']
    return (u * tf.exp(-log_scale) - p['actnorm_shift'],
            pixels * (mix_log_det - tf.reduce_sum(log_scale)), u)

  def _step_inverse(self, y, p):
    """The inverse of one step on `[N, H, W, C]`: `(X, log|det dX/dY| [N])`."""
    a, b = one_pass.split_channels(y, self._split)
    h, _ = self._network(a, p)
    b, log_det = affine_coupling.coupling_inverse(b, h, self._coupling)
    x, pre_log_det, _ = self._inverse_actnorm_and_mix(
        tf.concat([a, b], axis=-1), p)
    return x, log_det + pre_log_det

  # --- The loops ------------------------------------------------------------

  def _stacked_tensors(self):
    """The steps' tensors, stacked along `K`: what the loops index.

    The variables, read once, except that a 1x1 convolution's parameters
    (its LU factors, or a plain weight) are replaced by what the steps use,
    `mix_weight` `W`, `mix_weight_inv` `W^-1` and `mix_log_det`
    `log|det W|`, computed for all K steps at once before the loop; the
    gradient reaches the parameters through that batched computation.
    """
    tensors = {n: tf.convert_to_tensor(v) for n, v in self._params.items()}
    if self._permutation in ('lu', 'plain'):
      mix = {n: tensors.pop(n) for n in _MIX_PARAMETERS if n in tensors}
      tensors.update(self._mix_weights({**mix, **self._constants()}))
    return tensors

  def _constants(self):
    if self._permutation == 'lu':
      return dict(lu_permutation=self._lu_permutation,
                  lu_sign_s=self._lu_sign_s)
    if self._permutation in ('reverse', 'shuffle'):
      return dict(order=self._orders)
    return {}

  def _step_parameters(self, stacked, k):
    axis = tf.constant(0)  # One constant for all the gathers.
    p = {n: tf.gather(t, k, axis=axis) for n, t in stacked.items()}
    if self._permutation in ('reverse', 'shuffle'):
      p['order'] = tf.gather(self._orders, k)
    return p

  def _loop(self, body, state, reverse=False):
    """Runs `k, *state = body(k, *state)` over the K steps, in order or reversed.

    A `tf.while_loop` (trace and compile one step), or with `unroll` a Python
    loop over the same body with constant `k` (graph size linear in K; XLA on
    CPU runs convolution gradients inside while loops far slower than
    unrolled ones).

    The steps depend on each other, but TensorFlow's executor starts up to
    `parallel_iterations` iterations at once wherever it can (reading their
    parameter slices, and whatever follows from them), and keeps their
    tensors alive meanwhile. At its default of 10 that is most of a
    training step's memory: at K=8 (32x32x3, width 400, batch 16) 225 MiB of
    tensors beyond the parameter state, against 84 MiB with 2 (the next
    step's slices read ahead; about as fast) and 60 MiB with 1.
    """
    first = self._num_steps - 1 if reverse else 0
    if self._unroll:
      state = (first,) + tuple(state)
      for _ in range(self._num_steps):
        state = body(*state)
      return state
    done = (lambda k, *_: k >= 0) if reverse else (
        lambda k, *_: k < self._num_steps)
    return tf.while_loop(done, body, (first,) + tuple(state),
                         parallel_iterations=2,
                         maximum_iterations=self._num_steps)

  def _run_forward(self, x, stacked):
    """The K steps forward, no custom gradient; returns `(Y, log|det|)`."""
    def body(k, x, log_det):
      y, step_log_det, _ = self._step_forward(
          x, self._step_parameters(stacked, k))
      return k + 1, y, log_det + step_log_det
    log_det = tf.zeros(tf.shape(x)[:1], x.dtype)
    _, y, log_det = self._loop(body, (x, log_det))
    return y, log_det

  def _run_forward_invertible(self, x, stacked):
    """`_run_forward` whose gradient recomputes activations by inversion."""
    names = sorted(stacked)
    # W^-1 only reconstructs the inputs: no gradient.
    differentiable = [n for n in names if n != 'mix_weight_inv']

    @tf.custom_gradient
    def run(x, *values):
      params = dict(zip(names, values))
      y, log_det = self._run_forward(x, params)

      def grad(dy, dlog_det):
        if dlog_det is None:
          dlog_det = tf.zeros_like(log_det)
        if dy is None:
          dy = tf.zeros_like(y)
        # The loop starts when dy arrives. Its first step recomputes a
        # network from y alone, which TensorFlow would otherwise run as soon
        # as the forward pass produced y, holding its activations through
        # the backward passes of all later levels; and each level's gradient
        # buffers would exist from the start of the training step.
        with tf.control_dependencies([dy, dlog_det]):
          y_start = tf.identity(tf.stop_gradient(y))
          grads = [stacked_rows.zeros_like(params[n])
                   for n in differentiable]

        def body(k, y, dy, grads):
          x, dx, dp = self._step_backward(
              y, dy, dlog_det, self._step_parameters(params, k),
              differentiable)
          grads = stacked_rows.write(grads, k,
                                     [dp[n] for n in differentiable])
          return k - 1, x, dx, grads
        _, _, dx, grads = self._loop(body, (y_start, dy, grads),
                                     reverse=True)
        stacked_grads = dict(zip(differentiable,
                                 map(stacked_rows.stack, grads)))
        return [dx] + [stacked_grads.get(n) for n in names]

      return (y, log_det), grad

    return run(x, *[stacked[n] for n in names])

  def _step_backward(self, y, dy, dlog_det, p, names):
    """One step's input and gradients, recomputed from its output `y`.

    The coupling leaves `A` unchanged, so the network output `h = NN(A)`
    that inverts the step is also the forward pass's: the network runs once
    here, under a tape, and the gradient is taken in three stages,

      coupling:          (B, dB, dh) from (Y_b, dY_b, dlog_det), given h,
                         by hand (`affine_coupling.coupling_backward`)
      network:           (dA_net, dθ_NN) = vjp of NN at A, with dh
      actnorm and mix:   (X, dX, dθ) from (X2 = [A, B],
                         dX2 = [dY_a + dA_net, dB], dlog_det), by hand
                         (`_actnorm_and_mix_backward`)

    Returns `(X, dX, {name: gradient})` for the trainable `names`.
    """
    a, y_b = one_pass.split_channels(y, self._split)
    dy_a, dy_b = one_pass.split_channels(dy, self._split)
    trainable = {n: p[n] for n in names}
    with tf.GradientTape() as network_tape:
      network_tape.watch([a] + list(trainable.values()))
      h, _ = self._network(a, {**p, **trainable})
    b, db, dh = affine_coupling.coupling_backward(y_b, h, dy_b, dlog_det,
                                                  self._coupling)
    da, d_network = network_tape.gradient(h, [a, trainable],
                                          output_gradients=dh)
    x, dx, d_mix = self._actnorm_and_mix_backward(
        tf.concat([a, b], axis=-1), tf.concat([dy_a + da, db], axis=-1),
        dlog_det, {**p, **trainable})
    grads = {}
    for n in names:
      parts = [g for g in (d_network[n], d_mix.get(n)) if g is not None]
      grads[n] = tf.add_n(parts) if parts else tf.zeros_like(trainable[n])
    return x, dx, grads

  def _actnorm_and_mix_backward(self, x2, dx2, dlog_det, p):
    """Inverts `_actnorm_and_mix` and back-propagates through it, by hand.

    With `U = (X + shift) * exp(log_scale)`, `X2 = U W` (a 1x1 convolution)
    and `log|det| = HW (sum log_scale + log|det W|)` for each image, given
    `dX2` and `dlog_det` (`[N]`):

      U = X2 W^-1,   X = U exp(-log_scale) - shift,
      dU = dX2 W^T,  dW = sum over pixels of U^T dX2,
      dX = dU exp(log_scale),   dshift = sum dX,
      dlog_scale = sum dU * U + HW sum dlog_det,

    and `W`, `log|det W|` get `dW` and `HW sum dlog_det` (the loop's inputs:
    the gradient reaches the LU factors outside it, see `_stacked_tensors`).
    A permutation (`reverse`, `shuffle`) just permutes `X2` and `dX2` back.

    Returns `(X, dX, {name: gradient})`.
    """
    c = self._num_channels
    pixels = tf.cast(tf.reduce_prod(tf.shape(x2)[-3:-1]), x2.dtype)
    total = tf.reduce_sum(dlog_det) * pixels  # d loss / d log|det|.
    d_mix = {}
    x, _, u = self._inverse_actnorm_and_mix(x2, p)
    if self._permutation in ('reverse', 'shuffle'):
      du, _ = self._mix(dx2, p, inverse=True)  # A permutation's transpose.
    else:
      du = conv.conv1x1(dx2, tf.transpose(p['mix_weight'])[tf.newaxis,
                                                            tf.newaxis])
      d_mix['mix_weight'] = tf.matmul(tf.reshape(u, [-1, c]),
                                      tf.reshape(dx2, [-1, c]),
                                      transpose_a=True)
      d_mix['mix_log_det'] = total
    dx = du * tf.exp(p['actnorm_log_scale'])
    pixel_axes = list(range(len(x2.shape) - 1))
    d_mix['actnorm_shift'] = tf.reduce_sum(dx, axis=pixel_axes)
    d_mix['actnorm_log_scale'] = (
        tf.reduce_sum(du * u, axis=pixel_axes) + total)
    return x, dx, d_mix

  def _run_initialize(self, x):
    """The forward pass that sets every ActNorm from its input, step by step."""
    stacked = self._stacked_tensors()

    def body(k, x, log_det):
      p = self._step_parameters(stacked, k)
      y, step_log_det, updates = self._step_forward(x, p, init=True)
      # assign(tensor_scatter_nd_update(...)): a MirroredVariable (init in
      # cross-replica context) has no scatter_nd_update.
      ops = [self._params[n].assign(tf.tensor_scatter_nd_update(
          self._params[n], [[k]], value[tf.newaxis]))
             for n, value in updates.items()]
      with tf.control_dependencies(ops):
        return k + 1, tf.identity(y), log_det + step_log_det

    log_det = tf.zeros(tf.shape(x)[:1], x.dtype)
    _, y, log_det = self._loop(body, (x, log_det))
    with tf.control_dependencies([self.initialized.assign(True)]):
      return tf.identity(y), tf.identity(log_det)

  def _run(self, x):
    stacked = self._stacked_tensors()
    if self._memory == 'invertible':
      return self._run_forward_invertible(x, stacked)
    return self._run_forward(x, stacked)

  def _forward_and_log_det(self, x):
    self._check_shape(x)
    batch_shape = tf.shape(x)[:-3]
    flat = tf.reshape(x, tf.concat([[-1], tf.shape(x)[-3:]], axis=0))
    with tf.init_scope():  # The flag's value now, also while tracing.
      initialized = bool(self.initialized.numpy())
    if initialized or (tf.distribute.has_strategy() and
                       not tf.distribute.in_cross_replica_context()):
      # Initialized already (the flag never goes back), or in a replica
      # context, where the initialization is not done.
      y, log_det = self._run(flat)
    elif tf.executing_eagerly():
      y, log_det = self._run_initialize(flat)
    else:
      # Initialize (once) in a branch of its own, then run the differentiable
      # pass after it: a custom gradient inside a `tf.cond` branch cannot be
      # differentiated by cond_v2.
      maybe_init = tf.cond(
          self.initialized, lambda: tf.constant(True),
          lambda: self._initialized_after(
              self._run_initialize(tf.stop_gradient(flat))))
      with tf.control_dependencies([maybe_init]):
        y, log_det = self._run(tf.identity(flat))
    return (tf.reshape(y, tf.shape(x)),
            tf.reshape(log_det, batch_shape))

  def _initialized_after(self, outputs):
    with tf.control_dependencies(tf.nest.flatten(outputs)):
      return tf.identity(self.initialized)

  def _inverse_and_log_det(self, y):
    self._check_shape(y)
    stacked = self._stacked_tensors()
    flat = tf.reshape(y, tf.concat([[-1], tf.shape(y)[-3:]], axis=0))

    def body(k, y, log_det):
      x, step_log_det = self._step_inverse(
          y, self._step_parameters(stacked, k))
      return k - 1, x, log_det + step_log_det

    log_det = tf.zeros(tf.shape(flat)[:1], flat.dtype)
    _, x, log_det = self._loop(body, (flat, log_det), reverse=True)
    return (tf.reshape(x, tf.shape(y)),
            tf.reshape(log_det, tf.shape(y)[:-3]))

  def _check_shape(self, x):
    one_pass.check_channels(self.name, x, self._num_channels, image=True)


def _moments_init(x):
  """ActNorm's data-dependent values: `(-mean, -log(std + 1e-6))` per channel."""
  mean, variance = tf.nn.moments(x, axes=list(range(x.shape.rank - 1)))
  return -mean, -tf.math.log(tf.sqrt(variance) + 1e-6)

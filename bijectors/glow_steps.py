"""`K` Glow flow steps as one loop over stacked parameters."""

import numpy as np
import tensorflow as tf

from bijectors import actnorm as actnorm_lib
from bijectors import affine_coupling
from bijectors import coupling_network
from bijectors import couplings
from bijectors import data_init
from bijectors import equality
from bijectors import invertible_1x1_conv
from bijectors import memory_budget as memory_budget_lib
from bijectors import one_pass
from bijectors import permutations
from bijectors import stacked_rows

__all__ = ['GlowSteps', 'MEMORY', 'assign_single_step', 'parameter_names',
           'single_step', 'single_step_values', 'step_initial_values']

MEMORY = ('auto', 'invertible', 'store')

# Prefixes of the permutation's and the network's prepared tensors among the
# loop's tensors.
_PERMUTATION = 'permutation/'
_NETWORK = 'network/'


class GlowSteps(equality.OwnsVariables,
                one_pass.OnePassBijector):
  """`K` steps of flow, `ActNorm -> permutation -> coupling`, as one bijector.

  Step `k` ([1] Figure 2a, Table 1) maps an image `[..., H, W, C]` by

    actnorm:      X1 = (X + shift_k) * exp(log_scale_k)
    permutation:  X2 = X1 @ W_k                  (1x1 convolution)
    coupling:     [A, B] = X2,  h = NN_k(A),  Y = [A, f(B; h)]

  with `log|det|` = `H W sum(log_scale_k) + H W log|det W_k| +
  log|det df/dB|`. It is the chain of the single bijectors `ActNorm`,
  `Invertible1x1Conv` and `AffineCoupling`, computed by the same functions
  (`actnorm_forward`, the `Permutation`, `coupling_network.prepare_network`
  and `apply_prepared`, and the `CouplingTransform`) applied to row `k` of
  stacked parameters. What this class adds makes it fast and lean:

  * the `K` steps' parameters are stacked along a leading axis and the steps
    run in a `tf.while_loop`: tracing and XLA compilation cost one step,
    not `K`; what depends on the parameters alone is computed for all `K`
    steps at once, before the loop: the permutations' matrices (`W`,
    `W^-1`, `log|det W|`) and the networks' kernels with their ActNorms
    folded in, in the layouts the products take (one op per level, not one
    per step, and the same for their gradients);
  * `memory='invertible'` backpropagates through the inverse: the backward
    pass recomputes each step's input from its output ([1] Section 1, "a
    constant memory cost with respect to depth") instead of storing every
    activation, running each coupling network once more (its output both
    inverts the step and is differentiated), with each piece's `backward`;
    `memory='store'` lets autodiff store the activations (memory linear in
    `K`); `memory='auto'` stores them when a batch's activations fit
    `memory_budget` (`bijectors.memory_budget`), decided when the batch is
    traced. A level's backward loop starts only when its output's gradient
    arrives, and writes the stacked parameters' gradients in place
    (`stacked_rows`), so that an optimizer applied as gradients arrive holds
    one level's gradients at a time;
  * the coupling network runs once per pass, the log-det being computed
    with the output (`OnePassBijector`).

  `permutation` and `coupling` are registered names or objects
  (`bijectors.permutations`, `bijectors.couplings`); `hidden_actnorm` puts
  ActNorm after the network's hidden convolutions (openai/glow). ActNorm's
  data-dependent initialization works as in `ActNorm`: the first forward
  pass, while `initialized` is False (skipped in a `tf.distribute` replica
  context; use it in cross-replica context), sets every ActNorm of every
  step, in order, so that its output has zero mean and unit variance per
  channel. With `validate_args`, the checks of the single bijectors run on
  every step, with their messages.

  `step_bijectors(k)` returns step `k` as the three single bijectors
  holding copies of its weights; `assign_step(k, step)` writes them back.

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
               memory_budget=None,
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
      coupling: a registered coupling's name (`'affine'`, `'additive'`) or a
        `CouplingTransform`.
      permutation: a registered permutation's name (`'lu'`, `'plain'`,
        `'reverse'`, `'shuffle'`) or a `Permutation`.
      hidden_actnorm: ActNorm in the networks' hidden layers.
      memory: `'auto'`, `'invertible'` or `'store'`, see above.
      memory_budget: bytes the stored activations may take with
        `memory='auto'`; `None`: `memory_budget.DEFAULT_BUDGET` (1 GiB).
      compute_dtype: dtype of the coupling networks' convolutions (e.g.
        `tf.bfloat16`); `None` for `dtype`. Log-dets, ActNorm, the 1x1
        convolution and the coupling's map stay in `dtype`.
      unroll: Python `bool`; run the steps as an unrolled Python loop instead
        of a `tf.while_loop` (faster under XLA on CPU, tracing linear in K).
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
      if memory not in MEMORY:
        raise ValueError(f'`memory` must be one of {MEMORY}, got {memory!r}.')
      self._permutation = permutations.get_permutation(permutation)
      self._coupling = couplings.get_coupling(coupling)
      self._num_channels, self._num_steps = c, k
      self._hidden_channels = int(hidden_channels)
      self._hidden_actnorm = bool(hidden_actnorm)
      self._memory = memory
      self._memory_budget = float(
          memory_budget_lib.DEFAULT_BUDGET if memory_budget is None
          else memory_budget)
      self._unroll = bool(unroll)
      self._compute_dtype = tf.as_dtype(compute_dtype or dtype)
      self._split = c // 2
      self._names = parameter_names(self._permutation, hidden_actnorm)
      variables, constants = step_initial_values(
          c, k, hidden_channels, self._permutation, self._coupling,
          hidden_actnorm, seed)
      self._params = {n: tf.Variable(tf.constant(v, dtype), name=n)
                      for n, v in variables.items()}
      self._constants = {n: permutations.constant(v, dtype)
                         for n, v in constants.items()}
      self.initialized = tf.Variable(False, trainable=False,
                                     name='initialized')
      super().__init__(
          forward_min_event_ndims=3,
          dtype=dtype,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def num_steps(self):
    return self._num_steps

  @property
  def memory(self):
    return self._memory

  @property
  def memory_budget(self):
    return self._memory_budget

  def store_activation_bytes(self, height, width):
    """Estimated bytes per example `memory='store'` keeps at `H x W`."""
    return memory_budget_lib.store_activation_bytes(
        height, width, self._num_channels, self._num_steps,
        self._hidden_channels, self.dtype, self._compute_dtype)

  def memory_for(self, shape):
    """The memory mode a batch of static `shape` `[N, H, W, C]` runs in."""
    if self._memory != 'auto':
      return self._memory
    shape = tf.TensorShape(shape)
    return memory_budget_lib.choose_memory(
        shape[0], self.store_activation_bytes(shape[1], shape[2]),
        self._memory_budget)

  @property
  def permutation(self):
    return self._permutation

  @property
  def coupling(self):
    return self._coupling

  @property
  def stacked_variables(self):
    """The stacked parameters by name, each with leading axis `K`."""
    return dict(self._params)

  @property
  def constants(self):
    """The permutations' fixed tensors by name (e.g. the LU form's `P`),
    each with leading axis `K`: rebuilt from the seed, not checkpointed."""
    return dict(self._constants)

  # --- One step as the single bijectors -----------------------------------

  def step_values(self, k):
    """Step `k`'s variables and constants, by name, as numpy arrays."""
    return {n: t[k].numpy() for n, t in {**self._params,
                                         **self._constants}.items()}

  def step_bijectors(self, k):
    """Step `k` as `[ActNorm, Invertible1x1Conv, AffineCoupling]` (forward
    order), new bijectors holding copies of its weights: their chain is the
    same map as this loop's step `k`."""
    k = self._check_step(k)
    return single_step(
        self._num_channels, self._hidden_channels, self._permutation,
        self._coupling, self._hidden_actnorm, self.step_values(k),
        initialized=bool(self.initialized.numpy()),
        compute_dtype=self._compute_dtype, dtype=self.dtype,
        validate_args=self.validate_args, name=f'{self.name}_step_{k}')

  def assign_step(self, k, step):
    """Writes the weights of `step` (the three bijectors of
    `step_bijectors`, e.g. after training them) into step `k`."""
    self.assign_step_values(k, single_step_values(step))

  def assign_step_values(self, k, values):
    """Writes `values` (by name, as `step_values` returns them) into step
    `k`; the constants in `values` must be step `k`'s."""
    k = self._check_step(k)
    if set(values) != set(self._params) | set(self._constants):
      raise ValueError(
          f'{self.name}: a step of this loop has the parameters '
          f'{sorted(set(self._params) | set(self._constants))}, got '
          f'{sorted(values)}.')
    for n, value in self._constants.items():
      _check_constant(f'{self.name} step {k}', n, values[n], value[k])
    for n, variable in self._params.items():
      variable[k].assign(tf.cast(values[n], variable.dtype))

  def _check_step(self, k):
    if not 0 <= int(k) < self._num_steps:
      raise ValueError(f'{self.name}: step {k} out of range, the loop has '
                       f'{self._num_steps} steps.')
    return int(k)

  # --- One step, as functions of its parameters `p` -----------------------

  def _network(self, a, p, init=False):
    """`(NN(a), init values)`: from the raw parameters in `p` with `init`,
    else from the prepared ones (`_stacked_tensors`)."""
    if init:
      return coupling_network.apply_network(
          a, p, self._hidden_actnorm, self._compute_dtype, self.dtype,
          init=True)
    return coupling_network.apply_prepared(
        a, _part(p, _NETWORK), self._compute_dtype, self.dtype), {}

  def _step_forward(self, x, p, init=False):
    """One step on `[N, H, W, C]`: returns `(Y, log|det| [N], init values)`."""
    pixels = _pixels(x)
    updates = {}
    if init:
      shift, log_scale = data_init.moments_init(x)
      updates.update(actnorm_shift=shift, actnorm_log_scale=log_scale)
    else:
      shift, log_scale = p['actnorm_shift'], p['actnorm_log_scale']
    x, actnorm_log_det = actnorm_lib.actnorm_forward(x, shift, log_scale)
    x, mix_log_det = self._permutation.forward(x, _part(p, _PERMUTATION))
    a, b = one_pass.split_channels(x, self._split)
    h, network_updates = self._network(a, p, init=init)
    updates.update(network_updates)
    b, coupling_log_det = self._coupling.forward(b, h)
    return (tf.concat([a, b], axis=-1),
            pixels * (actnorm_log_det + mix_log_det) + coupling_log_det,
            updates)

  def _step_inverse(self, y, p):
    """The inverse of one step on `[N, H, W, C]`: `(X, log|det dX/dY| [N])`."""
    a, b = one_pass.split_channels(y, self._split)
    h, _ = self._network(a, p)
    b, log_det = self._coupling.inverse(b, h)
    x, mix_log_det = self._permutation.inverse(tf.concat([a, b], axis=-1),
                                               _part(p, _PERMUTATION))
    x, actnorm_log_det = actnorm_lib.actnorm_inverse(
        x, p['actnorm_shift'], p['actnorm_log_scale'])
    return x, log_det + _pixels(y) * (mix_log_det + actnorm_log_det)

  def _step_backward(self, y, dy, dlog_det, p):
    """One step's input and gradients, recomputed from its output `y`.

    The coupling leaves `A` unchanged, so the network output `h = NN(A)`
    that inverts the step is also the forward pass's: the network runs once
    here, under a tape, and the gradient is taken piece by piece, from the
    output back:

      coupling:     (B, dB, dh) = CouplingTransform.backward(Y_b, h, dY_b,
                                                             dlog_det)
      network:      (dA_net, dθ_NN) = vjp of NN at A, with dh
      permutation:  (X1, dX1, dθ_W) = Permutation.backward(X2 = [A, B],
                                        dX2 = [dY_a + dA_net, dB], ...)
      actnorm:      (X, dX, dθ_an) = actnorm_backward(X1, dX1, ...)

    where the per-pixel log-dets of the permutation and ActNorm get the
    gradient `H W sum(dlog_det)`. Returns `(X, dX, {name: gradient})`.
    """
    a, y_b = one_pass.split_channels(y, self._split)
    dy_a, dy_b = one_pass.split_channels(dy, self._split)
    network = {n: t for n, t in p.items() if n.startswith(_NETWORK)}
    with tf.GradientTape() as network_tape:
      network_tape.watch([a] + list(network.values()))
      h, _ = self._network(a, {**p, **network})
    b, db, dh = self._coupling.backward(y_b, h, dy_b, dlog_det)
    da, grads = network_tape.gradient(h, [a, network], output_gradients=dh)
    pixel_log_det_grad = tf.reduce_sum(dlog_det) * _pixels(y)
    x, dx, d_permutation = self._permutation.backward(
        tf.concat([a, b], axis=-1), tf.concat([dy_a + da, db], axis=-1),
        pixel_log_det_grad, _part(p, _PERMUTATION))
    x, dx, grads['actnorm_shift'], grads['actnorm_log_scale'] = (
        actnorm_lib.actnorm_backward(x, dx, pixel_log_det_grad,
                                     p['actnorm_shift'],
                                     p['actnorm_log_scale']))
    grads.update({_PERMUTATION + n: g for n, g in d_permutation.items()})
    return x, dx, grads

  # --- The loops ------------------------------------------------------------

  def _stacked_tensors(self, prepare_network=True):
    """The steps' tensors, stacked along `K`: what the loops index.

    The variables, read once, except that the permutation's variables and
    constants are replaced by what the steps use (`Permutation.prepare`,
    e.g. `W`, `W^-1` and `log|det W|`), and the networks' by the linear maps
    they run (`coupling_network.prepare_network`: ActNorm folded into the
    kernels, kernels in the layouts the products take), all computed for
    the `K` steps at once, before the loop; the gradient reaches the
    parameters through that batched computation. `prepare_network=False`
    keeps the networks' raw parameters (the data-dependent init).
    """
    tensors = {n: tf.convert_to_tensor(v) for n, v in self._params.items()}
    permutation = {n: tensors.pop(n) for n in self._names['permutation']}
    permutation.update(self._constants)
    prepared = self._permutation.prepare(permutation)
    tensors.update({_PERMUTATION + n: t for n, t in prepared.items()})
    if prepare_network:
      network = coupling_network.prepare_network(
          {n: tensors.pop(n) for n in self._names['network']},
          self._hidden_actnorm, self._compute_dtype)
      tensors.update({_NETWORK + n: t for n, t in network.items()})
    return tensors

  def _step_parameters(self, stacked, k):
    return stacked_rows.read(stacked, k)

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
    non_differentiable = {_PERMUTATION + n
                          for n in self._permutation.non_differentiable}
    differentiable = [n for n in names if n not in non_differentiable and
                      stacked[n].dtype.is_floating]

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
          p = self._step_parameters(params, k)
          x, dx, dp = self._step_backward(y, dy, dlog_det, p)
          rows = [dp[n] if dp.get(n) is not None else tf.zeros_like(p[n])
                  for n in differentiable]
          return k - 1, x, dx, stacked_rows.write(grads, k, rows)
        _, _, dx, grads = self._loop(body, (y_start, dy, grads),
                                     reverse=True)
        stacked_grads = dict(zip(differentiable,
                                 map(stacked_rows.stack, grads)))
        return [dx] + [stacked_grads.get(n) for n in names]

      return (y, log_det), grad

    return run(x, *[stacked[n] for n in names])

  def _run_initialize(self, x):
    """The forward pass that sets every ActNorm from its input, step by step."""
    stacked = self._stacked_tensors(prepare_network=False)

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
    if self.memory_for(x.shape) == 'invertible':
      return self._run_forward_invertible(x, stacked)
    # Autodiff differentiates the loop: rows of `TensorArray`s, whose
    # gradients add up in O(K) (`stacked_rows`).
    return self._run_forward(x, stacked_rows.readable(stacked))

  def _forward_and_log_det(self, x):
    self._check_shape(x)
    flat, unflatten = one_pass.flatten_batch(x)
    mode = data_init.init_mode(self.initialized)
    if mode == data_init.SKIP:
      return unflatten(*self._run(flat))
    if mode == data_init.EAGER:
      return unflatten(*self._run_initialize(flat))
    # Initialize (once) in a branch of its own, then run the differentiable
    # pass after it: a custom gradient inside a `tf.cond` branch cannot be
    # differentiated by cond_v2.
    maybe_init = tf.cond(
        self.initialized, lambda: tf.constant(True),
        lambda: self._initialized_after(
            self._run_initialize(tf.stop_gradient(flat))))
    with tf.control_dependencies([maybe_init]):
      return unflatten(*self._run(tf.identity(flat)))

  def _initialized_after(self, outputs):
    with tf.control_dependencies(tf.nest.flatten(outputs)):
      return tf.identity(self.initialized)

  def _inverse_and_log_det(self, y):
    self._check_shape(y)
    # Row gathers, not `stacked_rows.readable` (`_run`): decoding seldom
    # needs the parameters' gradients, and a gather copies only its row.
    stacked = self._stacked_tensors()
    flat, unflatten = one_pass.flatten_batch(y)

    def body(k, y, log_det):
      x, step_log_det = self._step_inverse(
          y, self._step_parameters(stacked, k))
      return k - 1, x, log_det + step_log_det

    log_det = tf.zeros(tf.shape(flat)[:1], flat.dtype)
    _, x, log_det = self._loop(body, (flat, log_det), reverse=True)
    return unflatten(x, log_det)

  def _check_shape(self, x):
    one_pass.check_channels(self.name, x, self._num_channels, image=True)

  def _parameter_control_dependencies(self, is_init):
    if not self.validate_args or is_init:
      return []
    return self._permutation.assertions({**self._params, **self._constants})


def step_initial_values(num_channels, num_steps, hidden_channels, permutation,
                        coupling, hidden_actnorm, seed):
  """The initial parameters of `num_steps` flow steps, stacked along K.

  Returns `(variables, constants)`, dicts of numpy arrays with leading axis
  `K`: ActNorm's `actnorm_shift` and `actnorm_log_scale` (zero until the
  data-dependent init), the permutation's (`Permutation.initial_values`)
  and the coupling network's (`network_initial_values`), drawn in that
  order from one generator seeded by `seed`. Both model forms build their
  steps from these, so a fused and a chain model with the same seed start
  equal.
  """
  permutation = permutations.get_permutation(permutation)
  coupling = couplings.get_coupling(coupling)
  c, k = int(num_channels), int(num_steps)
  rng = np.random.default_rng(seed)
  variables = dict(actnorm_shift=np.zeros((k, c)),
                   actnorm_log_scale=np.zeros((k, c)))
  permutation_variables, constants = permutation.initial_values(c, k, rng)
  variables.update(permutation_variables)
  variables.update(coupling_network.network_initial_values(
      c // 2, coupling.network_channels(c - c // 2), hidden_channels,
      hidden_actnorm, k, rng))
  return variables, constants


def single_step(num_channels, hidden_channels, permutation, coupling,
                hidden_actnorm, values, initialized=False, compute_dtype=None,
                dtype=tf.float32, validate_args=False, name='step'):
  """One flow step as `[ActNorm, Invertible1x1Conv, AffineCoupling]`
  (forward order), with the parameters `values` (one row of
  `step_initial_values`, or `GlowSteps.step_values(k)`)."""
  values = dict(values)
  names = parameter_names(permutation, hidden_actnorm)
  actnorm = actnorm_lib.ActNorm(num_channels, dtype=dtype,
                                validate_args=validate_args,
                                name=f'{name}_actnorm')
  actnorm.shift.assign(tf.cast(values.pop('actnorm_shift'), dtype))
  actnorm.log_scale.assign(tf.cast(values.pop('actnorm_log_scale'), dtype))
  mix = invertible_1x1_conv.Invertible1x1Conv(
      num_channels, permutation,
      initial_values={n: values.pop(n) for n in names['permutation'] +
                      names['constants']},
      dtype=dtype, validate_args=validate_args, name=f'{name}_permutation')
  coupling_bijector = affine_coupling.AffineCoupling(
      num_channels, hidden_channels, kind=coupling,
      hidden_actnorm=hidden_actnorm, compute_dtype=compute_dtype,
      initial_values=values, dtype=dtype, validate_args=validate_args,
      name=f'{name}_coupling')
  if initialized:
    actnorm.initialized.assign(True)
    coupling_bijector.network.initialized.assign(True)
  return [actnorm, mix, coupling_bijector]


def single_step_values(step):
  """The weights of a step `[ActNorm, Invertible1x1Conv, AffineCoupling]`,
  by the names `GlowSteps` stacks them under, as numpy arrays."""
  values = {}
  for bijector in step:
    values.update({n: np.asarray(t) for n, t in
                   bijector.step_tensors.items()})
  return values


def assign_single_step(step, values):
  """Writes `values` (by name) into the variables of a step `[ActNorm,
  Invertible1x1Conv, AffineCoupling]`; its constants must equal theirs."""
  for bijector in step:
    for n, tensor in bijector.step_tensors.items():
      if isinstance(tensor, tf.Variable):
        tensor.assign(tf.cast(values[n], tensor.dtype))
      else:
        _check_constant(bijector.name, n, values[n], tensor)


def _check_constant(owner, name, given, constant):
  if not np.array_equal(np.asarray(given), np.asarray(constant)):
    raise ValueError(f'{owner}: the fixed {name!r} given differs from its '
                     'own (were the two built with the same seed?).')


def parameter_names(permutation, hidden_actnorm):
  """The names of one step's parameters, by piece: `{'actnorm': [...],
  'permutation': [...], 'constants': [...], 'network': [...]}`."""
  variables, constants = permutations.get_permutation(
      permutation).initial_values(2, 1, np.random.default_rng(0))
  return dict(actnorm=['actnorm_shift', 'actnorm_log_scale'],
              permutation=sorted(variables), constants=sorted(constants),
              network=sorted(coupling_network.network_initial_values(
                  1, 1, 1, hidden_actnorm, 1, np.random.default_rng(0))))


def _part(p, prefix):
  """The prepared tensors under `prefix` (`_PERMUTATION`, `_NETWORK`) among
  one step's parameters, by their own names."""
  return {n[len(prefix):]: t for n, t in p.items() if n.startswith(prefix)}


def _pixels(x):
  return tf.cast(tf.reduce_prod(tf.shape(x)[-3:-1]), x.dtype)


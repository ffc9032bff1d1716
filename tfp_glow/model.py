"""Glow as a `tfd.TransformedDistribution` over a standard normal.

Multi-scale architecture ([1] Figure 2), read in the data-to-latent direction
(each bijector's `forward`); `L` levels of `K` steps:

    x in [0, 1]^(H, W, C)
      |  Shift(-0.5)                      pixels to [-0.5, 0.5], openai/glow
      v
    level 1:  Squeeze ->  K x [ActNorm -> Invertible1x1Conv -> AffineCoupling]
              -> LearnedPriorSplit -> FactorOut: half the channels -> eps_1
              (`fused=True`: the K steps run as one `GlowSteps` loop over
              stacked weights; `fused=False`: they are the chain of the
              3 K single bijectors; the same functions compute both)
      v
    level 2:  Squeeze -> K steps -> LearnedPriorSplit -> FactorOut -> eps_2
      v   ...
    level L:  Squeeze -> K steps -> learned top prior -> flatten -> eps_L

    z = concat([eps_1, ..., eps_L]) ~ N(0, I),   dim z = H * W * C

`dist = glow(...)` is `TransformedDistribution(N(0, I), Invert(encoder))`, so

    dist.log_prob(x) = log N(encoder(x); 0, I) + log|det d encoder / dx|

is the exact log-density of continuous images `x` in `[0, 1]^D` (the
convention of this package: discrete pixels are dequantized into that cube by
`tfp_glow.dequantize`; see `tfp_glow.bits_per_dim`), and `dist.sample(n)`
decodes standard-normal draws.

    dist = tfp_glow.glow(image_shape=(32, 32, 3), num_levels=3, num_steps=32)
    tfp_glow.initialize(dist, first_batch)   # ActNorm data-dependent init
    loss = -tf.reduce_mean(dist.log_prob(images))

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import bijectors
from tfp_glow import classifier as classifier_lib

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['GlowDistribution', 'forward_order', 'glow', 'initialize',
           'memory_plan', 'step_blocks', 'step_shapes']


class GlowDistribution(tfd.TransformedDistribution):
  """A Glow model: `TransformedDistribution(N(0, I), Invert(encoder))`.

  Build it with `tfp_glow.glow(...)`. Beyond the `TransformedDistribution`
  interface it carries the configuration (`image_shape`, `num_levels`, ...)
  and the shapes of the per-level latents, and it checks images given to
  `log_prob`/`prob` at trace time: a floating dtype and an event shape equal
  to `image_shape`. A class-conditional model also owns openai/glow's
  classifier head on the top latent (`classifier`, see
  `tfp_glow.classifier`).
  """

  def __init__(self, encoder, image_shape, num_levels, dtype=tf.float32,
               config=None, classifier=None, validate_args=False,
               name='Glow'):
    parameters = dict(locals())
    self._image_shape = tuple(int(d) for d in image_shape)
    self._num_levels = int(num_levels)
    self._config = dict(config or {})
    self._encoder = encoder
    self._classifier = classifier
    size = int(np.prod(self._image_shape))
    base = tfd.Sample(
        tfd.Normal(tf.zeros([], dtype), tf.ones([], dtype)),
        sample_shape=[size])
    super().__init__(
        distribution=base,
        bijector=tfb.Invert(encoder),
        validate_args=validate_args,
        parameters=parameters,
        name=name)

  @property
  def encoder(self):
    """The data-to-latent bijector (`images -> flat z`)."""
    return self._encoder

  @property
  def image_shape(self):
    return self._image_shape

  @property
  def num_levels(self):
    return self._num_levels

  @property
  def config(self):
    """The keyword arguments `glow()` was called with."""
    return dict(self._config)

  @property
  def num_classes(self):
    """The number of classes of a class-conditional model, else None."""
    return self._config.get('num_classes')

  @property
  def classifier(self):
    """The class-conditional model's `ClassifierHead`, else None."""
    return self._classifier

  @property
  def top_prior(self):
    """The last level's prior bijector (`z_L -> eps_L`), or None (N(0, I))."""
    for module in self._encoder.submodules:
      if isinstance(module, (bijectors.ClassConditionalPrior,
                             bijectors.ActNorm)) and module.name.startswith(
                                 'top_prior'):
        return module
    return None

  @property
  def latent_shapes(self):
    """Shapes of the per-level latents `eps_1, ..., eps_L`, in flat order."""
    return latent_shapes(self._image_shape, self._num_levels)

  def check_images(self, images):
    """Raises unless `images` is a floating tensor `[..., H, W, C]`."""
    dtype = getattr(images, 'dtype', None)
    if dtype is None:
      images = np.asarray(images)
      dtype = images.dtype
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
      raise TypeError(
          f'{self.name}: expected floating images in [0, 1] of dtype '
          f'{self.dtype.name}, got dtype {dtype.name}; convert integer pixels '
          'with tfp_glow.dequantize (or use tfp_glow.bits_per_dim).')
    shape = tf.TensorShape(getattr(images, 'shape', None))
    if shape.rank is not None and (
        shape.rank < 3 or
        not shape[-3:].is_compatible_with(self._image_shape)):
      raise ValueError(
          f'{self.name}: expected images of shape [..., '
          f'{", ".join(map(str, self._image_shape))}], got shape {shape}.')

  def _log_prob(self, value, **kwargs):
    # A fresh tensor per call: TFP's bijector cache keys on the input tensor,
    # so without it a second `log_prob(x)` of the same eager tensor would
    # return the value (and the gradient-less result) of the first call, even
    # after the weights changed. Within the call the cache still shares each
    # coupling network's output between the inverse and its log-det.
    batch = value.shape[:-3]
    if batch.is_fully_defined() and batch.num_elements() == 0:
      # No images: no density to compute. (Eager, the flow handles an empty
      # batch too; in a graph, Grappler drops the reshape that corrects
      # TensorFlow's CPU conv2d output shape for one, see bijectors.conv.)
      return tf.zeros(batch, self.dtype)
    return super()._log_prob(tf.identity(value), **kwargs)

  def log_prob(self, value, name='log_prob', **kwargs):
    self.check_images(value)
    return super().log_prob(value, name=name, **kwargs)

  def prob(self, value, name='prob', **kwargs):
    self.check_images(value)
    return super().prob(value, name=name, **kwargs)

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    return dict()


def step_shapes(image_shape, num_levels):
  """Shapes `(H, W, C)` of each level's flow-step inputs (after squeezing);
  the split keeps `C // 2` channels for the next level."""
  h, w, c = image_shape
  shapes = []
  for _ in range(num_levels):
    h, w, c = h // 2, w // 2, 4 * c
    shapes.append((h, w, c))
    c //= 2
  return shapes


def _store_bytes_per_level(image_shape, num_levels, num_steps,
                           hidden_channels, dtype, compute_dtype):
  return [bijectors.memory_budget.store_activation_bytes(
      h, w, c, num_steps, hidden_channels, dtype, compute_dtype)
          for h, w, c in step_shapes(image_shape, num_levels)]


def memory_plan(dist, batch_size):
  """What `memory='auto'` does for a batch of `batch_size` images.

  Returns:
    A dict: `memory` (`'store'`, `'invertible'`, or the fixed mode of a
    model built with one), `store_bytes` (the estimated activations of the
    batch in `'store'`) and `budget` (bytes; `None` for a fixed mode).
  """
  blocks = [b for b in step_blocks(dist)
            if isinstance(b, bijectors.GlowSteps)]
  if not blocks:  # The chain form stores its activations.
    return dict(memory='store', store_bytes=None, budget=None)
  shapes = step_shapes(dist.event_shape, len(blocks))
  store_bytes = int(batch_size) * sum(
      b.store_activation_bytes(h, w) for b, (h, w, _) in zip(blocks, shapes))
  modes = {b.memory_for([batch_size, h, w, c])
           for b, (h, w, c) in zip(blocks, shapes)}
  fixed = blocks[0].memory != 'auto'
  return dict(memory=modes.pop() if len(modes) == 1 else sorted(modes),
              store_bytes=store_bytes,
              budget=None if fixed else round(
                  sum(b.memory_budget for b in blocks)))


def latent_shapes(image_shape, num_levels):
  """Shapes of the per-level latents of a Glow over `image_shape` images:
  the half each split factors out, and the last level's whole input."""
  shapes = step_shapes(image_shape, num_levels)
  return [(h, w, c - c // 2) for h, w, c in shapes[:-1]] + shapes[-1:]


def glow(image_shape,
         num_levels,
         num_steps,
         hidden_channels=512,
         coupling='affine',
         permutation='lu',
         learn_top_prior=True,
         num_classes=None,
         hidden_actnorm=True,
         memory=None,
         memory_budget=None,
         compute_dtype=None,
         unroll_steps=False,
         fused=True,
         seed=0,
         dtype=tf.float32,
         validate_args=False,
         name='Glow'):
  """Builds a Glow model over images of shape `image_shape`.

  Args:
    image_shape: `(H, W, C)`; `H` and `W` must be divisible by
      `2 ** num_levels`.
    num_levels: `L`, the number of scales (3 for CIFAR-10, 6 for 256x256
      CelebA-HQ in the paper).
    num_steps: `K`, flow steps per level (32 in the paper).
    hidden_channels: width of the coupling networks (512 in the paper).
    coupling: the coupling's map, by name: `'affine'` or `'additive'`, or one
      registered with `bijectors.register_coupling`.
    permutation: `'lu'` or `'plain'` invertible 1x1 convolution, the
      paper's ablations `'reverse'` and `'shuffle'` (fixed permutations), or
      one registered with `bijectors.register_permutation`.
    learn_top_prior: learn a per-channel mean and scale for the last level's
      prior (openai/glow `--learntop`); else N(0, I).
    num_classes: `None`, or the number of classes of a class-conditional
      Glow (openai/glow `--ycond`): the top prior's mean and scale then
      depend on the label, passed as TFP's conditional bijectors take it,
      `dist.log_prob(x, bijector_kwargs={'conditional_input': labels})` (int
      class ids or class probabilities); likewise `dist.sample`,
      `tfp_glow.sample(..., labels=...)` and `encode`/`decode`.
    hidden_actnorm: ActNorm in the coupling networks' hidden layers
      (openai/glow's default).
    memory: how gradients get the flow steps' activations. `'auto'` (the
      default with `fused=True`): `'store'` when a batch's activations fit
      `memory_budget`, else `'invertible'`, decided when the batch is traced
      (`bijectors.memory_budget`; `memory_plan` says what a batch size
      gets). `'invertible'`: recompute each step's input from its output
      (memory constant in `num_steps`, [1] Section 1). `'store'` (what
      `fused=False` does, `'auto'` there included): autodiff stores the
      activations (faster, memory linear in depth).
    memory_budget: bytes the stored activations of one batch may take with
      `memory='auto'`; `None`: `bijectors.memory_budget.DEFAULT_BUDGET`
      (1 GiB).
    compute_dtype: dtype of the coupling networks' convolutions, e.g.
      `tf.bfloat16` (CPU/TPU) or `tf.float16` (GPU); log-dets, the priors and
      the density stay in `dtype`. `None`: `dtype`.
    unroll_steps: run each level's K steps as an unrolled Python loop instead
      of a `tf.while_loop`: tracing grows with K, but XLA on CPU trains much
      faster (it runs convolution gradients inside while loops slowly). For
      `jit_compile=True` on CPU.
    fused: `True`: each level's K steps are one `GlowSteps` loop (fast,
      `memory='invertible'` available); `False`: they are the literal chain
      of `K x [ActNorm, Invertible1x1Conv, AffineCoupling]`. Both compute the
      same functions, start from the same weights for the same `seed`, and
      convert into each other (`tfp_glow.convert`, `tfp_glow.restore`).
    seed: Python `int`, seed of the random initial weights.
    dtype: `tf.float32` or `tf.float64`.
    validate_args: Python `bool`, run-time checks in every bijector.
    name: Python `str` name.

  Returns:
    A `GlowDistribution` (a `tfd.TransformedDistribution`) with event shape
    `image_shape`, supported on continuous images in `[0, 1]^D`.

  Raises:
    ValueError: on a bad shape, level count or option.
    TypeError: a count or size that is not a whole number, or a dtype that
      is not floating.
  """
  image_shape = tuple(_whole_number('image_shape', d) for d in image_shape)
  num_levels = _whole_number('num_levels', num_levels)
  num_steps = _whole_number('num_steps', num_steps)
  hidden_channels = _whole_number('hidden_channels', hidden_channels)
  if num_classes is not None:
    num_classes = _whole_number('num_classes', num_classes)
  config = dict(locals())
  config['dtype'] = tf.as_dtype(dtype).name
  if compute_dtype is not None:
    config['compute_dtype'] = tf.as_dtype(compute_dtype).name
    compute_dtype = tf.as_dtype(compute_dtype)
  dtype = tf.as_dtype(dtype)
  if len(image_shape) != 3 or min(image_shape) < 1:
    raise ValueError(f'`image_shape` must be (H, W, C), got {image_shape}.')
  if num_levels < 1 or num_steps < 1:
    raise ValueError('`num_levels` and `num_steps` must be positive, got '
                     f'{num_levels} and {num_steps}.')
  factor = 2 ** num_levels
  if image_shape[0] % factor or image_shape[1] % factor:
    raise ValueError(
        f'image height and width must be divisible by 2**num_levels = '
        f'{factor}, got image_shape {image_shape} with num_levels '
        f'{num_levels}.')
  bijectors.get_coupling(coupling)  # ValueError naming the choices.
  bijectors.get_permutation(permutation)
  if memory is None or (memory == 'auto' and not fused):
    # The chain form has one mode: it stores its activations.
    memory = 'auto' if fused else 'store'
    config['memory'] = memory
  if memory not in bijectors.glow_steps.MEMORY:
    raise ValueError(f'`memory` must be one of {bijectors.glow_steps.MEMORY}, '
                     f'got {memory!r}.')
  if not fused and memory != 'store':
    raise ValueError(f"`memory={memory!r}` needs `fused=True`: the chain of "
                     "single bijectors stores its activations ('store').")
  if hidden_channels < 1:
    raise ValueError(f'`hidden_channels` must be positive, got '
                     f'{hidden_channels}.')
  if not tf.as_dtype(dtype).is_floating:
    raise TypeError(f'`dtype` must be floating, got {dtype}.')

  if num_classes is not None and num_classes < 2:
    raise ValueError(f'`num_classes` must be None or >= 2, got {num_classes}.')

  if memory_budget is not None and int(memory_budget) <= 0:
    raise ValueError(f'`memory_budget` must be a positive number of bytes, '
                     f'got {memory_budget}.')
  options = dict(hidden_channels=hidden_channels,
                 coupling=coupling, permutation=permutation,
                 learn_top_prior=learn_top_prior, num_classes=num_classes,
                 hidden_actnorm=hidden_actnorm, memory=memory,
                 compute_dtype=compute_dtype, unroll=unroll_steps,
                 fused=bool(fused), dtype=dtype,
                 validate_args=validate_args)
  if fused:
    # Each level's share of the budget, in proportion to its activations:
    # every level then makes the choice the whole model makes.
    costs = _store_bytes_per_level(image_shape, num_levels,
                                   num_steps, hidden_channels,
                                   dtype, compute_dtype)
    budget = (bijectors.memory_budget.DEFAULT_BUDGET
              if memory_budget is None else int(memory_budget))
    options['memory_budgets'] = [budget * cost / sum(costs) for cost in costs]
  with tf.name_scope(name):
    levels = _level(image_shape, 0, num_levels, num_steps,
                    seed=int(seed), **options)
    encoder = bijectors.ConditionalChain(
        [levels, tfb.Shift(tf.constant(-0.5, dtype))],  # [0,1] -> [-0.5,0.5]
        validate_args=validate_args, name='encoder')
    classifier = None
    if num_classes is not None:
      # openai/glow's ycond classifier on the top latent's channels.
      top_channels = latent_shapes(image_shape, num_levels)[-1][-1]
      classifier = classifier_lib.ClassifierHead(
          top_channels, num_classes, dtype=dtype)
  return GlowDistribution(encoder, image_shape, num_levels, dtype=dtype,
                          config=config, classifier=classifier,
                          validate_args=validate_args, name=name)


def _whole_number(name, value):
  """`value` as a Python int; a `TypeError` naming `name` for a bool, a
  fraction or a non-number (`int()` would truncate 2.5 to 2 unseen)."""
  try:
    whole = int(value)
    exact = not isinstance(value, (bool, str)) and whole == value
  except (TypeError, ValueError):
    exact = False
  if not exact:
    raise TypeError(f'`{name}` must be an integer, got {value!r}.')
  return whole


def _steps(num_channels, num_steps, seed, fused, dtype, validate_args,
           **step_options):
  """A level's K flow steps: one `GlowSteps`, or the chain of the single
  bijectors built from the same initial values."""
  if fused:
    return bijectors.GlowSteps(num_channels, num_steps, seed=seed,
                               dtype=dtype, validate_args=validate_args,
                               name='steps', **step_options)
  options = {n: step_options[n] for n in ('hidden_channels', 'permutation',
                                          'coupling', 'hidden_actnorm')}
  variables, constants = bijectors.glow_steps.step_initial_values(
      num_channels, num_steps, seed=seed, **options)
  forward_order = []
  for k in range(num_steps):
    values = {n: v[k] for n, v in {**variables, **constants}.items()}
    forward_order += bijectors.glow_steps.single_step(
        num_channels, values=values,
        compute_dtype=step_options['compute_dtype'], dtype=dtype,
        validate_args=validate_args, name=f'step_{k}', **options)
  return bijectors.ConditionalChain(forward_order[::-1],
                                    validate_args=validate_args, name='steps')


def step_blocks(dist):
  """The levels' flow steps of a Glow, in order: a `GlowSteps` per level
  (`fused=True`), or a list per level of `K` steps `[ActNorm,
  Invertible1x1Conv, AffineCoupling]` (`fused=False`)."""
  blocks = []
  for bijector in forward_order(dist.encoder):
    if isinstance(bijector, bijectors.GlowSteps):
      blocks.append(bijector)
    elif isinstance(bijector, bijectors.ConditionalChain) and (
        bijector.name == 'steps'):
      order = bijector.bijectors[::-1]
      blocks.append([order[i:i + 3] for i in range(0, len(order), 3)])
  return blocks


def forward_order(bijector):
  """Every bijector in the encoder, leaves and `steps` chains, in the
  order the data goes through them."""
  if isinstance(bijector, bijectors.ConditionalChain) and (
      bijector.name != 'steps'):
    for member in bijector.bijectors[::-1]:
      yield from forward_order(member)
  elif isinstance(bijector, bijectors.FactorOut):
    yield bijector
    yield from forward_order(bijector.inner)
  else:
    yield bijector


def _level(image_shape, level, num_levels, num_steps, seed, learn_top_prior,
           num_classes, dtype, validate_args, memory_budgets=None,
           **step_options):
  """The encoder from level `level` on: `[H, W, C]` images -> flat latents."""
  h, w, c = image_shape
  h, w, c = h // 2, w // 2, 4 * c
  level_options = dict(step_options)
  if memory_budgets is not None:
    level_options['memory_budget'] = memory_budgets[level]
  with tf.name_scope(f'level_{level}'):
    forward_order = [
        bijectors.Squeeze(validate_args=validate_args),
        _steps(c, num_steps, seed + level, dtype=dtype,
               validate_args=validate_args, **level_options)]
    if level < num_levels - 1:
      split = bijectors.LearnedPriorSplit(
          c, dtype=dtype, validate_args=validate_args, name='split_prior')
      inner = _level((h, w, split.num_kept_channels), level + 1, num_levels,
                     num_steps, seed, learn_top_prior, num_classes, dtype,
                     validate_args, memory_budgets, **step_options)
      forward_order += [split, bijectors.FactorOut(
          inner, (h, w, c), validate_args=validate_args, name='factor_out')]
    else:
      if num_classes is not None:
        # openai/glow's ycond: the learned top prior plus a label embedding.
        forward_order.append(bijectors.ClassConditionalPrior(
            c, num_classes, dtype=dtype, validate_args=validate_args,
            name='top_prior'))
      elif learn_top_prior:
        # openai/glow's learntop: a zero-initialised per-channel mean and
        # log-scale, i.e. an ActNorm without data-dependent init.
        forward_order.append(bijectors.ActNorm(
            c, data_dependent_init=False, dtype=dtype,
            validate_args=validate_args, name='top_prior'))
      forward_order.append(tfb.Reshape(
          event_shape_out=[h * w * c], event_shape_in=[h, w, c],
          validate_args=validate_args))
    return bijectors.ConditionalChain(
        forward_order[::-1], validate_args=validate_args,
        name=f'level_{level}')


def initialize(dist, images, labels=None):
  """Runs ActNorm's data-dependent init on `images`; returns their log_prob.

  Each ActNorm that is not yet initialized sets its parameters from the
  activations it sees, level by level, so every layer starts with zero-mean,
  unit-variance outputs ([1] Section 3.1). Under a `tf.distribute` strategy,
  call this in cross-replica context (inside `strategy.scope()`, outside
  `strategy.run`) so that every replica gets the same values. Initialized
  layers are left alone: calling it on a restored model is a no-op.
  `labels`: the images' classes, for a class-conditional model.
  """
  if labels is None:
    return dist.log_prob(images)
  return dist.log_prob(images, bijector_kwargs={'conditional_input': labels})

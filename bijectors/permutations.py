"""The permutation of a flow step: a learned or fixed mixing of channels.

Every flow step of Glow ([1] Section 3.2) mixes the channels between two
couplings by an invertible linear map of each pixel's channel vector,

    Y[..., i, j, :] = X[..., i, j, :] @ W,    log|det dY/dX| = H W log|det W|.

A `Permutation` is one way to do that, as pure functions of its parameters,
so that the single bijector `Invertible1x1Conv` (one step, its own
variables) and the fused loop `GlowSteps` (one row of `K` stacked steps) run
the same code. The built-in ones are registered by name: `'lu'` and
`'plain'` (learned 1x1 convolutions, `invertible_1x1_conv.py`), `'reverse'`
and `'shuffle'` (the paper's fixed ablations, `fixed_permutation.py`). A new
one is a subclass registered with `register_permutation`; then
`tfp_glow.glow(permutation=name)` and `--permutation=name` use it in both
model forms.

#### References

[1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
     Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

from bijectors import step_backward

__all__ = ['Permutation', 'get_permutation', 'permutation_names',
           'register_permutation']

_REGISTRY = {}


class Permutation:
  """A channel mixing `Y = X @ W`, written as functions of its parameters.

  Subclasses set `name` and define

    initial_values(num_channels, num_steps, rng)
        -> (variables, constants): dicts of numpy arrays with leading axis
           `num_steps`; variables are trained, constants are fixed (and are
           rebuilt from the model's seed rather than checkpointed).
    prepare(params) -> dict of tensors that `forward` and `inverse` use
        (e.g. `W` and `W^-1`), computed from the variables and constants,
        for any leading axes: the fused loop prepares all `K` steps at once.
    forward(x, prepared) -> (X @ W, log|det W|)   (log-det per pixel)
    inverse(y, prepared) -> (Y @ W^-1, -log|det W|)

  and may override `backward` (closed-form back-propagation from the
  output) and `assertions` (run-time checks under `validate_args`).
  `non_differentiable` names the prepared tensors that only invert (their
  gradients are not needed).
  """

  name = None
  non_differentiable = ()

  def initial_values(self, num_channels, num_steps, rng):
    raise NotImplementedError

  def prepare(self, params):
    return dict(params)

  def forward(self, x, prepared):
    raise NotImplementedError

  def inverse(self, y, prepared):
    raise NotImplementedError

  def backward(self, y, dy, dlog_det, prepared):
    """`(X, dX, {name: gradient})` from the output `Y`, its gradient `dY`
    and the gradient `dlog_det` of the per-pixel log-det (summed over the
    pixels and the batch). By default: invert, then autodiff `forward`."""
    return step_backward.vjp_from_output(self.forward, self.inverse, y, dy,
                                         dlog_det, prepared)

  def assertions(self, params):
    """Run-time checks of the parameters (any leading axes), as ops."""
    del params
    return []

  def __repr__(self):
    return f'{type(self).__name__}({self.name!r})'


def register_permutation(permutation):
  """Makes `permutation` (a `Permutation` instance) available by its name."""
  if not isinstance(permutation, Permutation) or not permutation.name:
    raise TypeError('register_permutation takes a named Permutation '
                    f'instance, got {permutation!r}.')
  _REGISTRY[permutation.name] = permutation
  return permutation


def permutation_names():
  """The registered permutations' names."""
  return tuple(_REGISTRY)


def get_permutation(permutation):
  """The `Permutation` named `permutation` (or `permutation` itself)."""
  if isinstance(permutation, Permutation):
    return permutation
  if permutation not in _REGISTRY:
    raise ValueError(f'`permutation` must be one of {permutation_names()} '
                     f'(or a Permutation), got {permutation!r}.')
  return _REGISTRY[permutation]

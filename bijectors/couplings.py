"""The map a coupling layer applies to its second half, given the network.

A coupling layer ([1] Section 3.3) splits an image's channels into
`X = [X_a, X_b]`, runs a network on the first half, `h = NN(X_a)`, and maps
the second half by an invertible function parametrized by `h`:

    Y_a = X_a,   Y_b = f(X_b; h),   log|det dY/dX| = log|det df/dX_b|.

A `CouplingTransform` is `f`, written as functions of `(X_b, h)`, so that the
single bijector `AffineCoupling` and the fused loop `GlowSteps` run the same
code. Built in (`affine_coupling.py`): `'affine'` (openai/glow's
`sigmoid(h + 2)` scale) and `'additive'` (NICE). A new one is a subclass
registered with `register_coupling`; then `tfp_glow.glow(coupling=name)`
and `--coupling=name` use it in both model forms, with the same network.

#### References

[1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
     Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

from bijectors import step_backward

__all__ = ['CouplingTransform', 'coupling_names', 'get_coupling',
           'register_coupling']

_REGISTRY = {}


class CouplingTransform:
  """`Y_b = f(X_b; h)` on images `[N, H, W, C_b]`.

  Subclasses set `name` and define

    network_channels(num_channels) -> channels of `h` for `C_b` channels
    forward(x_b, h) -> (Y_b, log|det| per image, shape [N])
    inverse(y_b, h) -> (X_b, log|det dX_b/dY_b| per image)

  and may override `backward` with a closed form.
  """

  name = None

  def network_channels(self, num_channels):
    raise NotImplementedError

  def forward(self, x_b, h):
    raise NotImplementedError

  def inverse(self, y_b, h):
    raise NotImplementedError

  def backward(self, y_b, h, dy_b, dlog_det):
    """`(X_b, dX_b, dh)` from the output `Y_b`, its gradient and the
    log-det's gradient `[N]`. By default: invert, then autodiff `forward`."""
    x_b, dx_b, grads = step_backward.vjp_from_output(
        lambda x, p: self.forward(x, p['h']),
        lambda y, p: self.inverse(y, p['h']), y_b, dy_b, dlog_det, {'h': h})
    return x_b, dx_b, grads['h']

  def __repr__(self):
    return f'{type(self).__name__}({self.name!r})'


def register_coupling(coupling):
  """Makes `coupling` (a `CouplingTransform` instance) available by name."""
  if not isinstance(coupling, CouplingTransform) or not coupling.name:
    raise TypeError('register_coupling takes a named CouplingTransform '
                    f'instance, got {coupling!r}.')
  _REGISTRY[coupling.name] = coupling
  return coupling


def coupling_names():
  """The registered couplings' names."""
  return tuple(_REGISTRY)


def get_coupling(coupling):
  """The `CouplingTransform` named `coupling` (or `coupling` itself)."""
  if isinstance(coupling, CouplingTransform):
    return coupling
  if coupling not in _REGISTRY:
    raise ValueError(f'`coupling` must be one of {coupling_names()} (or a '
                     f'CouplingTransform), got {coupling!r}.')
  return _REGISTRY[coupling]

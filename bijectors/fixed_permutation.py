"""The paper's fixed channel permutations: `'reverse'` and `'shuffle'`."""

import numpy as np
import tensorflow as tf

from bijectors import permutations

__all__ = ['FixedPermutation']


class FixedPermutation(permutations.Permutation):
  """A fixed reordering of channels, `Y[..., i] = X[..., order[i]]`.

  The ablations of [1] Section 3.2 / Figure 3: `'reverse'` reverses the
  channel order (RealNVP's alternation), `'shuffle'` draws a random order per
  step, fixed at initialization. `W` is a permutation matrix: `log|det W| =
  0`, no variables; the order is a constant rebuilt from the model's seed.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. arXiv 1807.03039.
  """

  non_differentiable = ('order', 'inverse_order')

  def __init__(self, name):
    if name not in ('reverse', 'shuffle'):
      raise ValueError(f'FixedPermutation is "reverse" or "shuffle", got '
                       f'{name!r}.')
    self.name = name

  def initial_values(self, num_channels, num_steps, rng):
    # One draw per step as the learned 1x1 convolutions make for their
    # rotations, so that the coupling networks drawn next start from the
    # same weights whatever the permutation.
    for _ in range(num_steps):
      rng.integers(2**31)
    orders = [np.arange(num_channels)[::-1] if self.name == 'reverse' else
              rng.permutation(num_channels) for _ in range(num_steps)]
    return {}, dict(order=np.stack(orders).astype(np.int32))

  def prepare(self, params):
    order = params['order']
    return dict(order=order, inverse_order=tf.argsort(order, axis=-1))

  def forward(self, x, prepared):
    return (tf.gather(x, prepared['order'], axis=-1),
            tf.zeros([], x.dtype))

  def inverse(self, y, prepared):
    return (tf.gather(y, prepared['inverse_order'], axis=-1),
            tf.zeros([], y.dtype))

  def backward(self, y, dy, dlog_det, prepared):
    """A permutation's transpose is its inverse: `X` and `dX` are `Y` and
    `dY` put back in order."""
    del dlog_det
    return (self.inverse(y, prepared)[0], self.inverse(dy, prepared)[0],
            dict(order=None, inverse_order=None))


permutations.register_permutation(FixedPermutation('reverse'))
permutations.register_permutation(FixedPermutation('shuffle'))

"""Which gradient memory mode a batch gets: `memory='auto'`.

`GlowSteps` computes gradients in one of two ways (see its docstring):
`'store'` keeps every step's activations for the backward pass (fastest;
memory linear in the depth `K` and the batch), `'invertible'` recomputes them
from the step's output (memory flat in `K`; each coupling network runs once
more). `'auto'` stores when the activations fit a budget:

    store  if  batch * store_activation_bytes(...) <= budget,  else  invertible

with the estimate, per example, for `K` steps on `[H, W, C]` inputs with
coupling networks of width `F`,

    bytes = K * H * W * (HIDDEN_TENSORS * F * b_compute + IMAGE_TENSORS * C * b)

`b` and `b_compute` are the bytes of the parameter and compute dtypes.
Autodiff keeps, per step and pixel, about six hidden-width tensors (the two
hidden convolutions' outputs, their ActNorms and ReLUs) and about ten
image-width ones (the step's input, ActNorm and 1x1 outputs, the coupling's
shift, scale and their intermediates). Measured with
`bench/memory.py --tensor_memory` (TensorFlow's own tensor peak) at 32x32x3,
L=3, width 400, batch 16, the growth from K=8 to K=32 in `'store'` is within
the estimate's margin; the estimate errs on the high side.

The decision is made when a batch is traced, from its static size: an
unknown batch size gets `'invertible'` (memory safe). A model of several
levels gives each level a share of the budget proportional to its estimate
(`tfp_glow.glow`), so that every level makes the same choice, the one the
whole model's estimate against the whole budget gives.

The default budget is 1 GiB per replica batch, the same on every machine (a
run's flags pick the same mode wherever it runs): small and medium models
store (the demo, or 32x32x3 at L=3, K=8, width 400 and batch 16: 0.41 GiB),
deep ones recompute (the same at K=32: 1.6 GiB; the paper's L=3, K=32, width
512). Raise it where memory is plentiful (`--memory_budget`).
"""

import numpy as np
import tensorflow as tf

__all__ = ['DEFAULT_BUDGET', 'HIDDEN_TENSORS', 'IMAGE_TENSORS',
           'choose_memory', 'format_bytes', 'store_activation_bytes']

HIDDEN_TENSORS = 6
IMAGE_TENSORS = 10
DEFAULT_BUDGET = 2**30


def store_activation_bytes(height, width, num_channels, num_steps,
                           hidden_channels, dtype=tf.float32,
                           compute_dtype=None):
  """Estimated bytes per example that `memory='store'` keeps for `K` steps."""
  size = tf.as_dtype(dtype).size
  compute_size = tf.as_dtype(compute_dtype or dtype).size
  per_pixel = (HIDDEN_TENSORS * int(hidden_channels) * compute_size +
               IMAGE_TENSORS * int(num_channels) * size)
  return int(num_steps) * int(height) * int(width) * per_pixel


def choose_memory(batch_size, bytes_per_example, budget):
  """`'store'` if `batch_size` examples' activations fit `budget`.

  Args:
    batch_size: Python `int`, or `None` when unknown (then `'invertible'`).
    bytes_per_example: `store_activation_bytes(...)` of the model or level.
    budget: bytes available for them.

  Returns:
    `'store'` or `'invertible'`.
  """
  if batch_size is None:
    return 'invertible'
  needed = int(batch_size) * int(bytes_per_example)
  return 'store' if needed <= budget else 'invertible'


def format_bytes(n):
  """`n` bytes as a short human string (`'1.5 GiB'`, `'300 MiB'`)."""
  n = float(n)
  for unit, scale in (('GiB', 2**30), ('MiB', 2**20), ('KiB', 2**10)):
    if n >= scale:
      return f'{n / scale:.{1 if n < 10 * scale else 0}f} {unit}'
  return f'{int(np.round(n))} B'

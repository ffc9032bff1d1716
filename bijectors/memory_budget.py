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

The default budget is half the smallest GPU's memory on a GPU machine, else
a quarter of the host's physical memory.
"""

import os
import subprocess

import numpy as np
import tensorflow as tf

__all__ = ['HIDDEN_TENSORS', 'IMAGE_TENSORS', 'choose_memory',
           'default_memory_budget', 'store_activation_bytes']

HIDDEN_TENSORS = 6
IMAGE_TENSORS = 10


def store_activation_bytes(height, width, num_channels, num_steps,
                           hidden_channels, dtype=tf.float32,
                           compute_dtype=None):
  """Estimated bytes per example that `memory='store'` keeps for `K` steps."""
  size = tf.as_dtype(dtype).size
  compute_size = tf.as_dtype(compute_dtype or dtype).size
  per_pixel = (HIDDEN_TENSORS * int(hidden_channels) * compute_size +
               IMAGE_TENSORS * int(num_channels) * size)
  return int(num_steps) * int(height) * int(width) * per_pixel


def _gpu_memory_bytes():
  """The smallest visible GPU's memory in bytes, or `None` (no GPU, or
  `nvidia-smi` unavailable)."""
  if not tf.config.list_physical_devices('GPU'):
    return None
  try:
    out = subprocess.run(
        ['nvidia-smi', '--query-gpu=memory.total',
         '--format=csv,noheader,nounits'],
        capture_output=True, text=True, timeout=10, check=True).stdout
    return min(int(line) for line in out.split()) * 2**20
  except (OSError, ValueError, subprocess.SubprocessError):
    return None


def default_memory_budget():
  """Bytes the stored activations may take by default: half the smallest
  GPU's memory on a GPU machine, else a quarter of the host's physical
  memory (4 GiB if neither is known)."""
  gpu = _gpu_memory_bytes()
  if gpu:
    return gpu // 2
  try:
    total = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
  except (ValueError, OSError, AttributeError):
    total = 16 * 2**30
  return int(total) // 4


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

"""The `seed=` of the public API: None, a Python int, or a stateless seed.

Every function of `tfp_glow` that draws random numbers (`sample`,
`dequantize`, `bits_per_dim`, the latent tools, the illusion scorers) takes
the seeds TFP's samplers take and turns them into a stateless `int32[2]` seed
here:

* `None`: fresh randomness on every call (a seed drawn by
  `tfp.random.sanitize_seed`);
* a Python (or numpy) int `s`, or an int scalar tensor: the stateless seed
  `[s, 0]`, the same numbers on every call. This is the export's convention
  (its `sample` signature takes an int64 `seed`), so `tfp_glow.sample(dist,
  n, t, seed=s)` and the SavedModel's `sample(n, t, s)` draw the same latents.
  (TFP itself treats an int as a stateful seed, different on every call.)
* a stateless seed of shape `[2]` (list, tuple, array or tensor): as is.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ['stateless_seed']


def stateless_seed(seed):
  """`seed` (None, an int or a `[2]` seed) -> a stateless `int64[2]` tensor.

  Raises:
    TypeError, ValueError: anything else, with a message saying what it got.
  """
  if seed is None:
    return tf.cast(tfp.random.sanitize_seed(None), tf.int64)
  if isinstance(seed, (str, bool, float)):
    raise TypeError(f'`seed` must be None, an int or a stateless seed of '
                    f'shape [2], got {seed!r}.')
  if isinstance(seed, (int, np.integer)):
    return tf.constant([int(seed), 0], tf.int64)
  seed = tf.convert_to_tensor(seed)
  if not seed.dtype.is_integer:
    raise TypeError(f'`seed` must be None, an int or a stateless seed of '
                    f'shape [2], got dtype {seed.dtype.name}.')
  seed = tf.cast(seed, tf.int64)
  if seed.shape.rank == 0:
    return tf.stack([seed, tf.zeros([], tf.int64)])
  if seed.shape.rank is not None and seed.shape != [2]:
    raise ValueError(f'`seed` must be None, an int or a stateless seed of '
                     f'shape [2], got shape {seed.shape.as_list()}.')
  return seed

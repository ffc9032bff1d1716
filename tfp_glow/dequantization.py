"""Uniform dequantization and bits per dimension, as openai/glow's objective.

`dequantize` maps uint8 pixels to continuous images in `[0, 1]`, `to_uint8`
maps images in `[0, 1]` (samples, reconstructions) back to pixels.
"""

import math

import numpy as np
import tensorflow as tf

from tfp_glow import seeds

__all__ = ['bits_per_dim', 'check_n_bits', 'dequantize', 'discrete_log_prob',
           'log_prob_to_bits_per_dim', 'to_uint8']


def check_n_bits(n_bits):
  """Returns `n_bits` as an int, or raises `ValueError` outside 1..8."""
  if isinstance(n_bits, bool) or int(n_bits) != n_bits or not 1 <= n_bits <= 8:
    raise ValueError(f'`n_bits` must be an integer in 1..8, got {n_bits!r}.')
  return int(n_bits)


def _check_uint8(images):
  dtype = tf.as_dtype(getattr(images, 'dtype', None) or
                      np.asarray(images).dtype)
  if not dtype.is_integer:
    raise TypeError(f'expected integer pixels 0..255 (uint8), got dtype '
                    f'{dtype.name}; float images in [0, 1] go to '
                    'dist.log_prob directly.')


def dequantize(images, n_bits=8, seed=None, dtype=tf.float32):
  """Maps integer pixels to continuous images in `[0, 1]`, openai/glow style.

  Keeps the top `n_bits` bits of each 8-bit pixel, `k = floor(x / 2**(8 -
  n_bits))` in `0..n_bins - 1` with `n_bins = 2**n_bits`, and adds uniform
  noise: `(k + u) / n_bins`, `u ~ U[0, 1)`. With `seed=None` the noise is
  fresh on every call; an int or a stateless `[2]` seed (`tfp_glow.seeds`)
  makes it reproducible. `seed='midpoint'` uses `u = 0.5`, a deterministic
  dequantization.

  Args:
    images: integer tensor of pixels in 0..255, any shape.
    n_bits: bits per pixel to keep, 1..8.
    seed: `None`, an int, a stateless `[2]` seed, or `'midpoint'`.
    dtype: floating output dtype.

  Returns:
    A tensor of `dtype` and the shape of `images`, in `[0, 1)`.
  """
  n_bits = check_n_bits(n_bits)
  _check_uint8(images)
  images = tf.convert_to_tensor(images)
  n_bins = 2. ** n_bits
  bins = tf.cast(
      tf.bitwise.right_shift(tf.cast(images, tf.int32), 8 - n_bits), dtype)
  if isinstance(seed, str):
    if seed != 'midpoint':
      raise ValueError(f'`seed` must be None, an int, a stateless seed or '
                       f'"midpoint", got {seed!r}.')
    noise = 0.5
  else:
    noise = tf.random.stateless_uniform(
        tf.shape(images), seeds.stateless_seed(seed), dtype=dtype)
  return (bins + noise) / n_bins


def to_uint8(images, n_bits=8):
  """Float images in `[0, 1]` -> uint8 pixels at `n_bits` (openai/glow's
  postprocess), a uint8 tensor of the same shape.

  The bin `k = floor(x * n_bins)`, clipped to `0..n_bins - 1`, as the pixel
  `k * 2**(8 - n_bits)`: `to_uint8(dequantize(p, n_bits), n_bits)` keeps the
  top `n_bits` bits of `p`. Values outside `[0, 1]` (infinities included) are
  clipped; NaN (a diverged sample) becomes 0.
  """
  n_bins = 2. ** check_n_bits(n_bits)
  images = tf.convert_to_tensor(images)
  if not images.dtype.is_floating:
    raise TypeError(f'expected float images in [0, 1], got dtype '
                    f'{images.dtype.name}.')
  images = tf.where(tf.math.is_nan(images), tf.zeros_like(images), images)
  bins = tf.clip_by_value(tf.floor(images * n_bins), 0., n_bins - 1.)
  return tf.cast(bins * (256. / n_bins), tf.uint8)


def bits_per_dim(dist, images, n_bits=8, seed=None, labels=None):
  """Per-image bits per dimension of integer `images`, openai/glow's objective.

  With `x` the dequantized image in `[0, 1]^D` (see `dequantize`) and
  `n_bins = 2**n_bits`, the discrete log-likelihood bound is

    log P(k) >= log p(x) - D * log(n_bins)

  (the density on the unit cube divided into `n_bins**D` cells of volume
  `n_bins**-D`; openai/glow adds `-log(n_bins) * D` to its objective), and

    bits/dim = -(log p(x) - D * log(n_bins)) / (D * log 2).

  Args:
    dist: a distribution over images in `[0, 1]^D` (`tfp_glow.glow`).
    images: integer pixels 0..255 of shape `[..., H, W, C]`.
    n_bits: bits per pixel the model was trained with, 1..8.
    seed: dequantization noise, as in `dequantize`.
    labels: for a class-conditional Glow, the images' classes (the
      conditional bits/dim of `images` given `labels`).

  Returns:
    A float tensor with the batch shape of `images`.
  """
  x = dequantize(images, n_bits, seed=seed, dtype=dist.dtype)
  num_dims = int(np.prod(dist.event_shape))
  if x.shape[:-3].num_elements() == 0:  # No image: nothing to run the flow on.
    return tf.zeros(x.shape[:-3], dist.dtype)
  if labels is None:
    log_prob = dist.log_prob(x)
  else:
    log_prob = dist.log_prob(
        x, bijector_kwargs={'conditional_input': labels})
  return log_prob_to_bits_per_dim(log_prob, num_dims, n_bits)


def discrete_log_prob(log_prob, num_dims, n_bits):
  """`log P(k) >= log p(x) - D log(2**n_bits)`, nats of the discrete image.

  `log_prob` is the density `log p(x)` of the dequantized image `x` in
  `[0, 1]^D`; see `bits_per_dim`.
  """
  return log_prob - num_dims * math.log(2. ** n_bits)


def log_prob_to_bits_per_dim(log_prob, num_dims, n_bits):
  """`-(log p(x) - D log(2**n_bits)) / (D log 2)`, see `bits_per_dim`."""
  return -discrete_log_prob(log_prob, num_dims, n_bits) / (
      num_dims * math.log(2.))

"""Sampling at a temperature, and exact encoding and decoding of images."""

import numpy as np
import tensorflow as tf

from tfp_glow import seeds

__all__ = ['check_temperature', 'decode', 'encode', 'join_latents', 'latents',
           'sample', 'split_latents']


def _label_kwargs(dist, labels):
  if labels is None:
    return {}
  if not dist.num_classes:
    raise ValueError('`labels` given to a model that is not class-'
                     'conditional (build it with `num_classes`).')
  return {'conditional_input': labels}


def check_temperature(temperature, dtype=tf.float32):
  """`temperature` as a tensor of `dtype`, a scalar or a `[n]` vector.

  A temperature is finite and >= 0. A value known when this runs (Python,
  numpy, eager) that is not raises `ValueError` at once; a symbolic one (a
  SavedModel signature's input) gets a run-time assertion with the same
  message.
  """
  temperature = tf.convert_to_tensor(temperature, dtype)
  if temperature.shape.rank is not None and temperature.shape.rank > 1:
    raise ValueError(f'`temperature` must be a scalar or one value per '
                     f'image, got shape {temperature.shape.as_list()}.')
  ok = lambda t: tf.reduce_all(tf.math.is_finite(t) & (t >= 0))
  value = tf.get_static_value(temperature)
  if value is not None:
    if not np.all(np.isfinite(value) & (value >= 0)):
      raise ValueError(f'`temperature` must be finite and >= 0, got {value}.')
    return temperature
  with tf.control_dependencies([tf.debugging.Assert(
      ok(temperature), ['`temperature` must be finite and >= 0, got',
                        temperature])]):
    return tf.identity(temperature)


def latents(n, latent_size, temperature=1.0, seed=None, dtype=tf.float32):
  """`n` standard-normal latents `[n, latent_size]` scaled by `temperature`.

  Sampling at a temperature `T` (openai/glow's `eps_std`, [1] Section 5)
  decodes `T * eps`, `eps ~ N(0, I)`: `T = 1` samples the model, lower values
  trade diversity for fidelity, `T = 0` gives the all-zero latent. One draw
  for every sampler of the package (`sample`, the SavedModel's `sample`
  signature, the latent tools, the training's sample grids), so one seed
  gives the same latents everywhere.

  Args:
    n: int or int scalar tensor, >= 0.
    latent_size: `D`, the number of dimensions of a latent.
    temperature: a scalar or a `[n]` vector, finite and >= 0 (see
      `check_temperature`).
    seed: None, an int or a stateless `[2]` seed (`tfp_glow.seeds`).
    dtype: the latents' floating dtype.

  [1]: Kingma & Dhariwal. arXiv 1807.03039.
  """
  if isinstance(n, (int, np.integer)) and n < 0:
    raise ValueError(f'`n` must be >= 0, got {n}.')
  temperature = check_temperature(temperature, dtype)
  shape = tf.stack([tf.convert_to_tensor(n, tf.int32), int(latent_size)])
  eps = tf.random.stateless_normal(shape, seeds.stateless_seed(seed),
                                   dtype=dtype)
  if temperature.shape.rank:
    temperature = temperature[:, tf.newaxis]
  return eps * temperature


def sample(dist, n, temperature=1.0, seed=None, labels=None):
  """Draws `n` images at a temperature: `decode(latents(n, D, T, seed))`.

  The standard-normal latent is scaled by `temperature` before decoding
  (openai/glow's `eps_std`, see `latents`): `temperature=1` samples the
  model, `0` decodes the all-zero latent (the learned priors' means).

  Args:
    dist: a `tfp_glow.GlowDistribution`.
    n: Python `int` or int tensor, the number of images (0 gives an empty
      batch).
    temperature: float scalar or a `[n]` vector, finite and >= 0.
    seed: None (fresh draws), an int (the stateless seed `[seed, 0]`, as the
      SavedModel's `sample` signature) or a stateless seed of shape `[2]`.
    labels: for a class-conditional model, int labels `[n]` (or a scalar
      for all) of the classes to draw from.

  Returns:
    Images `[n, H, W, C]`, nominally in `[0, 1]` (not clipped).
  """
  z = latents(n, int(np.prod(dist.image_shape)), temperature, seed,
              dist.dtype)
  if labels is not None:
    labels = tf.broadcast_to(labels, tf.shape(z)[:1])
  return decode(dist, z, labels=labels)


def _is_empty(batch_shape):
  """Whether a static batch shape holds no element (False when unknown)."""
  return batch_shape.num_elements() == 0


def encode(dist, images, labels=None):
  """Images `[..., H, W, C]` in `[0, 1]` -> `(z, per_level)`.

  `z` is the flat latent `[..., D]` (the base distribution's sample space);
  `per_level` is the list of per-level latents `eps_1, ..., eps_L`, each of
  shape `[..., h_l, w_l, c_l]` (`dist.latent_shapes`). `labels`: the classes,
  for a class-conditional model. `decode` takes either, or the pair.
  """
  dist.check_images(images)
  images = tf.convert_to_tensor(images)
  if _is_empty(images.shape[:-3]):
    z = tf.zeros(images.shape[:-3].concatenate(
        [int(np.prod(dist.image_shape))]), dist.dtype)
  else:
    z = dist.encoder.forward(tf.identity(images),  # fresh: see _log_prob.
                             **_label_kwargs(dist, labels))
  return z, split_latents(dist, z)


def decode(dist, z, labels=None):
  """Latents -> images `[..., H, W, C]`; the inverse of `encode`.

  `z`: the flat latent `[..., D]`, the list of per-level latents, or the
  `(z, per_level)` pair `encode` returns. `labels`: the classes, for a
  class-conditional model.
  """
  if (isinstance(z, (list, tuple)) and len(z) == 2 and
      isinstance(z[1], (list, tuple))):
    z = z[0]  # encode's (z, per_level) pair.
  if isinstance(z, (list, tuple)):
    z = join_latents(dist, z)
  z = tf.convert_to_tensor(z, dist.dtype)
  size = int(np.prod(dist.image_shape))
  if z.shape.rank is not None and (z.shape.rank < 1 or
                                   z.shape[-1] not in (None, size)):
    raise ValueError(f'expected flat latents of shape [..., {size}], got '
                     f'shape {z.shape}.')
  if _is_empty(z.shape[:-1]):
    return tf.zeros(z.shape[:-1].concatenate(dist.image_shape), dist.dtype)
  return dist.encoder.inverse(tf.identity(z), **_label_kwargs(dist, labels))


def split_latents(dist, z):
  """Splits a flat latent `[..., D]` into the per-level latents."""
  sizes = [int(np.prod(s)) for s in dist.latent_shapes]
  batch_shape = tf.shape(z)[:-1]
  return [tf.reshape(part, tf.concat([batch_shape, shape], axis=0))
          for part, shape in zip(tf.split(z, sizes, axis=-1),
                                 dist.latent_shapes)]


def join_latents(dist, latents):
  """The inverse of `split_latents`."""
  if len(latents) != len(dist.latent_shapes):
    raise ValueError(f'expected {len(dist.latent_shapes)} per-level latents '
                     f'of shapes {dist.latent_shapes}, got {len(latents)}.')
  flat = []
  for latent, shape in zip(latents, dist.latent_shapes):
    latent = tf.convert_to_tensor(latent, dist.dtype)
    if not latent.shape[-3:].is_compatible_with(shape):
      raise ValueError(f'expected a per-level latent of shape [..., '
                       f'{", ".join(map(str, shape))}], got {latent.shape}.')
    flat.append(tf.reshape(
        latent, tf.concat([tf.shape(latent)[:-3], [-1]], axis=0)))
  return tf.concat(flat, axis=-1)

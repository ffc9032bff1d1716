"""Sampling at a temperature, and exact encoding and decoding of images."""

import numpy as np
import tensorflow as tf

__all__ = ['decode', 'encode', 'sample', 'split_latents']


def _label_kwargs(dist, labels):
  if labels is None:
    return {}
  if not dist.num_classes:
    raise ValueError('`labels` given to a model that is not class-'
                     'conditional (build it with `num_classes`).')
  return {'conditional_input': labels}


def sample(dist, n, temperature=1.0, seed=None, labels=None):
  """Draws `n` images at a temperature.

  The standard-normal latent is scaled by `temperature` before decoding
  (openai/glow's `eps_std`, [1] Section 5): `temperature=1` samples the model,
  lower values trade diversity for fidelity, `0` decodes the all-zero latent
  (the learned priors' means).

  Args:
    dist: a `tfp_glow.GlowDistribution`.
    n: Python `int` or int tensor, the number of images.
    temperature: float scalar or a `[n]` vector, >= 0.
    seed: a stateless seed (shape `[2]` int) or `None`.
    labels: for a class-conditional model, int labels `[n]` (or a scalar
      for all) of the classes to draw from.

  Returns:
    Images `[n, H, W, C]`, nominally in `[0, 1]` (not clipped).

  [1]: Kingma & Dhariwal. arXiv 1807.03039.
  """
  if isinstance(temperature, (int, float)) and temperature < 0:
    raise ValueError(f'`temperature` must be >= 0, got {temperature}.')
  size = int(np.prod(dist.image_shape))
  shape = tf.stack([tf.convert_to_tensor(n, tf.int32), size])
  if seed is None:
    eps = tf.random.normal(shape, dtype=dist.dtype)
  else:
    eps = tf.random.stateless_normal(shape, seed, dtype=dist.dtype)
  temperature = tf.convert_to_tensor(temperature, dist.dtype)
  if temperature.shape.rank:
    temperature = temperature[:, tf.newaxis]
  if labels is not None:
    labels = tf.broadcast_to(labels, shape[:1])
  return decode(dist, eps * temperature, labels=labels)


def encode(dist, images, labels=None):
  """Images `[..., H, W, C]` in `[0, 1]` -> `(z, per_level)`.

  `z` is the flat latent `[..., D]` (the base distribution's sample space);
  `per_level` is the list of per-level latents `eps_1, ..., eps_L`, each of
  shape `[..., h_l, w_l, c_l]` (`dist.latent_shapes`). `labels`: the classes,
  for a class-conditional model.
  """
  dist.check_images(images)
  z = dist.encoder.forward(tf.identity(images),  # fresh: see _log_prob.
                           **_label_kwargs(dist, labels))
  return z, split_latents(dist, z)


def decode(dist, z, labels=None):
  """The flat latent `[..., D]`, or a list of per-level latents -> images.

  `labels`: the classes, for a class-conditional model.
  """
  if isinstance(z, (list, tuple)):
    z = join_latents(dist, z)
  z = tf.convert_to_tensor(z, dist.dtype)
  size = int(np.prod(dist.image_shape))
  if z.shape.rank is not None and (z.shape.rank < 1 or
                                   z.shape[-1] not in (None, size)):
    raise ValueError(f'expected flat latents of shape [..., {size}], got '
                     f'shape {z.shape}.')
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

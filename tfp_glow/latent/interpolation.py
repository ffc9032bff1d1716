"""Paths between latents: `lerp`, `slerp`, and image interpolation."""

import numpy as np

from tfp_glow.latent import models
from tfp_glow.latent import pixels

__all__ = ['METHODS', 'interpolate', 'lerp', 'slerp']

METHODS = ('linear', 'spherical')


def lerp(z0, z1, t):
  """Linear interpolation `(1 - t) z0 + t z1`.

  Args:
    z0, z1: latents `[..., D]` (broadcast together).
    t: a scalar, or a 1-D array of `T` positions (usually in `[0, 1]`).

  Returns:
    `[..., D]` for a scalar `t`, else `[..., T, D]`.
  """
  z0, z1, t, scalar = _prepare(z0, z1, t)
  out = z0 + t * (z1 - z0)
  out = np.where(t == 0., z0, np.where(t == 1., z1, out))
  return out[..., 0, :] if scalar else out


def slerp(z0, z1, t, eps=1e-6):
  """Spherical interpolation of each latent vector (the last axis).

  The direction moves along the great circle from `z0 / |z0|` to `z1 / |z1|`
  at constant angular speed, `u(t) = (sin((1 - t) w) u0 + sin(t w) u1) /
  sin(w)` with `w` the angle between them, and the norm is interpolated
  linearly, `|z(t)| = (1 - t) |z0| + t |z1|`. For latents of equal norm this
  is White (2016)'s slerp for generative models; a linear path would pass
  through the low-density region near the origin (in high dimension a
  Gaussian's mass concentrates on a shell). Parallel or opposite vectors
  (`sin w < eps`) and zero vectors fall back to `lerp`. `t = 0` and `t = 1`
  return `z0` and `z1` exactly.

  Args:
    z0, z1: latents `[..., D]` (broadcast together).
    t: a scalar, or a 1-D array of `T` positions.

  Returns:
    `[..., D]` for a scalar `t`, else `[..., T, D]`, in the inputs' dtype.

  White. Sampling Generative Networks. arXiv 1609.04468.
  """
  dtype = np.result_type(np.asarray(z0).dtype, np.asarray(z1).dtype,
                         np.float32)
  z0, z1, t, scalar = _prepare(z0, z1, t)
  a, b = z0.astype(np.float64), z1.astype(np.float64)
  n0 = np.linalg.norm(a, axis=-1, keepdims=True)
  n1 = np.linalg.norm(b, axis=-1, keepdims=True)
  safe0, safe1 = np.where(n0 > 0, n0, 1.), np.where(n1 > 0, n1, 1.)
  u0, u1 = a / safe0, b / safe1
  omega = np.arccos(np.clip(np.sum(u0 * u1, -1, keepdims=True), -1., 1.))
  sin_omega = np.sin(omega)
  degenerate = (sin_omega < eps) | (n0 == 0) | (n1 == 0)
  sin_omega = np.where(degenerate, 1., sin_omega)
  direction = (np.sin((1. - t) * omega) * u0 +
               np.sin(t * omega) * u1) / sin_omega
  out = direction * ((1. - t) * n0 + t * n1)
  out = np.where(degenerate, a + t * (b - a), out)
  out = np.where(t == 0., a, np.where(t == 1., b, out)).astype(dtype)
  return out[..., 0, :] if scalar else out


def _prepare(z0, z1, t):
  z0, z1 = np.asarray(z0), np.asarray(z1)
  if z0.ndim < 1 or z0.shape[-1] != z1.shape[-1]:
    raise ValueError(f'expected latents [..., D] of equal D, got shapes '
                     f'{list(z0.shape)} and {list(z1.shape)}.')
  t = np.asarray(t, np.float64)
  if t.ndim > 1:
    raise ValueError(f'`t` must be a scalar or 1-D, got shape {t.shape}.')
  scalar = t.ndim == 0
  return z0[..., np.newaxis, :], z1[..., np.newaxis, :], np.reshape(
      t, (-1, 1)), scalar



def interpolate(model, x0, x1, steps=8, method='linear', labels=None):
  """Images along the latent path from `x0` to `x1`.

  Args:
    model: a `LatentModel` (or anything `load` takes).
    x0, x1: float images `[H, W, C]` or `[N, H, W, C]` in `[0, 1]`.
    steps: images per path, >= 2, endpoints included.
    method: `'linear'` (`lerp`) or `'spherical'` (`slerp`).
    labels: for a class-conditional model, the class of each path (`[N]` or
      a scalar), used to encode both endpoints and to decode the path.

  Returns:
    `[steps, H, W, C]` (or `[N, steps, H, W, C]`); the first and last images
    are `decode(encode(x0))` and `decode(encode(x1))`, the inputs up to float
    error.
  """
  model = models.load(model)
  if method not in METHODS:
    raise ValueError(f'`method` must be one of {METHODS}, got {method!r}.')
  if int(steps) < 2:
    raise ValueError(f'`steps` must be >= 2 (the two endpoints), got {steps}.')
  x0, single = pixels.as_image_batch(x0)
  x1, _ = pixels.as_image_batch(x1)
  if x0.shape != x1.shape:
    raise ValueError(f'the endpoints must have the same shape, got '
                     f'{list(x0.shape)} and {list(x1.shape)}.')
  if labels is not None:
    labels = np.broadcast_to(labels, (len(x0),))
  z = model.encode(np.concatenate([x0, x1]),
                   None if labels is None else np.tile(labels, 2))
  z0, z1 = z[:len(x0)], z[len(x0):]
  t = np.linspace(0., 1., int(steps))
  path = (lerp if method == 'linear' else slerp)(z0, z1, t)  # [N, T, D]
  images = model.decode(
      path.reshape(-1, model.latent_size),
      None if labels is None else np.repeat(labels, int(steps))).reshape(
      len(x0), int(steps), *model.image_shape)
  return images[0] if single else images

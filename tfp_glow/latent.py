"""Latent-space tools: exact encode/decode, interpolation, temperature, attributes.

A Glow is a bijection, so `decode(encode(x)) == x` up to float error and every
operation on images can be written on their latents `z` (`tfp_glow.encode`'s
flat `[N, D]` vector, `z ~ N(0, I)` under the model):

    model = latent.load('/tmp/glow_demo')          # an export or a workdir
    model = latent.from_distribution(dist, n_bits=5)  # or in process
    z = model.encode(images)                       # float images in [0, 1]
    grid = latent.interpolate(model, x0, x1, steps=8, method='spherical')
    grid = latent.temperature_grid(model, [0., .5, .7, 1.], n_per=8)
    v = latent.attribute_vector(model, images, mask=smiling)
    grid = latent.manipulate(model, x, v, alphas=[-1., 0., 1.])
    latent.save_grid('grid.png', model.to_uint8(grid))

`attribute_vector` is openai/glow's `get_manipulators`: the mean latent of the
images with an attribute minus the mean latent of those without ([1] Section
5, Figure 5); `attribute_vectors_from_tfds` computes them for CelebA's 40
attributes or any boolean or label feature of a tfds dataset.

The command line writes PNG grids (see `main`):

    python -m tfp_glow.latent sample --model=/tmp/glow_demo --out=samples.png
    python -m tfp_glow.latent interpolate --model=... --out=interp.png
    python -m tfp_glow.latent manipulate --model=... --attribute=label=1 ...
    python -m tfp_glow.latent reconstruct --model=... --out=recon.png

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import argparse
import json
import os
import sys

import numpy as np

if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # pylint: disable=g-import-not-at-top

from tfp_glow.embedded_data import embedded_digit_rows  # pylint: disable=g-import-not-at-top
from tfp_glow.embedded_data import embedded_mnist  # pylint: disable=g-import-not-at-top
from tfp_glow import tfds_features  # pylint: disable=g-import-not-at-top

__all__ = [
    'DistributionLatentModel', 'LatentModel', 'SavedModelLatentModel',
    'attribute_masks', 'attribute_vector', 'attribute_vectors',
    'attribute_vectors_from_tfds', 'embedded_digit_rows', 'embedded_mnist',
    'fit_images',
    'from_distribution', 'from_uint8', 'image_grid', 'interpolate', 'lerp',
    'load', 'load_tfds', 'main', 'manipulate', 'resolve_saved_model',
    'save_grid', 'slerp', 'temperature_grid', 'to_uint8',
]

METHODS = ('linear', 'spherical')
CROPS = ('none', 'center', 'random')
EMBEDDED = 'embedded_mnist'
DEFAULT_PAIR = (2, 7)  # The digits `interpolate` shows by default.


# --- Pixels -------------------------------------------------------------------


def from_uint8(images, n_bits=8):
  """uint8 pixels -> float images in `[0, 1]`, each at the centre of its bin.

  The deterministic (midpoint) dequantization of the export's
  `serving_default`: `(floor(x / 2**(8 - n_bits)) + 0.5) / 2**n_bits`.
  """
  images = np.asarray(images)
  if not np.issubdtype(images.dtype, np.integer):
    raise TypeError(f'expected integer pixels 0..255, got dtype '
                    f'{images.dtype}.')
  bins = np.right_shift(images.astype(np.int32), 8 - int(n_bits))
  return ((bins + 0.5) / 2.**n_bits).astype(np.float32)


def to_uint8(images, n_bits=8):
  """Float images in `[0, 1]` -> uint8 pixels at `n_bits` (openai/glow).

  Values outside `[0, 1]` are clipped; NaN (a diverged sample) becomes 0.
  """
  n_bins = 2.**int(n_bits)
  images = np.nan_to_num(np.asarray(images, np.float64), nan=0., posinf=1.,
                         neginf=0.)
  bins = np.clip(np.floor(images * n_bins), 0., n_bins - 1.)
  return (bins * (256. / n_bins)).astype(np.uint8)


def fit_images(images, image_shape, crop='none', crop_size=0):
  """uint8 images of any size -> `[N, H, W, C]` uint8, as training saw them.

  Mirrors `train.data`'s preprocessing: `crop='center'` takes the central
  square (side `crop_size`, 0 = the largest) then area-resizes; `'none'` pads
  images no larger than `H x W` (MNIST 28x28 -> 32x32, as openai/glow) and
  area-resizes larger ones; `'random'` (a training augmentation) becomes a
  central `H x W` crop. Grey and RGB are converted to the model's channels.

  Args:
    images: a uint8 array `[N, h, w, c]` (one size), or a list of `[h, w, c]`.
    image_shape: the model's `(H, W, C)`.
    crop: `'none'`, `'center'` or `'random'`, as `--crop` of the training.
    crop_size: side of the centre crop; 0: the largest square.
  """
  if crop not in CROPS:
    raise ValueError(f'`crop` must be one of {CROPS}, got {crop!r}.')
  out = [_fit_image(tf.convert_to_tensor(np.asarray(image, np.uint8)),
                    tuple(image_shape), crop, crop_size).numpy()
         for image in images]
  return np.stack(out) if out else np.zeros((0, *image_shape), np.uint8)


def _fit_image(image, image_shape, crop, crop_size):
  """One uint8 image `[h, w, c]` (static rank 3) -> `image_shape`, in TF."""
  h, w, c = image_shape
  if image.shape.rank == 2:
    image = image[..., tf.newaxis]
  height, width = tf.shape(image)[0], tf.shape(image)[1]
  static_h, static_w = image.shape[0], image.shape[1]
  if crop == 'random':
    image = tf.image.crop_to_bounding_box(
        image, (height - h) // 2, (width - w) // 2, h, w)
  else:
    if crop == 'center':
      side = (tf.constant(int(crop_size)) if crop_size else
              tf.minimum(height, width))
      image = tf.image.crop_to_bounding_box(
          image, (height - side) // 2, (width - side) // 2, side, side)
    if (crop == 'none' and static_h is not None and static_h <= h and
        static_w <= w):
      pad_h, pad_w = h - static_h, w - static_w
      image = tf.pad(image, [[pad_h // 2, pad_h - pad_h // 2],
                             [pad_w // 2, pad_w - pad_w // 2], [0, 0]])
    else:
      resized = tf.image.resize(tf.cast(image, tf.float32), [h, w],
                                method='area')
      image = _round_uint8(resized)
  channels = image.shape[-1]
  if channels != c:
    if c == 1 and channels in (3, 4):
      image = _round_uint8(tf.image.rgb_to_grayscale(
          tf.cast(image[..., :3], tf.float32)))
    elif c == 3 and channels == 1:
      image = tf.image.grayscale_to_rgb(image)
    elif c == 3 and channels == 4:
      image = image[..., :3]
    else:
      raise ValueError(f'cannot convert {channels}-channel images to {c}.')
  return tf.ensure_shape(image, [h, w, c])


def _round_uint8(x):
  return tf.cast(tf.clip_by_value(tf.round(x), 0., 255.), tf.uint8)


# --- Models -------------------------------------------------------------------


class LatentModel:
  """An exact image <-> latent map: `encode`, `decode`, `sample`.

  Images are float `[N, H, W, C]` in `[0, 1]` (`from_uint8` converts pixels),
  latents flat `[N, D]` with `D = H * W * C`, both numpy arrays. Work is done
  in batches of `batch_size`. A class-conditional model (`num_classes`) takes
  int `labels` (`[N]`, or a scalar for all) in `encode`, `decode` and
  `sample`. Subclasses implement `_encode` and `_decode` on one batch (with
  the batch's labels when conditional).
  """

  def __init__(self, image_shape, n_bits, config=None, dtype=np.float32,
               batch_size=64, description=''):
    self.image_shape = tuple(int(d) for d in image_shape)
    self.n_bits = int(n_bits)
    self.config = dict(config or {})
    self.dtype = np.dtype(dtype)
    self.batch_size = int(batch_size)
    self.description = description

  @property
  def num_classes(self):
    """The classes of a class-conditional model, else None."""
    return self.config.get('num_classes')

  @property
  def latent_size(self):
    return int(np.prod(self.image_shape))

  def __repr__(self):
    return (f'{type(self).__name__}({self.description or "?"}, image_shape='
            f'{self.image_shape}, n_bits={self.n_bits})')

  def encode(self, images, labels=None):
    """Float images `[N, H, W, C]` in `[0, 1]` -> latents `[N, D]`."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating):
      raise TypeError(
          f'expected float images in [0, 1], got dtype {images.dtype}; '
          'convert pixels with latent.from_uint8(images, model.n_bits).')
    if images.ndim != 4 or images.shape[1:] != self.image_shape:
      raise ValueError(
          f'expected images of shape [N, {", ".join(map(str, self.image_shape))}]'
          f', got shape {list(images.shape)}.')
    return self._batched(self._encode, images.astype(self.dtype),
                         (self.latent_size,), labels)

  def decode(self, z, labels=None):
    """Latents `[N, D]` -> float images `[N, H, W, C]` (not clipped)."""
    z = np.asarray(z)
    if z.ndim != 2 or z.shape[1] != self.latent_size:
      raise ValueError(f'expected latents of shape [N, {self.latent_size}], '
                       f'got shape {list(z.shape)}.')
    return self._batched(self._decode, z.astype(self.dtype), self.image_shape,
                         labels)

  def reconstruct(self, images, labels=None):
    """`decode(encode(images))`: the images again, up to float error."""
    return self.decode(self.encode(images, labels), labels)

  def latents(self, n, seed=0):
    """`n` standard-normal latents `[n, D]`, from a stateless seed.

    The draws of the export's `sample` signature and of
    `tfp_glow.sample(dist, n, t, seed=(seed, 0))`.
    """
    return tf.random.stateless_normal(
        [int(n), self.latent_size], tf.constant([int(seed), 0], tf.int64),
        dtype=tf.as_dtype(self.dtype)).numpy()

  def sample(self, n, temperature=1., seed=0, labels=None):
    """`n` float images decoded from `temperature * latents(n, seed)`.

    `temperature` is a scalar or one value per image; to uint8 with
    `to_uint8` these are the export's `sample(n, temperature, seed)`.
    `labels`: the classes to draw from, for a class-conditional model.
    """
    temperature = np.asarray(temperature, self.dtype)
    if np.any(temperature < 0):
      raise ValueError(f'`temperature` must be >= 0, got {temperature}.')
    if temperature.ndim:
      temperature = temperature[:, np.newaxis]
    return self.decode(self.latents(n, seed) * temperature, labels)

  def to_uint8(self, images):
    """Float images -> uint8 pixels at the model's `n_bits`."""
    return to_uint8(images, self.n_bits)

  def from_uint8(self, images):
    """uint8 pixels -> float images at the model's `n_bits` (bin centres)."""
    return from_uint8(images, self.n_bits)

  def _labels(self, labels, n):
    """Checked int32 labels `[n]`, or None for an unconditional model."""
    if not self.num_classes:
      if labels is not None:
        raise ValueError('`labels` given to a model that is not '
                         'class-conditional.')
      return None
    if labels is None:
      raise ValueError(f'the model is class-conditional ({self.num_classes} '
                       'classes): pass `labels`.')
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer) or labels.ndim > 1:
      raise ValueError('`labels` must be int class ids, a scalar or [N], got '
                       f'{labels.dtype.name} of shape {list(labels.shape)}.')
    if np.any((labels < 0) | (labels >= self.num_classes)):
      raise ValueError(f'`labels` must be in 0..{self.num_classes - 1}, got '
                       f'{np.unique(labels).tolist()}.')
    return np.broadcast_to(labels, (n,)).astype(np.int32)

  def _batched(self, fn, x, event_shape, labels=None):
    labels = self._labels(labels, len(x))
    if not len(x):
      return np.zeros((0, *event_shape), self.dtype)
    step = self.batch_size
    return np.concatenate([
        np.asarray(fn(x[i:i + step]) if labels is None else
                   fn(x[i:i + step], labels[i:i + step]))
        for i in range(0, len(x), step)]).astype(self.dtype)

  def _encode(self, images):
    raise NotImplementedError

  def _decode(self, z):
    raise NotImplementedError


class DistributionLatentModel(LatentModel):
  """A `tfp_glow.GlowDistribution` in this process (`tfp_glow.encode/decode`)."""

  def __init__(self, dist, n_bits=8, batch_size=64):
    import tfp_glow  # pylint: disable=g-import-not-at-top
    super().__init__(dist.image_shape, n_bits, config=dist.config,
                     dtype=dist.dtype.as_numpy_dtype, batch_size=batch_size,
                     description='in-process')
    self.dist = dist
    image_spec = tf.TensorSpec([None, *dist.image_shape], dist.dtype)
    z_spec = tf.TensorSpec([None, self.latent_size], dist.dtype)
    if self.num_classes:
      label_spec = tf.TensorSpec([None], tf.int32)
      self._encode_fn = tf.function(
          lambda x, y: tfp_glow.encode(dist, x, labels=y)[0],
          input_signature=[image_spec, label_spec])
      self._decode_fn = tf.function(
          lambda z, y: tfp_glow.decode(dist, z, labels=y),
          input_signature=[z_spec, label_spec])
    else:
      self._encode_fn = tf.function(
          lambda x: tfp_glow.encode(dist, x)[0], input_signature=[image_spec])
      self._decode_fn = tf.function(
          lambda z: tfp_glow.decode(dist, z), input_signature=[z_spec])

  def _encode(self, images, labels=None):
    args = (images,) if labels is None else (images, labels)
    return self._encode_fn(*args).numpy()

  def _decode(self, z, labels=None):
    args = (z,) if labels is None else (z, labels)
    return self._decode_fn(*args).numpy()


class SavedModelLatentModel(LatentModel):
  """A `tfp_glow.export` SavedModel; loading and running it needs only TF."""

  def __init__(self, path, batch_size=64):
    path = resolve_saved_model(path)
    loaded = tf.saved_model.load(path)
    missing = {'encode', 'decode', 'config'} - set(loaded.signatures)
    if missing:
      raise ValueError(
          f'{path}: the SavedModel has no {", ".join(sorted(missing))} '
          f'signature (found {sorted(loaded.signatures)}); the latent tools '
          'need a tfp_glow export (tfp_glow.export.save, --flow=tfp_glow), '
          'not the tfb_glow baseline.')
    config = json.loads(
        loaded.signatures['config']()['config'].numpy().decode())
    # The training run's own flags (crop, data_dir, ...) fill in the rest.
    workdir_config = os.path.join(os.path.dirname(os.path.dirname(path)),
                                  'config.json')
    if tf.io.gfile.exists(workdir_config):
      with tf.io.gfile.GFile(workdir_config) as f:
        try:
          for key, value in json.load(f).items():
            config.setdefault(key, value)
        except ValueError:
          pass
    super().__init__(config['image_shape'], config.get('n_bits', 8),
                     config=config, dtype=np.float32, batch_size=batch_size,
                     description=path)
    self.path = path
    self._loaded = loaded  # Keeps the signatures' variables alive.
    self._encode_fn = loaded.signatures['encode']
    self._decode_fn = loaded.signatures['decode']

  def _encode(self, images, labels=None):
    kwargs = {} if labels is None else dict(labels=tf.constant(labels))
    return self._encode_fn(images=tf.constant(images), **kwargs)['z'].numpy()

  def _decode(self, z, labels=None):
    kwargs = {} if labels is None else dict(labels=tf.constant(labels))
    return self._decode_fn(z=tf.constant(z), **kwargs)['images'].numpy()


def from_distribution(dist, n_bits=8, batch_size=64):
  """A `LatentModel` of an in-process `tfp_glow.GlowDistribution`."""
  return DistributionLatentModel(dist, n_bits=n_bits, batch_size=batch_size)


def load(model, n_bits=8, batch_size=64):
  """A `LatentModel` from a path (see `resolve_saved_model`) or a distribution.

  Args:
    model: a `LatentModel` (returned as is), a `tfp_glow.GlowDistribution`,
      a SavedModel version directory, an export directory (its newest version)
      or a training workdir (the newest version in `<workdir>/export/`).
    n_bits: the bits per pixel of an in-process distribution (an export
      stores its own).
    batch_size: images per encode/decode call.
  """
  if isinstance(model, LatentModel):
    return model
  if isinstance(model, (str, os.PathLike)):
    return SavedModelLatentModel(model, batch_size=batch_size)
  return from_distribution(model, n_bits=n_bits, batch_size=batch_size)


def resolve_saved_model(path):
  """`path`, its newest `<version>/`, or the newest of `<path>/export/`.

  Raises:
    FileNotFoundError: none of them holds a `saved_model.pb`.
  """
  from tfp_glow import export  # pylint: disable=g-import-not-at-top
  path = os.fspath(path)
  found = export.find_saved_model(path, (path, os.path.join(path, 'export')))
  if found:
    return found
  raise FileNotFoundError(
      f'no SavedModel at {path!r}: expected {path}/saved_model.pb, a version '
      f'directory {path}/<step>/saved_model.pb, or a training workdir with '
      f'{path}/export/<step>/saved_model.pb. Train with `python -m train.main '
      '--flagfile=demo.flags` (it exports at the end) or export with '
      'tfp_glow.export.save.')


# --- Latent arithmetic -----------------------------------------------------------


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


def _as_batch(images):
  images = np.asarray(images)
  single = images.ndim == 3
  return (images[np.newaxis] if single else images), single


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
  model = load(model)
  if method not in METHODS:
    raise ValueError(f'`method` must be one of {METHODS}, got {method!r}.')
  if int(steps) < 2:
    raise ValueError(f'`steps` must be >= 2 (the two endpoints), got {steps}.')
  x0, single = _as_batch(x0)
  x1, _ = _as_batch(x1)
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


def temperature_grid(model, temperatures, n_per=8, seed=0, labels=None):
  """Samples at several temperatures, `[len(temperatures), n_per, H, W, C]`.

  Every row decodes the same standard-normal draws scaled by its temperature
  (openai/glow's `eps_std`, [1] Figure 8), so a column shows one sample from
  the mean (`T = 0`) to the model's full spread (`T = 1`). `labels`: for a
  class-conditional model, the class of each column (`[n_per]` or a scalar).
  """
  model = load(model)
  temperatures = np.asarray(temperatures, model.dtype).reshape(-1)
  if np.any(temperatures < 0):
    raise ValueError(f'temperatures must be >= 0, got {temperatures}.')
  eps = model.latents(n_per, seed)
  z = temperatures[:, np.newaxis, np.newaxis] * eps
  if labels is not None:
    labels = np.tile(np.broadcast_to(labels, (int(n_per),)),
                     len(temperatures))
  return model.decode(z.reshape(-1, model.latent_size), labels).reshape(
      len(temperatures), int(n_per), *model.image_shape)


def attribute_vectors(model, images, masks, z=None, labels=None):
  """`{name: mean z(mask) - mean z(~mask)}` for each boolean mask over images.

  openai/glow's `get_manipulators` ([1] Section 5): the difference of the
  mean latents of the images with and without the attribute. The images are
  encoded once (or pass their latents `z`); `labels`: their classes, for a
  class-conditional model.

  Raises:
    ValueError: a mask selects all or none of the images.
  """
  model = load(model)
  if z is None:
    z = model.encode(images, labels)
  z = np.asarray(z, np.float64)
  vectors = {}
  for name, mask in masks.items():
    mask = np.asarray(mask).astype(bool).reshape(-1)
    if mask.shape[0] != z.shape[0]:
      raise ValueError(f'attribute {name!r}: the mask has {mask.shape[0]} '
                       f'entries for {z.shape[0]} images.')
    n_with = int(mask.sum())
    if n_with == 0 or n_with == len(mask):
      raise ValueError(
          f'attribute {name!r}: {n_with} of {len(mask)} images have it; the '
          'vector needs images with and without it (use more images).')
    vectors[name] = (z[mask].mean(0) - z[~mask].mean(0)).astype(model.dtype)
  return vectors


def attribute_vector(model, images, mask, labels=None):
  """`mean z(images[mask]) - mean z(images[~mask])`, a `[D]` vector."""
  return attribute_vectors(model, images, {'attribute': mask},
                           labels=labels)['attribute']


def manipulate(model, x, vector, alphas, labels=None):
  """Images with latents `encode(x) + alpha * vector`, for each alpha.

  Args:
    model: a `LatentModel` (or anything `load` takes).
    x: float images `[H, W, C]` or `[N, H, W, C]` in `[0, 1]`.
    vector: a latent direction `[D]`, e.g. from `attribute_vector`.
    alphas: scales; `0` gives `decode(encode(x))`, `x` up to float error.
    labels: for a class-conditional model, the class of each image.

  Returns:
    `[len(alphas), H, W, C]` (or `[N, len(alphas), H, W, C]`).
  """
  model = load(model)
  x, single = _as_batch(x)
  vector = np.asarray(vector, np.float64).reshape(-1)
  if vector.shape[0] != model.latent_size:
    raise ValueError(f'expected a latent vector of size {model.latent_size}, '
                     f'got shape {list(np.shape(vector))}.')
  alphas = np.asarray(alphas, np.float64).reshape(-1)
  if labels is not None:
    labels = np.broadcast_to(labels, (len(x),))
  z = model.encode(x, labels).astype(np.float64)
  moved = z[:, np.newaxis] + alphas[:, np.newaxis] * vector  # [N, A, D]
  images = model.decode(
      moved.reshape(-1, model.latent_size),
      None if labels is None else np.repeat(labels, len(alphas))).reshape(
      len(x), len(alphas), *model.image_shape)
  return images[0] if single else images


# --- Data ---------------------------------------------------------------------


def load_tfds(dataset_name, split='train', n=1000, data_dir=None,
              image_shape=None, crop='none', crop_size=0, download=False):
  """`(images, features, info)`: `n` examples of a tfds dataset.

  Args:
    dataset_name: a tfds name, e.g. `'celeb_a'`.
    split: a tfds split string.
    n: examples to read (the first `n`, in file order).
    data_dir: the tfds data directory (None: tfds' default).
    image_shape: `(H, W, C)` to fit the images to (see `fit_images`); None
      keeps them as they are (they must then share one shape).
    crop, crop_size: as `fit_images`.
    download: prepare the dataset if it is not (needs the network).

  Returns:
    uint8 images `[n, H, W, C]`, a dict of the other features as numpy arrays
    (nested dicts, e.g. CelebA's `attributes`, flattened to
    `'attributes/Smiling'`), and the `tfds.core.DatasetInfo`.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(dataset_name, data_dir=data_dir)
  try:
    if download and not builder.is_prepared():
      builder.download_and_prepare()
    ds = builder.as_dataset(split=split, shuffle_files=False)
  except (AssertionError, FileNotFoundError, tf.errors.NotFoundError) as e:
    raise RuntimeError(
        f'tfds dataset {dataset_name!r} ({split}) is not prepared in '
        f'{builder.data_dir}: prepare it where there is internet (`tfds build '
        f'{dataset_name} --data_dir=<dir>`, or train on it once) and pass its '
        'data_dir.') from e
  features = builder.info.features
  key = tfds_features.image_key(features)

  def prepare(example):
    example = dict(example)
    image = example.pop(key)
    if image_shape is not None:
      image = _fit_image(image, tuple(image_shape), crop, crop_size)
    return image, example

  images, columns = [], {}
  for image, example in tfds.as_numpy(ds.take(int(n)).map(prepare)):
    images.append(image)
    for name, value in _flatten(example).items():
      columns.setdefault(name, []).append(value)
  if not images:
    raise ValueError(f'tfds {dataset_name!r} split {split!r} is empty.')
  return (np.stack(images),
          {name: np.stack(values) for name, values in columns.items()},
          builder.info)


def _flatten(example, prefix=''):
  flat = {}
  for name, value in example.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f'{prefix}{name}/'))
    else:
      flat[prefix + name] = value
  return flat


def attribute_masks(features, attributes=None, info=None):
  """Boolean masks `{spec: [n]}` from the feature columns of `load_tfds`.

  Args:
    features: the dict of feature arrays `load_tfds` returns.
    attributes: specs, each `'NAME'` (a boolean feature, top-level or in a
      dict feature such as CelebA's `attributes/NAME`) or `'FEATURE=VALUE'`
      (images whose feature equals `VALUE`: an integer, or a `ClassLabel`'s
      class name, e.g. `'label=7'`). None: every boolean feature (CelebA's
      40 attributes).
    info: the dataset's `DatasetInfo`, for class names.
  """
  booleans = {name.rsplit('/', 1)[-1]: name for name, v in features.items()
              if v.dtype == np.bool_ and v.ndim == 1}
  if attributes is None:
    if not booleans:
      raise ValueError(
          'the dataset has no boolean features; name attributes as '
          f'FEATURE=VALUE, e.g. label=1 (features: {sorted(features)}).')
    attributes = sorted(booleans)
  masks = {}
  for spec in attributes:
    if '=' in spec:
      name, value = spec.split('=', 1)
      if name not in features:
        raise ValueError(f'attribute {spec!r}: no feature {name!r} (features: '
                         f'{sorted(features)}).')
      column = features[name]
      target = _feature_value(name, value, column, info)
      masks[spec] = np.asarray(column == target).reshape(len(column))
    else:
      name = spec if spec in features else booleans.get(spec)
      if name is None or features[name].dtype != np.bool_:
        raise ValueError(
            f'attribute {spec!r}: not a boolean feature of the dataset; '
            f'choose one of {sorted(booleans) or "none"}, or FEATURE=VALUE '
            f'(features: {sorted(features)}).')
      masks[spec] = features[name].astype(bool)
  return masks


def _feature_value(name, value, column, info):
  feature = None
  if info is not None:
    feature = info.features
    for part in name.split('/'):
      feature = feature[part] if part in feature.keys() else None
      if feature is None:
        break
  names = getattr(feature, 'names', None)
  if names and value in names:
    return names.index(value)
  if np.issubdtype(column.dtype, np.integer):
    try:
      return int(value)
    except ValueError:
      raise ValueError(f'{name}={value}: not an integer'
                       + (f' or a class of {names}' if names else '')
                       + '.') from None
  if column.dtype == np.bool_:
    return value.lower() in ('1', 'true', 'yes')
  return value.encode() if column.dtype.kind == 'O' else value


def attribute_vectors_from_tfds(model, dataset_name, attributes=None,
                                split='train', n=1000, data_dir=None,
                                image_size=None, crop=None, crop_size=None):
  """Attribute vectors (`attribute_vectors`) over `n` images of a tfds dataset.

  Args:
    model: a `LatentModel` (or anything `load` takes).
    dataset_name: e.g. `'celeb_a'` (its 40 attributes are booleans in the
      `attributes` feature) or any dataset with a label feature (`'mnist'`).
    attributes: specs as `attribute_masks` (`'Smiling'`, `'label=7'`); None:
      every boolean attribute.
    split, n, data_dir: which examples (see `load_tfds`).
    image_size: square size to fit the images to; None: the model's `H x W`
      (the images must be fit to the model's shape anyway).
    crop, crop_size: the training's preprocessing (see `fit_images`); None:
      the model's stored configuration (`crop`, `crop_size`) or `'none'`.

  Returns:
    `{spec: vector [D]}`.
  """
  model = load(model)
  h, w, c = model.image_shape
  if image_size is not None and (int(image_size), int(image_size)) != (h, w):
    raise ValueError(f'image_size={image_size} does not match the model\'s '
                     f'{h}x{w} images.')
  crop = crop or model.config.get('crop') or 'none'
  crop_size = model.config.get('crop_size', 0) if crop_size is None \
      else crop_size
  images, features, info = load_tfds(
      dataset_name, split=split, n=n, data_dir=data_dir,
      image_shape=model.image_shape, crop=crop, crop_size=crop_size)
  masks = attribute_masks(features, attributes, info)
  return attribute_vectors(model, model.from_uint8(images), masks)


# --- Pictures -----------------------------------------------------------------


def image_grid(images, pad=2, pad_value=255, scale=1):
  """uint8 tiles `[rows, cols, H, W, C]` -> one uint8 image.

  Tiles are enlarged `scale` times (nearest neighbour) and separated by `pad`
  pixels of `pad_value`: the result is `rows * H * scale + (rows - 1) * pad`
  by `cols * W * scale + (cols - 1) * pad` pixels.
  """
  images = np.asarray(images)
  if images.dtype != np.uint8:
    raise TypeError(f'expected uint8 tiles, got {images.dtype} (convert '
                    'floats with model.to_uint8).')
  if images.ndim == 4:
    images = images[np.newaxis]
  if images.ndim != 5:
    raise ValueError(f'expected tiles [rows, cols, H, W, C], got shape '
                     f'{list(images.shape)}.')
  scale = int(scale)
  if scale > 1:
    images = images.repeat(scale, axis=2).repeat(scale, axis=3)
  rows, cols, h, w, c = images.shape
  grid = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad,
                  c), pad_value, np.uint8)
  for i in range(rows):
    for j in range(cols):
      grid[i * (h + pad):i * (h + pad) + h,
           j * (w + pad):j * (w + pad) + w] = images[i, j]
  return grid


def save_grid(path, images, pad=2, pad_value=255, scale=1):
  """Writes `image_grid(images, ...)` as a PNG; returns the path."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  grid = image_grid(images, pad, pad_value, scale)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
  return path


def _read_images(paths):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  images = []
  for path in paths:
    with Image.open(path) as image:
      image = np.asarray(image.convert('L' if image.mode in ('L', 'LA', 'I',
                                                             '1') else 'RGB'))
    images.append(image[..., np.newaxis] if image.ndim == 2 else image)
  return images


# --- Command line ---------------------------------------------------------------


def _floats(text):
  try:
    return [float(v) for v in text.split(',') if v.strip()]
  except ValueError:
    raise argparse.ArgumentTypeError(
        f'expected comma-separated numbers, got {text!r}') from None


def _ints(text):
  try:
    return [int(v) for v in text.split(',') if v.strip()]
  except ValueError:
    raise argparse.ArgumentTypeError(
        f'expected comma-separated integers, got {text!r}') from None


def _paths(text):
  return [p for p in text.split(',') if p]


def parser():
  """The argument parser of `python -m tfp_glow.latent`."""
  common = argparse.ArgumentParser(add_help=False)
  common.add_argument(
      '--model', required=True,
      help='a SavedModel export: a version directory, an export directory '
      '(its newest version) or a training workdir (<workdir>/export/ newest)')
  common.add_argument('--out', required=True, help='the PNG to write')
  common.add_argument('--scale', type=int, default=1,
                      help='enlarge each tile this many times (nearest)')
  common.add_argument('--pad', type=int, default=2,
                      help='pixels between tiles')
  common.add_argument('--seed', type=int, default=0)
  common.add_argument(
      '--labels', type=_ints, default=None,
      help='class-conditional models: comma-separated class ids. sample: a '
      'block of rows per class (default: every class); other commands: one '
      'per image, or one for all (default: the embedded digits\' own '
      'labels)')
  common.add_argument('--batch_size', type=int, default=64)
  images = argparse.ArgumentParser(add_help=False)
  images.add_argument(
      '--images', type=_paths, default=None,
      help='comma-separated image files, fit to the model (see --crop)')
  images.add_argument(
      '--dataset_index', type=_ints, default=None,
      help='comma-separated rows of the embedded MNIST digits (0..4999, '
      'sorted by digit: rows 500*k..500*k+499 are k)')
  images.add_argument('--crop', choices=CROPS, default=None,
                      help='fitting images to the model; default: the '
                      'training run\'s --crop, else none')
  images.add_argument('--crop_size', type=int, default=None)

  top = argparse.ArgumentParser(
      prog='python -m tfp_glow.latent',
      description='PNG grids from a Glow export: samples at several '
      'temperatures, interpolations, attribute manipulation, '
      'reconstructions.')
  commands = top.add_subparsers(dest='command', required=True)
  sample = commands.add_parser(
      'sample', parents=[common],
      help='a row of samples per temperature (the same draws in every row)')
  sample.add_argument('--temperatures', type=_floats,
                      default=[0., 0.5, 0.7, 1.])
  sample.add_argument('--n', type=int, default=8, help='samples per row')

  interp = commands.add_parser(
      'interpolate', parents=[common, images],
      help='a row per consecutive pair of images (default: an embedded 2 and '
      '7)')
  interp.add_argument('--steps', type=int, default=8)
  interp.add_argument('--method', choices=METHODS, default='linear')

  manip = commands.add_parser(
      'manipulate', parents=[common, images],
      help='a row per image, a column per alpha: z + alpha * (attribute '
      'vector)')
  manip.add_argument(
      '--attribute', required=True,
      help='a boolean feature (CelebA: Smiling, Eyeglasses, ...) or '
      'FEATURE=VALUE (label=7)')
  manip.add_argument('--alphas', type=_floats, default=[-1., -0.5, 0., 0.5,
                                                        1.])
  manip.add_argument(
      '--dataset', default=EMBEDDED,
      help='the images of the attribute vector: a tfds name (celeb_a) or '
      f'{EMBEDDED} (attribute label=K); default: %(default)s')
  manip.add_argument('--split', default='train')
  manip.add_argument('--data_dir', default=None)
  manip.add_argument('--num_examples', type=int, default=1000,
                     help='images averaged for the vector')
  manip.add_argument('--num_images', type=int, default=4,
                     help='images to manipulate when no --images or '
                     '--dataset_index is given')

  recon = commands.add_parser(
      'reconstruct', parents=[common, images],
      help='the images (top row) and decode(encode(images)) (bottom row)')
  recon.add_argument('--n', type=int, default=8,
                     help='embedded digits 0..n-1 when no images are given')
  return top


def _crop(args, model):
  """--crop/--crop_size, else the training run's, else no crop."""
  crop = args.crop or model.config.get('crop') or 'none'
  crop_size = (model.config.get('crop_size') or 0 if args.crop_size is None
               else args.crop_size)
  return crop, crop_size


def _input_images(args, model, default_rows):
  """`(uint8 images, labels)`: --images, --dataset_index or defaults.

  The labels are --labels, else (class-conditional models) the embedded
  digits' own; None for an unconditional model.
  """
  if args.images:
    images = fit_images(_read_images(args.images), model.image_shape,
                        *_crop(args, model))
    digits = None
  else:
    raw, digits = embedded_mnist(args.dataset_index or default_rows)
    images = fit_images(raw, model.image_shape, 'none')  # 28x28, padded.
  return images, _image_labels(args, model, len(images), digits)


def _image_labels(args, model, n, own=None):
  """--labels broadcast to `n` images, else `own` (conditional), else None."""
  if args.labels is not None:
    if len(args.labels) not in (1, n):
      raise ValueError(f'--labels needs one class or one per image ({n}), '
                       f'got {len(args.labels)}.')
    return np.broadcast_to(np.asarray(args.labels, np.int32), (n,))
  if not model.num_classes:
    return None
  if own is None:
    raise ValueError(f'the model is class-conditional ({model.num_classes} '
                     'classes): pass --labels.')
  return np.asarray(own, np.int32)


def _sample_grid(args, model):
  """Rows of samples per temperature (per class, for a conditional model)."""
  if not model.num_classes:
    if args.labels is not None:
      raise ValueError('--labels given to a model that is not '
                       'class-conditional.')
    return temperature_grid(model, args.temperatures, args.n, args.seed)
  labels = (args.labels if args.labels is not None else
            list(range(model.num_classes)))
  return np.concatenate([
      temperature_grid(model, args.temperatures, args.n, args.seed, label)
      for label in labels])


def _run(args, model=None):
  model = load(args.model if model is None else model,
               batch_size=args.batch_size)
  summary = dict(command=args.command, model=model.description)
  if args.command == 'sample':
    tiles = _sample_grid(args, model)
    summary.update(temperatures=args.temperatures)
    if model.num_classes:
      summary.update(labels=args.labels or list(range(model.num_classes)))
  elif args.command == 'interpolate':
    x, labels = _input_images(args, model, embedded_digit_rows(DEFAULT_PAIR))
    x = model.from_uint8(x)
    if len(x) < 2:
      raise ValueError('interpolate needs at least two images.')
    # A path has one class: a conditional model encodes and decodes each
    # pair under its first image's label.
    tiles = interpolate(model, x[:-1], x[1:], args.steps, args.method,
                        None if labels is None else labels[:-1])
    summary.update(method=args.method, steps=args.steps)
  elif args.command == 'manipulate':
    vector, counts = _attribute_vector_for(args, model)
    if args.images or args.dataset_index or args.dataset == EMBEDDED:
      digit = counts.get('digit')
      default_digits = [d for d in range(10) if d != digit][:args.num_images]
      x, labels = _input_images(args, model,
                                embedded_digit_rows(default_digits))
    else:
      x, features, _ = load_tfds(args.dataset, args.split, args.num_images,
                                 args.data_dir, model.image_shape,
                                 *_crop(args, model))
      labels = _image_labels(args, model, len(x),
                             _dataset_labels(model, features))
    tiles = manipulate(model, model.from_uint8(x), vector, args.alphas,
                       labels)
    summary.update(attribute=args.attribute, alphas=args.alphas,
                   vector_norm=float(np.linalg.norm(vector)), **counts)
  else:  # reconstruct
    x, labels = _input_images(args, model,
                              embedded_digit_rows(range(min(args.n, 10))))
    x = model.from_uint8(x)
    y = model.reconstruct(x, labels)
    tiles = np.stack([x, y])
    summary.update(max_abs_error=float(np.abs(y - x).max()))
  path = save_grid(args.out, model.to_uint8(tiles), pad=args.pad,
                   scale=args.scale)
  summary.update(out=path, grid_shape=list(np.shape(tiles)[:2]))
  return summary


def _attribute_vector_for(args, model):
  """The vector of --attribute over --dataset, and the image counts."""
  counts = {}
  if args.dataset == EMBEDDED:
    name, _, value = args.attribute.partition('=')
    if name != 'label' or not value.isdigit() or int(value) > 9:
      raise ValueError(f'--dataset={EMBEDDED} has one attribute, the digit: '
                       f'--attribute=label=K (K in 0..9), got '
                       f'{args.attribute!r}.')
    counts['digit'] = int(value)
    rows = np.random.default_rng(0).permutation(len(embedded_mnist()[1]))
    raw, labels = embedded_mnist(rows[:args.num_examples])
    images = fit_images(raw, model.image_shape, 'none')
    features = {'label': labels.astype(np.int64)}
    info = None
    own = labels
  else:
    images, features, info = load_tfds(
        args.dataset, args.split, args.num_examples, args.data_dir,
        model.image_shape, *_crop(args, model))
    own = _dataset_labels(model, features)
  mask = attribute_masks(features, [args.attribute], info)[args.attribute]
  # A conditional model encodes each image under its own class.
  labels = (np.asarray(own, np.int32) if model.num_classes and own is not None
            else None)
  if model.num_classes and labels is None:
    raise ValueError(
        f'the model is class-conditional; the attribute images of '
        f'{args.dataset} need their labels (feature '
        f'{model.config.get("label_key", "label")!r} not found).')
  vector = attribute_vector(model, model.from_uint8(images), mask, labels)
  counts.update(n_with=int(mask.sum()), n_without=int((~mask).sum()))
  return vector, counts


def _dataset_labels(model, features):
  """The class labels of tfds examples for a conditional model, or None."""
  if not model.num_classes:
    return None
  return features.get(model.config.get('label_key') or 'label')


def main(argv=None, model=None):
  """Runs one command; prints a JSON summary line; returns the summary.

  Args:
    argv: the arguments after `python -m tfp_glow.latent` (None: sys.argv).
    model: a `LatentModel` (or a distribution) to use instead of loading
      `--model` (for tests and in-process models).
  """
  args = parser().parse_args(argv)
  summary = _run(args, model)
  print(json.dumps(summary))
  return summary


def console_main(argv=None):
  """`main` with errors as one line on stderr and exit status 1."""
  try:
    main(argv)
  except (ValueError, TypeError, FileNotFoundError, RuntimeError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(console_main())

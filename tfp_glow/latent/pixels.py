"""Pixels <-> float images, and fitting images to a model's shape."""

import numpy as np
import tensorflow as tf

__all__ = ['CROPS', 'as_image_batch', 'fit_image', 'fit_images', 'from_uint8',
           'to_uint8']

CROPS = ('none', 'center', 'random')


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
  out = [fit_image(tf.convert_to_tensor(np.asarray(image, np.uint8)),
                    tuple(image_shape), crop, crop_size).numpy()
         for image in images]
  return np.stack(out) if out else np.zeros((0, *image_shape), np.uint8)


def fit_image(image, image_shape, crop, crop_size):
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


def as_image_batch(images):
  """`(images [N, H, W, C], single)`: one image `[H, W, C]` as a batch of 1."""
  images = np.asarray(images)
  single = images.ndim == 3
  return (images[np.newaxis] if single else images), single

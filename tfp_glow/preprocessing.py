"""Fitting uint8 images of any size to a model's `[H, W, C]`, as training does.

One preprocessing for the training data (`train.data`) and for the images the
latent tools encode (`tfp_glow.latent.fit_images`), so a model sees at
inference the pixels it was trained on:

* `crop='none'`: an image no larger than `H x W` is padded with zeros, centred
  (openai/glow pads MNIST 28x28 -> 32x32); a larger one is area-resized.
* `crop='center'`: the central square of side `crop_size` (0: the largest)
  is area-resized to `H x W` (the standard way to downsample CelebA for
  flows).
* `crop='random'`: random `H x W` crops are a training augmentation
  (`train.data` draws them); here, outside training, it is the central crop.

Grey, RGB and RGBA images are converted to the model's channel count.
"""

import numpy as np
import tensorflow as tf

__all__ = ['CROPS', 'fit_image', 'fit_images', 'round_to_uint8',
           'to_channels']

CROPS = ('none', 'center', 'random')


def fit_images(images, image_shape, crop='none', crop_size=0):
  """uint8 images of any size -> `[N, H, W, C]` uint8 numpy, see the module.

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
  """One uint8 image `[h, w, c]` (static rank 2 or 3) -> `image_shape`, in TF.

  `image_shape`'s channel count may be None: the image keeps its own.
  """
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
      image = round_to_uint8(resized)
  if c is not None:
    image = to_channels(image, c)
  return tf.ensure_shape(image, [h, w, c])


def to_channels(image, channels):
  """A uint8 image `[..., c]` with 1, 3 or 4 channels -> `channels` (1 or 3).

  RGB(A) to grey is `tf.image.rgb_to_grayscale` of the colour channels; grey
  to RGB repeats it; RGBA to RGB drops alpha.
  """
  have = image.shape[-1]
  if have == channels:
    return image
  if channels == 1 and have in (3, 4):
    return round_to_uint8(tf.image.rgb_to_grayscale(
        tf.cast(image[..., :3], tf.float32)))
  if channels == 3 and have == 1:
    return tf.image.grayscale_to_rgb(image)
  if channels == 3 and have == 4:
    return image[..., :3]
  raise ValueError(f'cannot convert {have}-channel images to {channels}.')


def round_to_uint8(x):
  """Float pixel values on the 0..255 scale -> uint8, rounded and clipped.

  Rounds half to even (`tf.round`).
  """
  return tf.cast(tf.clip_by_value(tf.round(x), 0., 255.), tf.uint8)

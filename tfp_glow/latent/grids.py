"""Image grids: uint8 tiles -> one picture, written as PNG."""

import os

import numpy as np

from tfp_glow import image_file

__all__ = ['image_grid', 'read_images', 'save_grid']


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


def read_images(paths):
  images = []
  for path in paths:
    with image_file.open_image(path) as image:
      image = np.asarray(image.convert('L' if image.mode in ('L', 'LA', 'I',
                                                             '1') else 'RGB'))
    images.append(image[..., np.newaxis] if image.ndim == 2 else image)
  return images

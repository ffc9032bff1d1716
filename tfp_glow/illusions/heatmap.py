"""bits/dim of every patch-sized window of an image ([1]'s likelihood heatmap).

    bpd = heatmap.window_bits_per_dim(score, image, stride=4)
    # bpd[i, j]: the window with top-left corner (i * stride, j * stride)

[1]: Hirsch & Tal. arXiv 2005.08772 (VI-Glow's `image_heatmap.py` scores every
     16x16 window, stride 1, of images resized to a short side of 256).
"""

import numpy as np

from tfp_glow import image_file

__all__ = ['load_image', 'resize_short_side', 'window_bits_per_dim',
           'windows']


def windows(image, size, stride=1):
  """All `size` x `size` windows of `image` `[H, W, C]` at `stride`.

  Returns:
    `[rows, cols, size, size, C]` (a view), `rows = (H - size) // stride + 1`.
  """
  image = np.asarray(image)
  if image.ndim != 3:
    raise ValueError(f'expected an image [H, W, C], got shape {image.shape}.')
  if int(stride) < 1:
    raise ValueError(f'`stride` must be positive, got {stride}.')
  if image.shape[0] < size or image.shape[1] < size:
    raise ValueError(f'the image ({image.shape[0]}x{image.shape[1]}) is '
                     f'smaller than one {size}x{size} window.')
  view = np.lib.stride_tricks.sliding_window_view(image, (size, size),
                                                  axis=(0, 1))
  # [H - size + 1, W - size + 1, C, size, size] -> windows last-but-channel.
  return np.moveaxis(view[::stride, ::stride], 2, -1)


def window_bits_per_dim(score, image, stride=1, batch_size=1024):
  """bits/dim `[rows, cols]` of every window of a uint8 image `[H, W, C]`.

  The window size is the scorer's `image_shape` (16x16x3 by default).
  """
  height, width, channels = getattr(score, 'image_shape', (16, 16, 3))
  if height != width:
    raise ValueError(f'expected square windows, got {height}x{width}.')
  image = np.asarray(image)
  if image.dtype != np.uint8:
    raise TypeError(f'expected a uint8 image, got dtype {image.dtype}.')
  if image.ndim != 3 or image.shape[-1] != channels:
    raise ValueError(f'expected an image [H, W, {channels}], got shape '
                     f'{image.shape}.')
  view = windows(image, height, stride)
  rows, cols = view.shape[:2]
  flat = view.reshape(rows * cols, height, width, channels)
  out = np.concatenate([
      np.asarray(score(np.ascontiguousarray(flat[i:i + batch_size])),
                 np.float64)
      for i in range(0, len(flat), batch_size)])
  return out.reshape(rows, cols)


def load_image(path, short_side=None, channels=3):
  """An image file as uint8 `[H, W, channels]`, optionally resized.

  Args:
    path: any format Pillow reads (else `ValueError` naming the file).
    short_side: resize (Lanczos) so the shorter side has this many pixels,
      as [1]'s data pipeline (256); None keeps the size.
    channels: 3 (RGB) or 1 (greyscale, for a greyscale model).
  """
  if channels not in (1, 3):
    raise ValueError(f'expected 1 or 3 channels, got {channels}.')
  with image_file.open_image(path) as img:
    pixels = np.asarray(img.convert('L' if channels == 1 else 'RGB'),
                        np.uint8)
  return resize_short_side(pixels.reshape(*pixels.shape[:2], channels),
                           short_side)


def resize_short_side(image, short_side=None, resample='lanczos'):
  """uint8 `[H, W, C]` resized so its shorter side is `short_side` pixels.

  `resample`: 'lanczos' (photographs) or 'nearest' (masks, labels). None
  or 0 returns `image` as it is.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  if not short_side:
    return image
  filters = {'lanczos': Image.Resampling.LANCZOS,
             'nearest': Image.Resampling.NEAREST}
  if resample not in filters:
    raise ValueError(f'`resample` must be one of {sorted(filters)}, got '
                     f'{resample!r}.')
  height, width = image.shape[:2]
  scale = short_side / min(height, width)
  size = (max(1, round(width * scale)), max(1, round(height * scale)))
  squeeze = image.ndim == 3 and image.shape[-1] == 1
  img = Image.fromarray(image[..., 0] if squeeze else image)
  out = np.asarray(img.resize(size, filters[resample]), np.uint8)
  return out[..., np.newaxis] if squeeze else out

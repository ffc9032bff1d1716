"""Image grids: uint8 tiles -> one picture (labelled, enlarged), written as PNG."""

import math
import os

import numpy as np

from tfp_glow import console
from tfp_glow import image_file

__all__ = ['READABLE_TILE_PIXELS', 'check_grid_path', 'image_grid',
           'labelled_grid', 'read_images', 'readable_scale', 'save_grid']

# A tile is enlarged to at least this many pixels a side to be looked at
# (a 32x32 digit three times).
READABLE_TILE_PIXELS = 96


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


def readable_scale(tile_size, pixels=READABLE_TILE_PIXELS):
  """The whole-number enlargement that makes a tile at least `pixels` wide."""
  return max(1, math.ceil(pixels / int(tile_size)))


def labelled_grid(images, row_labels=(), title='', pad=2, pad_value=255,
                  scale=1):
  """`image_grid(images, pad, pad_value, scale)` with text around it.

  Each of `row_labels` (one per row, or none) is written left of its row,
  `title` above the grid, in black on `pad_value`, with the font PIL ships
  (no download), sized to the tiles.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from PIL import ImageDraw  # pylint: disable=g-import-not-at-top
  from PIL import ImageFont  # pylint: disable=g-import-not-at-top
  grid = image_grid(images, pad, pad_value, scale)
  rows = 1 if np.ndim(images) == 4 else np.shape(images)[0]
  row_labels = [str(label) for label in row_labels]
  if row_labels and len(row_labels) != rows:
    raise ValueError(f'expected one label per row ({rows}), got '
                     f'{len(row_labels)}.')
  if not row_labels and not title:
    return grid
  tile = (grid.shape[0] - (rows - 1) * pad) // rows
  font = ImageFont.load_default(size=max(10, min(tile // 5, 20)))
  space = font.size // 2
  measure = ImageDraw.Draw(Image.new('L', (1, 1)))

  def width(text):
    return math.ceil(measure.textlength(text, font=font))

  left = max(map(width, row_labels)) + 2 * space if row_labels else 0
  top = font.size + 2 * space if title else 0
  channels = grid.shape[-1]
  mode, ink = ('L', 0) if channels == 1 else ('RGB', (0, 0, 0))
  paper = pad_value if channels == 1 else (pad_value,) * 3
  canvas = Image.new(mode, (max(left + grid.shape[1], width(title) + 2 * space),
                            top + grid.shape[0]), paper)
  canvas.paste(Image.fromarray(grid[..., 0] if channels == 1 else grid),
               (left, top))
  draw = ImageDraw.Draw(canvas)
  if title:
    draw.text((space, space), title, fill=ink, font=font)
  for i, label in enumerate(row_labels):
    draw.text((left - space, top + i * (tile + pad) + tile // 2), label,
              fill=ink, font=font, anchor='rm')
  out = np.asarray(canvas)
  return out[..., np.newaxis] if channels == 1 else out


def check_grid_path(path):
  """Raises what `save_grid(path, ...)` would for `path`'s folder or image
  format, before any work is done and without creating anything.

  Raises:
    ValueError: Pillow writes no format with `path`'s extension.
    OSError: `path` is a folder, or a file stands where its folder would be.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  console.check_output_file(path)
  extension = os.path.splitext(path)[1].lower()
  Image.init()
  if Image.registered_extensions().get(extension) not in Image.SAVE:
    what = (f'{extension!r} is not an image format Pillow writes' if extension
            else 'no file extension to choose the image format by')
    raise ValueError(f'{path}: {what}; name it .png (or .jpg, .gif, .bmp, '
                     '.tif, .webp).')


def save_grid(path, images, pad=2, pad_value=255, scale=1, row_labels=(),
              title=''):
  """Writes `labelled_grid(images, ...)` as a PNG; returns the path."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  grid = labelled_grid(images, row_labels, title, pad, pad_value, scale)
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

"""The figures a finished run writes next to its samples, from test images.

    <workdir>/samples/interpolation.png   a row per pair of held-out images:
                                          linear paths between their latents
    <workdir>/samples/reconstruction.png  held-out images over
                                          decode(encode(x)), with the largest
                                          difference in the title

Both use `tfp_glow.latent` on the trained distribution in this process (the
tools `python -m tfp_glow.latent` runs on the export).
"""

import os

import numpy as np

from tfp_glow.latent import grids
from tfp_glow.latent import interpolation
from tfp_glow.latent import models
from tfp_glow.latent import pixels
from train import callbacks

__all__ = ['INTERPOLATION_FILE', 'RECONSTRUCTION_FILE', 'held_out_images',
           'write_end_figures']

INTERPOLATION_FILE = 'interpolation.png'
RECONSTRUCTION_FILE = 'reconstruction.png'
NUM_IMAGES = 8  # Reconstructed; consecutive pairs of them are interpolated.
INTERPOLATION_STEPS = 8


def held_out_images(test, n, conditional=False):
  """`(uint8 images [<=n, H, W, C], labels [<=n] or None)`: the first `n`
  of the unbatched test set (`(image, label)` pairs when `conditional`)."""
  examples = list(test.take(n).as_numpy_iterator())
  if conditional:
    images = np.stack([image for image, _ in examples])
    return images, np.asarray([label for _, label in examples], np.int32)
  return np.stack(examples), None


def write_end_figures(dist, test, workdir, n_bits, conditional=False):
  """Writes the interpolation and reconstruction figures of `dist`.

  Args:
    dist: the trained `tfp_glow` distribution.
    test: the unbatched test `tf.data.Dataset` of uint8 images (or
      `(image, label)` pairs for a class-conditional `dist`).
    workdir: the run's directory; the PNGs go to `<workdir>/samples/`.
    n_bits: the run's bits per pixel.
    conditional: whether `dist` is class-conditional.

  Returns:
    A dict: `interpolation` (its path, None with fewer than 2 test images),
    `reconstruction` (its path) and `max_abs_error`, the largest
    `|decode(encode(x)) - x|` over the images, pixels in `[0, 1]`.
  """
  model = models.from_distribution(dist, n_bits=n_bits)
  images, labels = held_out_images(test, NUM_IMAGES, conditional)
  x = pixels.from_uint8(images, n_bits)
  scale = grids.readable_scale(x.shape[1])
  directory = os.path.join(workdir, 'samples')
  result = dict(interpolation=None)
  if len(x) >= 2:
    pairs = len(x) // 2
    # A path has one class: a conditional model uses its first image's.
    path = interpolation.interpolate(
        model, x[0:2 * pairs:2], x[1:2 * pairs:2], INTERPOLATION_STEPS,
        labels=None if labels is None else labels[0:2 * pairs:2])
    result['interpolation'] = callbacks.write_png_file(
        os.path.join(directory, INTERPOLATION_FILE),
        grids.labelled_grid(
            model.to_uint8(path), scale=scale,
            title='Held-out test images (left, right) and the images on the '
            'straight line between their latents'))
  y = model.reconstruct(x, labels)
  error = float(np.abs(y - x).max())
  result['max_abs_error'] = error
  result['reconstruction'] = callbacks.write_png_file(
      os.path.join(directory, RECONSTRUCTION_FILE),
      grids.labelled_grid(
          model.to_uint8(np.stack([x, y])), ['x', 'decode(encode(x))'],
          scale=scale,
          title=f'Held-out test images and their reconstructions: max '
          f'|decode(encode(x)) - x| = {error:.1e} (pixels in [0, 1])'))
  return result

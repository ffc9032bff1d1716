"""Pixels <-> float images as numpy arrays, for the latent tools.

The maps themselves are `tfp_glow.dequantize(..., seed='midpoint')`,
`tfp_glow.dequantization.to_uint8` and `tfp_glow.preprocessing.fit_images`;
here they take and return numpy arrays.
"""

import numpy as np

from tfp_glow import dequantization
from tfp_glow.preprocessing import CROPS
from tfp_glow.preprocessing import fit_image
from tfp_glow.preprocessing import fit_images

__all__ = ['CROPS', 'as_image_batch', 'fit_image', 'fit_images', 'from_uint8',
           'to_uint8']


def from_uint8(images, n_bits=8):
  """uint8 pixels -> float32 images in `[0, 1]`, each at the centre of its bin.

  The deterministic (midpoint) dequantization of the export's
  `serving_default`: `(floor(x / 2**(8 - n_bits)) + 0.5) / 2**n_bits`.
  """
  return np.asarray(dequantization.dequantize(
      np.asarray(images), n_bits, seed='midpoint', dtype=np.float32))


def to_uint8(images, n_bits=8):
  """Float images in `[0, 1]` -> uint8 pixels at `n_bits` (openai/glow).

  Values outside `[0, 1]` are clipped; NaN (a diverged sample) becomes 0.
  """
  return np.asarray(dequantization.to_uint8(np.asarray(images), n_bits))


def as_image_batch(images):
  """`(images [N, H, W, C], single)`: one image `[H, W, C]` as a batch of 1."""
  images = np.asarray(images)
  single = images.ndim == 3
  return (images[np.newaxis] if single else images), single

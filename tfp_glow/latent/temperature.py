"""Sampling at several temperatures (openai/glow's `eps_std`).

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import numpy as np

from tfp_glow import codec
from tfp_glow.latent import models

__all__ = ['temperature_grid']


def temperature_grid(model, temperatures, n_per=8, seed=0, labels=None):
  """Samples at several temperatures, `[len(temperatures), n_per, H, W, C]`.

  Every row decodes the same standard-normal draws scaled by its temperature
  (openai/glow's `eps_std`, [1] Figure 8), so a column shows one sample from
  the mean (`T = 0`) to the model's full spread (`T = 1`). `labels`: for a
  class-conditional model, the class of each column (`[n_per]` or a scalar).
  """
  model = models.load(model)
  temperatures = codec.check_temperature(
      np.asarray(temperatures, model.dtype).reshape(-1), model.dtype).numpy()
  eps = model.latents(n_per, seed)
  z = temperatures[:, np.newaxis, np.newaxis] * eps
  if labels is not None:
    labels = np.tile(np.broadcast_to(labels, (int(n_per),)),
                     len(temperatures))
  return model.decode(z.reshape(-1, model.latent_size), labels).reshape(
      len(temperatures), int(n_per), *model.image_shape)

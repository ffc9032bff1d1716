"""Numerical invertibility of a Glow, measured on the images it will meet.

A flow is invertible in exact arithmetic; in float32 its inverse can still
explode where the forward map is nearly singular, which happens off the
training data [1]. `invertibility(dist, images)` measures, per set of
images:

    reconstruction   |decode(encode(x)) - x|           (max and mean, pixels
                                                         in [0, 1])
    log-det gap      |log|det J_enc(x)| + log|det J_dec(z)||   z = encode(x)
                     (nats per image; 0 in exact arithmetic)

and, given a float64 copy of the same weights (`tfp_glow.convert(dist,
dtype=tf.float64)`), how far float32 is from it: the latents, the log-det
and the reconstruction. `report(dist, sets)` does this for several sets
(the training data, noise, another dataset) and
`python -m tfp_glow.diagnostics` (`tfp_glow.diagnostics.cli`) for a SavedModel
export:

    python -m tfp_glow.diagnostics --model=/tmp/glow_demo
    # {"train": {"reconstruction_max": 2.4e-06, ...}, "noise": {...}, ...}

#### References

[1]: Behrmann, Vicol, Wang, Grosse, Jacobsen. Understanding and mitigating
     exploding inverses in invertible neural networks. arXiv 2006.09347.
"""

import inspect
import os

import numpy as np
import tensorflow as tf

from tfp_glow import codec
from tfp_glow import model as model_lib

__all__ = ['SETS', 'float64_copy', 'image_sets', 'invertibility',
           'load_saved_model', 'report']

SETS = ('train', 'noise', 'other')


def float64_copy(dist):
  """`dist`'s weights in a float64 Glow of the same architecture."""
  import tfp_glow  # pylint: disable=g-import-not-at-top
  return tfp_glow.convert(dist, dtype=tf.float64)


def invertibility(dist, images, labels=None, reference=None):
  """Reconstruction error and log-det gap of `dist` on float `images`.

  Args:
    dist: a Glow (`tfp_glow.glow`).
    images: float images `[N, H, W, C]` in `[0, 1]`.
    labels: the classes, for a class-conditional model.
    reference: a float64 copy of `dist` (`float64_copy`); adds the
      `*_vs_float64` entries.

  Returns:
    A dict of floats: `reconstruction_max`, `reconstruction_mean`,
    `log_det_gap_max`, `log_det_gap_mean`, `log_det_mean` (nats per image,
    for scale) and, with `reference`: `latent_vs_float64_max`,
    `log_det_vs_float64_max`, `reconstruction_vs_float64_max` and the
    reference's own `float64_reconstruction_max`.
  """
  measured = _directions(dist, images, labels)
  result = dict(
      reconstruction_max=_max(measured['error']),
      reconstruction_mean=float(np.mean(measured['error'])),
      log_det_gap_max=_max(measured['gap']),
      log_det_gap_mean=float(np.mean(measured['gap'])),
      log_det_mean=float(np.mean(measured['log_det'])))
  if reference is not None:
    wide = _directions(reference, images, labels)
    result.update(
        latent_vs_float64_max=_max(np.abs(measured['z'] - wide['z'])),
        log_det_vs_float64_max=_max(
            np.abs(measured['log_det'] - wide['log_det'])),
        reconstruction_vs_float64_max=_max(
            np.abs(measured['back'] - wide['back'])),
        float64_reconstruction_max=_max(wide['error']))
  return result


def report(dist, sets, labels=None, reference=None):
  """`{name: invertibility(...)}` for each `{name: images}` of `sets`."""
  if reference is None:
    reference = float64_copy(dist)
  return {name: dict(invertibility(dist, images, labels, reference),
                     images=len(images))
          for name, images in sets.items()}


def image_sets(image_shape, train, other, n=64, seed=0):
  """`{'train', 'noise', 'other'}`: float images `[n, H, W, C]` in [0, 1].

  `train` and `other` are uint8 images already fit to `image_shape`; noise
  is uniform 8-bit noise. Each is dequantized at the bin's midpoint, as
  the export's `serving_default` scores images.
  """
  rng = np.random.default_rng(seed)
  noise = rng.integers(0, 256, (n, *image_shape), dtype=np.uint8)
  sets = dict(train=np.asarray(train)[:n], noise=noise,
              other=np.asarray(other)[:n])
  return {name: (images.astype(np.float32) + 0.5) / 256.
          for name, images in sets.items()}


def load_saved_model(path):
  """`(dist, config)`: the Glow of a `tfp_glow.export` SavedModel.

  `path`: a version directory, an export directory (its newest version) or
  a training workdir. The model is rebuilt from the export's configuration
  and its weights restored from the SavedModel's variables.

  Raises:
    FileNotFoundError: no SavedModel at `path`.
    ValueError: the SavedModel is not a `tfp_glow` export.
  """
  from tfp_glow import export  # pylint: disable=g-import-not-at-top
  from tfp_glow.latent import models  # pylint: disable=g-import-not-at-top
  path = models.resolve_saved_model(path)
  config = export.load_config(path)
  keywords = set(inspect.signature(model_lib.glow).parameters)
  if 'num_levels' not in config or 'image_shape' not in config:
    raise ValueError(f'{path} is not a tfp_glow export (its configuration '
                     'has no num_levels or image_shape).')
  kwargs = {k: v for k, v in config.items() if k in keywords}
  if 'dtype' in kwargs:  # Stored as its name; glow() wants a DType.
    kwargs['dtype'] = tf.as_dtype(kwargs['dtype'])
  dist = model_lib.glow(**kwargs)
  prefix = os.path.join(path, 'variables', 'variables')
  tf.train.Checkpoint(dist=dist).restore(prefix).expect_partial()
  # The export's root is not a tf.train.Checkpoint (no save_counter): count
  # the model's values in it instead of asserting a full match.
  names = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
  saved = [k for k in names
           if k.startswith('dist/') and k.endswith('VARIABLE_VALUE')]
  if len(saved) != len(dist.variables):
    raise ValueError(f'{path}: {len(saved)} model values for a Glow of '
                     f'{len(dist.variables)} variables built from its '
                     'configuration.')
  return dist, config


def _directions(dist, images, labels):
  """z, the round trip, its error and both log-dets, as numpy arrays."""
  x = tf.convert_to_tensor(images, dist.dtype)
  kwargs = {} if labels is None else {'conditional_input': labels}
  z, _ = codec.encode(dist, x, labels)
  back = codec.decode(dist, z, labels)
  encoder = dist.encoder
  # Fresh tensors: a bijector's cache would answer the second direction
  # with the first's result.
  forward = encoder.forward_log_det_jacobian(
      tf.identity(x), event_ndims=3, **kwargs)
  inverse = encoder.inverse_log_det_jacobian(
      tf.identity(z), event_ndims=1, **kwargs)
  error = tf.reduce_max(tf.abs(back - x), axis=[-3, -2, -1])
  return dict(z=z.numpy().astype(np.float64),
              back=back.numpy().astype(np.float64),
              error=error.numpy().astype(np.float64),
              log_det=forward.numpy().astype(np.float64),
              gap=np.abs(forward.numpy().astype(np.float64) +
                         inverse.numpy().astype(np.float64)))


def _max(values):
  values = np.asarray(values)
  return float(np.max(values)) if values.size else 0.

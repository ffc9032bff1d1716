"""Scorers: uint8 images `[N, H, W, C]` -> bits/dim `[N]`, from either model.

Everything in `tfp_glow.illusions` takes a *scorer*, any callable
`score(images) -> bits_per_dim` on uint8 numpy images; the two here wrap an
in-process `tfp_glow.glow` distribution and a SavedModel export
(`tfp_glow.export.save`, or any SavedModel whose `serving_default` maps
`images` uint8 `[N, H, W, C]` to `{'bits_per_dim': [N], ...}`; loading it
needs TensorFlow only).

    score = scorer_from_distribution(dist, n_bits=5, draws=4, seed=0)
    score = scorer_from_saved_model(shipped_models()[0])
    paths = model_paths('/tmp/ill_*/export,/tmp/other')   # globs, commas
    bpd = score(patches)                      # float64 [N]

Dequantization. bits/dim of discrete pixels is openai/glow's objective
(`tfp_glow.bits_per_dim`): the density at `x = (k + u) / n_bins`. With
`draws = 0` every `u` is 0.5 (the midpoint, as the export's
`serving_default`); with `draws = d > 0` the scorer averages bits/dim over `d`
uniform draws. Draw `i` uses one noise pattern `u_i` `[H, W, C]` for every
image of every call (common random numbers): stimuli that differ only in the
centre see the same noise, so a sweep's curve is smooth in the centre value.
"""

import glob
import json
import os

import numpy as np
import tensorflow as tf

from tfp_glow import dequantization
from tfp_glow import export
from tfp_glow import seeds

__all__ = [
    'SHIPPED_MODELS',
    'Scorer',
    'model_paths',
    'resolve_saved_model',
    'scorer_from_distribution',
    'scorer_from_saved_model',
    'shipped_models',
]

# The models that ship with the package: one SavedModel base directory each,
# `models/<name>/<version>/saved_model.pb`.
SHIPPED_MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'models')


class Scorer:
  """A batched `images -> bits/dim` callable with the model's image shape.

  Attributes:
    image_shape: `(H, W, C)` the model scores.
    description: a JSON-serialisable dict saying what scores (for summaries).
  """

  def __init__(self, fn, image_shape, batch_size=256, description=None):
    """`fn` maps a uint8 batch `[n, H, W, C]`, `n <= batch_size`, to `[n]`."""
    if int(batch_size) < 1:
      raise ValueError(f'`batch_size` must be positive, got {batch_size}.')
    self._fn = fn
    self.image_shape = tuple(int(d) for d in image_shape)
    self.batch_size = int(batch_size)
    self.description = dict(description or {})

  def __call__(self, images):
    images = np.asarray(images)
    if images.dtype != np.uint8:
      raise TypeError(f'expected uint8 images, got dtype {images.dtype}.')
    if images.ndim != 4 or images.shape[1:] != self.image_shape:
      shape = ', '.join(map(str, self.image_shape))
      raise ValueError(f'expected images of shape [N, {shape}], got shape '
                       f'{list(images.shape)}.')
    out = [np.asarray(self._fn(images[i:i + self.batch_size]), np.float64)
           for i in range(0, len(images), self.batch_size)]
    return np.concatenate(out) if out else np.zeros([0])


def _noise(image_shape, draws, seed, dtype):
  """`draws` uniform noise patterns `[H, W, C]`, or None for the midpoint."""
  if draws == 0:
    return None
  seed = seeds.stateless_seed(seed)
  return [tf.random.stateless_uniform(image_shape, seed + [0, i], dtype=dtype)
          for i in range(draws)]


def _check_draws(draws):
  if isinstance(draws, bool) or int(draws) != draws or draws < 0:
    raise ValueError(f'`draws` must be an integer >= 0 (0: the midpoint), '
                     f'got {draws!r}.')
  return int(draws)


def _average_bits_per_dim(log_prob_fn, images, n_bits, noise, dtype):
  """Mean over the noise patterns of bits/dim; `log_prob_fn` on floats."""
  n_bins = 2. ** n_bits
  midpoint = dequantization.dequantize(images, n_bits, seed='midpoint',
                                       dtype=dtype)
  num_dims = int(np.prod(images.shape[1:]))
  total = 0.
  for u in noise if noise is not None else [None]:
    x = midpoint if u is None else midpoint + (u - 0.5) / n_bins
    log_prob = np.asarray(log_prob_fn(x), np.float64)
    total = total + dequantization.log_prob_to_bits_per_dim(
        log_prob, num_dims, n_bits)
  return total / (1 if noise is None else len(noise))


def scorer_from_distribution(dist, n_bits, draws=0, seed=0, batch_size=256):
  """A scorer of an in-process `tfp_glow.glow` distribution.

  The model must be initialized (trained, restored, or
  `tfp_glow.initialize`d): an ActNorm still waiting for data would take its
  initial values from the first batch scored.

  Args:
    dist: a `tfp_glow.GlowDistribution`.
    n_bits: bits per pixel the model was trained with, 1..8.
    draws: dequantization draws to average; 0 for the midpoint.
    seed: int or `[2]` stateless seed of the draws (`tfp_glow.seeds`); None: fresh draws at
      construction (still common to all images).
    batch_size: images per `log_prob` call.
  """
  n_bits = dequantization.check_n_bits(n_bits)
  draws = _check_draws(draws)
  image_shape = tuple(dist.image_shape)
  noise = _noise(image_shape, draws, seed, dist.dtype)
  log_prob = tf.function(
      dist.log_prob,
      input_signature=[tf.TensorSpec([None, *image_shape], dist.dtype)])

  def fn(images):
    return _average_bits_per_dim(log_prob, images, n_bits, noise, dist.dtype)

  return Scorer(fn, image_shape, batch_size, description=dict(
      model='in-process', config=json.loads(json.dumps(
          dist.config, default=str)), n_bits=n_bits, draws=draws,
      seed=None if seed is None else np.asarray(seed).tolist()))


def resolve_saved_model(path):
  """A SavedModel directory: `path` itself, its newest `<version>/`, or the
  newest of `<path>/export/` (a training workdir;
  `tfp_glow.export.resolve_saved_model`).

  Raises:
    FileNotFoundError: none of them holds a `saved_model.pb`.
  """
  return export.resolve_saved_model(
      path, hint='Train a 16x16 patch model (`python -m train.main '
      '--flagfile=illusions.flags` exports one) or export one with '
      'tfp_glow.export.save, and pass its directory with --model.')


def shipped_models(root=SHIPPED_MODELS):
  """The base directories under `root` holding a SavedModel, sorted by name."""
  if not os.path.isdir(root):
    return []
  return [path for path in sorted(glob.glob(os.path.join(root, '*')))
          if os.path.isdir(path) and export.find_saved_model(path)]


def model_paths(spec):
  """Model directories from a list or a comma-separated string of paths.

  Each entry is a directory or a glob pattern (`/tmp/ill_*/export`); a
  pattern expands to its matches in sorted order, duplicates are dropped.

  Raises:
    FileNotFoundError: an entry matches nothing, or nothing is given.
  """
  entries = spec.split(',') if isinstance(spec, str) else list(spec)
  paths = []
  for entry in (e.strip() for e in entries):
    if not entry:
      continue
    matches = (sorted(glob.glob(entry)) if set('*?[') & set(entry) else
               [entry] if os.path.exists(entry) else [])
    if not matches:
      raise FileNotFoundError(f'no model at {entry!r}.')
    paths += [m for m in matches if m not in paths]
  if not paths:
    raise FileNotFoundError(f'no model directories in {spec!r}.')
  return paths


def _saved_config(loaded):
  if 'config' in loaded.signatures:
    return json.loads(loaded.signatures['config']()['config'].numpy().decode())
  return {}


def scorer_from_saved_model(path, draws=0, seed=0, batch_size=256,
                            image_shape=None):
  """A scorer of a SavedModel export (TensorFlow alone loads it).

  Args:
    path: a SavedModel version directory, an export directory (its newest
      `<version>/`) or a training workdir (see `resolve_saved_model`).
    draws: 0 scores with `serving_default` (the export dequantizes at the
      midpoint); `d > 0` averages `d` uniform draws through the `log_prob`
      signature (float images -> continuous `log_prob`), which needs the
      `config` signature's `n_bits`, as `tfp_glow.export` writes.
    seed: the draws' seed, as in `scorer_from_distribution`.
    batch_size: images per call.
    image_shape: `(H, W, C)`; None: the `config` signature's, else the
      `serving_default` input's static shape, else `(16, 16, 3)`.

  Raises:
    FileNotFoundError: no SavedModel at `path`.
    ValueError: a needed signature or configuration entry is missing.
  """
  path = resolve_saved_model(path)
  draws = _check_draws(draws)
  loaded = export.load(path)
  if 'serving_default' not in loaded.signatures:
    raise ValueError(f'{path}: no serving_default signature (found '
                     f'{sorted(loaded.signatures)}).')
  serve = loaded.signatures['serving_default']
  config = _saved_config(loaded)
  if image_shape is None:
    image_shape = config.get('image_shape')
  if image_shape is None:
    specs = list(serve.structured_input_signature[1].values())
    shape = specs[0].shape if len(specs) == 1 else tf.TensorShape(None)
    image_shape = (shape[1:].as_list() if shape.rank == 4 and
                   shape[1:].is_fully_defined() else (16, 16, 3))
  image_shape = tuple(int(d) for d in image_shape)
  (input_name,) = serve.structured_input_signature[1].keys()
  description = dict(model=path, n_bits=config.get('n_bits'), draws=draws,
                     seed=None if seed is None else np.asarray(seed).tolist(),
                     config=config or None)

  if draws == 0:
    def fn(images):
      out = serve(**{input_name: tf.constant(images)})
      return out['bits_per_dim'].numpy()
  else:
    if 'log_prob' not in loaded.signatures or 'n_bits' not in config:
      raise ValueError(
          f'{path}: averaging dequantization draws needs the log_prob and '
          'config signatures of tfp_glow.export; use draws=0 (the '
          'midpoint, serving_default).')
    log_prob_signature = loaded.signatures['log_prob']
    noise = _noise(image_shape, draws, seed, tf.float32)

    def fn(images):
      return _average_bits_per_dim(
          lambda x: log_prob_signature(images=x)['log_prob'], images,
          config['n_bits'], noise, tf.float32)

  scorer = Scorer(fn, image_shape, batch_size, description)
  scorer.loaded = loaded  # the signatures need the loaded object alive
  return scorer

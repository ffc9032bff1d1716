"""`LatentModel`: an exact image <-> latent map, in process or exported."""

import json
import os

import numpy as np
import tensorflow as tf

from tfp_glow import codec
from tfp_glow import export
from tfp_glow.latent import pixels

__all__ = ['DistributionLatentModel', 'LatentModel', 'SavedModelLatentModel',
           'from_distribution', 'load', 'resolve_saved_model']


class LatentModel:
  """An exact image <-> latent map: `encode`, `decode`, `sample`.

  Images are float `[N, H, W, C]` in `[0, 1]` (`from_uint8` converts pixels),
  latents flat `[N, D]` with `D = H * W * C`, both numpy arrays. Work is done
  in batches of `batch_size`. A class-conditional model (`num_classes`) takes
  int `labels` (`[N]`, or a scalar for all) in `encode`, `decode` and
  `sample`. Subclasses implement `_encode` and `_decode` on one batch (with
  the batch's labels when conditional).
  """

  def __init__(self, image_shape, n_bits, config=None, dtype=np.float32,
               batch_size=64, description=''):
    self.image_shape = tuple(int(d) for d in image_shape)
    self.n_bits = int(n_bits)
    self.config = dict(config or {})
    self.dtype = np.dtype(dtype)
    self.batch_size = int(batch_size)
    self.description = description

  @property
  def num_classes(self):
    """The classes of a class-conditional model, else None."""
    return self.config.get('num_classes')

  @property
  def latent_size(self):
    return int(np.prod(self.image_shape))

  def __repr__(self):
    return (f'{type(self).__name__}({self.description or "?"}, image_shape='
            f'{self.image_shape}, n_bits={self.n_bits})')

  def encode(self, images, labels=None):
    """Float images `[N, H, W, C]` in `[0, 1]` -> latents `[N, D]`."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating):
      raise TypeError(
          f'expected float images in [0, 1], got dtype {images.dtype}; '
          'convert pixels with latent.from_uint8(images, model.n_bits).')
    if images.ndim != 4 or images.shape[1:] != self.image_shape:
      raise ValueError(
          'expected images of shape '
          f'[N, {", ".join(map(str, self.image_shape))}]'
          f', got shape {list(images.shape)}.')
    return self._batched(self._encode, images.astype(self.dtype),
                         (self.latent_size,), labels)

  def decode(self, z, labels=None):
    """Latents `[N, D]` -> float images `[N, H, W, C]` (not clipped)."""
    z = np.asarray(z)
    if z.ndim != 2 or z.shape[1] != self.latent_size:
      raise ValueError(f'expected latents of shape [N, {self.latent_size}], '
                       f'got shape {list(z.shape)}.')
    return self._batched(self._decode, z.astype(self.dtype), self.image_shape,
                         labels)

  def reconstruct(self, images, labels=None):
    """`decode(encode(images))`: the images again, up to float error."""
    return self.decode(self.encode(images, labels), labels)

  def latents(self, n, seed=0, temperature=1.):
    """`n` standard-normal latents `[n, D]` times `temperature`.

    `tfp_glow.codec.latents`: the draws of the export's `sample` signature
    and of `tfp_glow.sample(dist, n, temperature, seed)`. `seed`: None, an
    int or a stateless `[2]` seed.
    """
    return codec.latents(n, self.latent_size, temperature, seed,
                         tf.as_dtype(self.dtype)).numpy()

  def sample(self, n, temperature=1., seed=0, labels=None):
    """`n` float images decoded from `latents(n, seed, temperature)`.

    `temperature` is a scalar or one value per image; to uint8 with
    `to_uint8` these are the export's `sample(n, temperature, seed)`.
    `labels`: the classes to draw from, for a class-conditional model.
    """
    return self.decode(self.latents(n, seed, temperature), labels)

  def to_uint8(self, images):
    """Float images -> uint8 pixels at the model's `n_bits`."""
    return pixels.to_uint8(images, self.n_bits)

  def from_uint8(self, images):
    """uint8 pixels -> float images at the model's `n_bits` (bin centres)."""
    return pixels.from_uint8(images, self.n_bits)

  def _labels(self, labels, n):
    """Checked int32 labels `[n]`, or None for an unconditional model."""
    if not self.num_classes:
      if labels is not None:
        raise ValueError('`labels` given to a model that is not '
                         'class-conditional.')
      return None
    if labels is None:
      raise ValueError(f'the model is class-conditional ({self.num_classes} '
                       'classes): pass `labels`.')
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer) or labels.ndim > 1:
      raise ValueError('`labels` must be int class ids, a scalar or [N], got '
                       f'{labels.dtype.name} of shape {list(labels.shape)}.')
    if np.any((labels < 0) | (labels >= self.num_classes)):
      raise ValueError(f'`labels` must be in 0..{self.num_classes - 1}, got '
                       f'{np.unique(labels).tolist()}.')
    return np.broadcast_to(labels, (n,)).astype(np.int32)

  def _batched(self, fn, x, event_shape, labels=None):
    labels = self._labels(labels, len(x))
    if not len(x):
      return np.zeros((0, *event_shape), self.dtype)
    step = self.batch_size
    return np.concatenate([
        np.asarray(fn(x[i:i + step]) if labels is None else
                   fn(x[i:i + step], labels[i:i + step]))
        for i in range(0, len(x), step)]).astype(self.dtype)

  def _encode(self, images):
    raise NotImplementedError

  def _decode(self, z):
    raise NotImplementedError


class DistributionLatentModel(LatentModel):
  """A `tfp_glow.GlowDistribution` in this process (`tfp_glow.encode`,
  `tfp_glow.decode`)."""

  def __init__(self, dist, n_bits=8, batch_size=64):
    import tfp_glow  # pylint: disable=g-import-not-at-top
    super().__init__(dist.image_shape, n_bits, config=dist.config,
                     dtype=dist.dtype.as_numpy_dtype, batch_size=batch_size,
                     description='in-process')
    self.dist = dist
    image_spec = tf.TensorSpec([None, *dist.image_shape], dist.dtype)
    z_spec = tf.TensorSpec([None, self.latent_size], dist.dtype)
    if self.num_classes:
      label_spec = tf.TensorSpec([None], tf.int32)
      self._encode_fn = tf.function(
          lambda x, y: tfp_glow.encode(dist, x, labels=y)[0],
          input_signature=[image_spec, label_spec])
      self._decode_fn = tf.function(
          lambda z, y: tfp_glow.decode(dist, z, labels=y),
          input_signature=[z_spec, label_spec])
    else:
      self._encode_fn = tf.function(
          lambda x: tfp_glow.encode(dist, x)[0], input_signature=[image_spec])
      self._decode_fn = tf.function(
          lambda z: tfp_glow.decode(dist, z), input_signature=[z_spec])

  def _encode(self, images, labels=None):
    args = (images,) if labels is None else (images, labels)
    return self._encode_fn(*args).numpy()

  def _decode(self, z, labels=None):
    args = (z,) if labels is None else (z, labels)
    return self._decode_fn(*args).numpy()


class SavedModelLatentModel(LatentModel):
  """A `tfp_glow.export` SavedModel; loading and running it needs only TF."""

  def __init__(self, path, batch_size=64):
    path = resolve_saved_model(path)
    loaded = export.load(path)
    missing = {'encode', 'decode', 'config'} - set(loaded.signatures)
    if missing:
      raise ValueError(
          f'{path}: the SavedModel has no {", ".join(sorted(missing))} '
          f'signature (found {sorted(loaded.signatures)}); the latent tools '
          'need a tfp_glow export (tfp_glow.export.save, --flow=tfp_glow), '
          'not the tfb_glow baseline.')
    config = json.loads(
        loaded.signatures['config']()['config'].numpy().decode())
    # The training run's own flags (crop, data_dir, ...) fill in the rest.
    workdir_config = os.path.join(os.path.dirname(os.path.dirname(path)),
                                  'config.json')
    if tf.io.gfile.exists(workdir_config):
      with tf.io.gfile.GFile(workdir_config) as f:
        try:
          for key, value in json.load(f).items():
            config.setdefault(key, value)
        except ValueError:
          pass
    super().__init__(config['image_shape'], config.get('n_bits', 8),
                     config=config, dtype=np.float32, batch_size=batch_size,
                     description=path)
    self.path = path
    self._loaded = loaded  # Keeps the signatures' variables alive.
    self._encode_fn = loaded.signatures['encode']
    self._decode_fn = loaded.signatures['decode']

  def _encode(self, images, labels=None):
    kwargs = {} if labels is None else dict(labels=tf.constant(labels))
    return self._encode_fn(images=tf.constant(images), **kwargs)['z'].numpy()

  def _decode(self, z, labels=None):
    kwargs = {} if labels is None else dict(labels=tf.constant(labels))
    return self._decode_fn(z=tf.constant(z), **kwargs)['images'].numpy()


def from_distribution(dist, n_bits=8, batch_size=64):
  """A `LatentModel` of an in-process `tfp_glow.GlowDistribution`."""
  return DistributionLatentModel(dist, n_bits=n_bits, batch_size=batch_size)


def load(model, n_bits=8, batch_size=64):
  """A `LatentModel` from a path (see `resolve_saved_model`) or a distribution.

  Args:
    model: a `LatentModel` (returned as is), a `tfp_glow.GlowDistribution`,
      a SavedModel version directory, an export directory (its newest version)
      or a training workdir (the newest version in `<workdir>/export/`).
    n_bits: the bits per pixel of an in-process distribution (an export
      stores its own).
    batch_size: images per encode/decode call.
  """
  if isinstance(model, LatentModel):
    return model
  if isinstance(model, (str, os.PathLike)):
    return SavedModelLatentModel(model, batch_size=batch_size)
  return from_distribution(model, n_bits=n_bits, batch_size=batch_size)


def resolve_saved_model(path):
  """`path`, its newest `<version>/`, or the newest of `<path>/export/`
  (`tfp_glow.export.resolve_saved_model`).

  Raises:
    FileNotFoundError: none of them holds a `saved_model.pb`.
  """
  return export.resolve_saved_model(
      path, hint='Train with `python -m train.main --flagfile=demo.flags` (it '
      'exports at the end) or export with tfp_glow.export.save.')

"""A versioned SavedModel of a Glow that runs with TensorFlow alone.

`save(dist, export_dir, n_bits, step)` writes `export_dir/<version>/`, the
layout TensorFlow Serving watches. The SavedModel holds only TensorFlow ops
and variables: loading it needs neither `tfp_glow` nor TFP.

Signatures (every batch dimension dynamic; `H, W, C` the model's image shape,
`D = H * W * C`):

* `serving_default`: `images` uint8 `[N, H, W, C]` ->
  `bits_per_dim` `[N]` and `log_prob` `[N]`, the log-probability in nats of
  the discrete image at `n_bits` (`log p(x) - D * log(2**n_bits)`), with `x`
  the *midpoint* dequantization (deterministic: every pixel at the centre of
  its bin; see `tfp_glow.dequantize(..., seed='midpoint')`).
* `log_prob`: `images` float32 in `[0, 1]` -> `log_prob` `[N]`, the
  continuous density of `dist.log_prob`.
* `sample`: `n` int32, `temperature` float32, `seed` int64 scalars ->
  `images` uint8 `[n, H, W, C]`; the same seed gives the same images.
* `encode`: `images` float32 -> `z` `[N, D]` and `level_1 ... level_L`.
* `decode`: `z` float32 `[N, D]` -> `images` float32 `[N, H, W, C]`.
* `config`: no inputs -> `config`, the model's configuration as JSON.

A class-conditional model (`num_classes`) takes one more input in every
signature but `config`: `labels`, int32 `[N]` (`[n]` for `sample`); and has
one more signature, `classify`: `images` float32 -> `logits` `[N, classes]`
of openai/glow's classifier head on the top latent (`tfp_glow.classifier`).

A wrong image rank, size or channel count fails with a message naming the
expected shape `[N, H, W, C]` and the received one. A batch of 0 images (or
`n = 0`) gives empty outputs of the right shape. `temperature` must be finite
and >= 0.
"""

import json
import logging
import os
import re
import tempfile

import tensorflow as tf

from tfp_glow import classifier
from tfp_glow import codec
from tfp_glow import dequantization

__all__ = ['find_saved_model', 'latest_version', 'load', 'load_config',
           'resolve_saved_model', 'save', 'write_version']

_VERSION = re.compile(r'^\d+$')


class _ServingModule(tf.Module):
  """The exported object: the distribution's variables and the signatures."""

  def __init__(self, dist, n_bits, config):
    super().__init__(name='glow_serving')
    self.dist = dist
    self._n_bits = n_bits
    self._config_json = json.dumps(config, sort_keys=True)
    self.config_json = tf.Variable(self._config_json, trainable=False,
                                   name='config_json')
    h, w, c = dist.image_shape
    self._shape = [h, w, c]
    self._size = h * w * c
    # A class-conditional model takes the labels as one more input.
    self._conditional = bool(dist.num_classes)
    labels = ([tf.TensorSpec([None], tf.int32, name='labels')]
              if self._conditional else [])
    # Any shape: `_check_images` names the expected one. (A rank-4 spec would
    # let a rank-3 batch through to shape arithmetic folded for rank 4.)
    images_uint8 = tf.TensorSpec(None, tf.uint8, name='images')
    images_float = tf.TensorSpec(None, tf.float32, name='images')
    self.serving_default = tf.function(
        self._serving_default, input_signature=[images_uint8] + labels)
    self.log_prob = tf.function(
        self._log_prob, input_signature=[images_float] + labels)
    self.sample = tf.function(
        self._sample,
        input_signature=[tf.TensorSpec([], tf.int32, name='n'),
                         tf.TensorSpec([], tf.float32, name='temperature'),
                         tf.TensorSpec([], tf.int64, name='seed')] + labels)
    self.encode = tf.function(
        self._encode, input_signature=[images_float] + labels)
    self.decode = tf.function(
        self._decode,
        input_signature=[tf.TensorSpec([None, None], tf.float32, name='z')] +
        labels)
    self.config = tf.function(self._config, input_signature=[])
    if self._conditional:
      self.classify = tf.function(self._classify,
                                  input_signature=[images_float])

  def _check_images(self, images):
    """Checks `[N, H, W, C]` at run time, then fixes the static shape."""
    expected = tf.constant(self._shape, tf.int32)
    received = tf.shape(images)[1:]
    message = tf.strings.format(
        'expected images of shape [N, {}, {}, {}], got shape {}',
        (self._shape[0], self._shape[1], self._shape[2], tf.shape(images)))
    rank_ok = tf.equal(tf.size(received), 3)
    ok = tf.logical_and(rank_ok, tf.reduce_all(tf.equal(
        tf.pad(received, [[0, 3 - tf.minimum(tf.size(received), 3)]]),
        expected)))
    with tf.control_dependencies([tf.debugging.Assert(ok, [message])]):
      images = tf.identity(images)
    return tf.ensure_shape(images, [None] + self._shape)

  def _label_kwargs(self, labels):
    if labels is None:
      return {}
    return {'bijector_kwargs': {'conditional_input': labels}}

  def _unless_empty(self, batch_size, outputs, empty_outputs):
    """`outputs()` for a batch of `batch_size > 0`, else `empty_outputs()`.

    A batch of 0 never reaches the flow: TensorFlow's CPU convolution gives
    an empty batch the input's channel count, which breaks the next op.
    """
    return tf.cond(batch_size > 0, outputs, empty_outputs)

  def _serving_default(self, images, labels=None):
    images = self._check_images(images)

    def outputs():
      x = dequantization.dequantize(images, self._n_bits, seed='midpoint',
                                    dtype=self.dist.dtype)
      log_prob = self.dist.log_prob(x, **self._label_kwargs(labels))
      bits_per_dim = dequantization.log_prob_to_bits_per_dim(
          log_prob, self._size, self._n_bits)
      discrete_log_prob = dequantization.discrete_log_prob(
          log_prob, self._size, self._n_bits)
      return {'bits_per_dim': tf.cast(bits_per_dim, tf.float32),
              'log_prob': tf.cast(discrete_log_prob, tf.float32)}

    return self._unless_empty(tf.shape(images)[0], outputs, lambda: {
        'bits_per_dim': tf.zeros([0]), 'log_prob': tf.zeros([0])})

  def _log_prob(self, images, labels=None):
    images = tf.cast(self._check_images(images), self.dist.dtype)
    return self._unless_empty(
        tf.shape(images)[0],
        lambda: {'log_prob': tf.cast(self.dist.log_prob(
            images, **self._label_kwargs(labels)), tf.float32)},
        lambda: {'log_prob': tf.zeros([0])})

  def _sample(self, n, temperature, seed, labels=None):
    tf.debugging.assert_non_negative(n, message='`n` must be >= 0')
    temperature = codec.check_temperature(temperature, self.dist.dtype)
    return self._unless_empty(
        n,
        lambda: {'images': dequantization.to_uint8(codec.sample(
            self.dist, n, temperature, seed=seed, labels=labels),
                                                   self._n_bits)},
        lambda: {'images': tf.zeros([0] + self._shape, tf.uint8)})

  def _encode(self, images, labels=None):
    images = tf.cast(self._check_images(images), self.dist.dtype)

    def outputs(z, levels):
      out = {'z': tf.cast(z, tf.float32)}
      for i, level in enumerate(levels):
        out[f'level_{i + 1}'] = tf.cast(level, tf.float32)
      return out

    return self._unless_empty(
        tf.shape(images)[0],
        lambda: outputs(*codec.encode(self.dist, images, labels=labels)),
        lambda: outputs(tf.zeros([0, self._size]), [
            tf.zeros([0, *shape]) for shape in self.dist.latent_shapes]))

  def _decode(self, z, labels=None):
    check = tf.debugging.Assert(
        tf.equal(tf.shape(z)[1], self._size),
        [tf.strings.format('expected latents of shape [N, {}], got shape {}',
                           (self._size, tf.shape(z)))])
    with tf.control_dependencies([check]):
      z = tf.ensure_shape(tf.identity(z), [None, self._size])
    return self._unless_empty(
        tf.shape(z)[0],
        lambda: {'images': tf.cast(codec.decode(
            self.dist, tf.cast(z, self.dist.dtype), labels=labels),
                                   tf.float32)},
        lambda: {'images': tf.zeros([0] + self._shape)})

  def _classify(self, images):
    images = tf.cast(self._check_images(images), self.dist.dtype)
    return self._unless_empty(
        tf.shape(images)[0],
        lambda: {'logits': tf.cast(classifier.class_logits(self.dist, images),
                                   tf.float32)},
        lambda: {'logits': tf.zeros([0, self.dist.num_classes])})

  def _config(self):
    return {'config': tf.constant(self._config_json)}


def latest_version(export_dir):
  """The newest `<version>` directory under `export_dir`, or None."""
  if not tf.io.gfile.isdir(export_dir):
    return None
  versions = [int(v) for v in tf.io.gfile.listdir(export_dir)
              if _VERSION.match(v.rstrip('/'))]
  return os.path.join(export_dir, str(max(versions))) if versions else None


def find_saved_model(path):
  """The SavedModel that `path` names, or None when it names none.

  `path` is a version directory (it holds `saved_model.pb`: returned as is),
  an export directory (its newest `<version>/`) or a training workdir (the
  newest version under `<path>/export/`)."""
  path = os.fspath(path)
  if tf.io.gfile.exists(os.path.join(path, 'saved_model.pb')):
    return path
  for base in (path, os.path.join(path, 'export')):
    latest = latest_version(base)
    if latest and tf.io.gfile.exists(os.path.join(latest, 'saved_model.pb')):
      return latest
  return None


def resolve_saved_model(path, hint=None):
  """`find_saved_model(path)`, or a `FileNotFoundError` that lists where it
  looked, followed by `hint` (how to get a model) when given."""
  found = find_saved_model(path)
  if found:
    return found
  path = os.fspath(path)
  raise FileNotFoundError(
      f'no SavedModel at {path!r}: expected {path}/saved_model.pb, a version '
      f'directory {path}/<step>/saved_model.pb, or a training workdir with '
      f'{path}/export/<step>/saved_model.pb.' + (f' {hint}' if hint else ''))


def save(dist, export_dir, n_bits, step=None, config=None):
  """Writes `export_dir/<version>/` and returns its path.

  Args:
    dist: a `tfp_glow.GlowDistribution`.
    export_dir: the model's base directory (one subdirectory per version).
    n_bits: the bits per pixel the model was trained on, 1..8.
    step: the training step; also the version number. `None`: one more than
      the newest version present (1 for an empty directory).
    config: extra JSON-serialisable entries for the stored configuration
      (e.g. the dataset); the model's own `dist.config`, `n_bits` and `step`
      are always included.

  Raises:
    FileExistsError: `export_dir/<step>` exists already; nothing is written.
  """
  n_bits = dequantization.check_n_bits(n_bits)
  if step is None:
    latest = latest_version(export_dir)
    step = 1 if latest is None else int(os.path.basename(latest)) + 1
  full_config = dict(dist.config)
  full_config.update(config or {})
  full_config.update(image_shape=list(dist.image_shape), n_bits=n_bits,
                     step=int(step), num_levels=dist.num_levels)
  full_config = json.loads(json.dumps(full_config, default=str))
  module = _ServingModule(dist, n_bits, full_config)
  signatures = {name: getattr(module, name) for name in (
      'serving_default', 'log_prob', 'sample', 'encode', 'decode', 'config')}
  if dist.num_classes:
    signatures['classify'] = module.classify
  return write_version(module, export_dir, step, signatures)


def write_version(module, export_dir, version, signatures):
  """Saves `module` as the SavedModel `export_dir/<version>/`; returns it.

  Written beside the target, then renamed into place: a reader (TF Serving
  polls the directory) never sees a half-written version.

  Raises:
    FileExistsError: `export_dir/<version>` exists already; nothing is
      written.
  """
  version_dir = os.path.join(export_dir, str(int(version)))
  if tf.io.gfile.exists(version_dir):
    raise FileExistsError(
        f'{version_dir} exists already; versions are never overwritten. '
        'Choose another step or export directory.')
  tf.io.gfile.makedirs(export_dir)
  tmp = tempfile.mkdtemp(prefix=f'.tmp-{int(version)}-', dir=export_dir)
  tf.saved_model.save(module, tmp, signatures=signatures)
  os.rename(tmp, version_dir)
  return version_dir


class _UnsavedGradientWarnings(logging.Filter):
  """Drops TensorFlow's "Importing a function (...) with ops with unsaved
  custom gradients" warnings: an export serves forward passes only."""

  def filter(self, record):
    return 'unsaved custom gradients' not in record.getMessage()


def load(path):
  """`tf.saved_model.load(path)` of an export, without one warning per
  loaded function that its custom gradients were not saved (the exports
  serve forward passes: `log_prob`, `encode`, `decode`, `sample`)."""
  warnings = _UnsavedGradientWarnings()
  logger = logging.getLogger('absl')
  logger.addFilter(warnings)
  try:
    return tf.saved_model.load(path)
  finally:
    logger.removeFilter(warnings)


def load_config(path):
  """The configuration dict stored in a SavedModel (a version directory)."""
  loaded = load(path)
  return json.loads(loaded.config_json.numpy().decode())

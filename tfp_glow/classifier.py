"""openai/glow's classifier head on the top latent of a class-conditional Glow.

With `--ycond`, openai/glow predicts the label from the top level's latent
`z_L` (the last level's flow output, before its prior whitens it):

    logits = mean_{h, w}(z_L) @ W + b          (W, b zero-initialised)
    bits_y = CrossEntropy(y, softmax(logits)) / log 2
    loss   = bits/dim(x | y) + weight_y * bits_y

`weight_y = 0` (openai's default) leaves the head untrained; a positive
weight makes the top latent carry the class. The head is built by
`tfp_glow.glow(..., num_classes=C)` and owned by the distribution
(`dist.classifier`), so its variables are among `dist.trainable_variables`,
in checkpoints and in the SavedModel.

`bits_per_dim_and_class_logits` computes the training objective's two parts
from one encoder pass (the flow's log-det and latent come from the same
bijector calls); `class_logits` is the prediction for unlabelled images.
"""

import math

import numpy as np
import tensorflow as tf

from tfp_glow import codec
from tfp_glow import dequantization

__all__ = ['ClassifierHead', 'bits_per_dim_and_class_logits',
           'class_logits', 'classification_bits']


class ClassifierHead(tf.Module):
  """`logits = mean over H, W of z_L  @ W + b`, zero-initialised."""

  def __init__(self, num_channels, num_classes, dtype=tf.float32,
               name='classifier'):
    super().__init__(name=name)
    self.num_channels, self.num_classes = int(num_channels), int(num_classes)
    with self.name_scope:
      self.kernel = tf.Variable(
          tf.zeros([self.num_channels, self.num_classes], dtype),
          name='kernel')
      self.bias = tf.Variable(tf.zeros([self.num_classes], dtype),
                              name='bias')

  def __call__(self, top_latent):
    """`top_latent` `[..., h, w, num_channels]` -> logits `[..., classes]`."""
    features = tf.reduce_mean(top_latent, axis=[-3, -2])
    return tf.linalg.matvec(self.kernel, features, transpose_a=True) + \
        self.bias


def classification_bits(logits, labels):
  """openai/glow's `bits_y`: the cross-entropy of int `labels`, in bits."""
  labels = tf.convert_to_tensor(labels)
  if not labels.dtype.is_integer:
    raise TypeError(f'`labels` must be int class ids, got {labels.dtype}.')
  return tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.cast(labels, tf.int32), logits=logits) / math.log(2.)


def _check_conditional(dist):
  if not dist.num_classes or getattr(dist, 'classifier', None) is None:
    raise ValueError('the classifier head belongs to a class-conditional '
                     'Glow: build it with `tfp_glow.glow(..., num_classes=C)`.')


def _log_prob_and_top_latent(dist, x, labels):
  """`log p(x | labels)` and the top latent `z_L`, from one encoder pass."""
  x = tf.identity(x)  # fresh: see GlowDistribution._log_prob.
  kwargs = dict(conditional_input=labels)
  z = dist.encoder.forward(x, **kwargs)
  # The same `x` and kwargs: TFP's cache returns the log-det the forward pass
  # stored, so no network runs again.
  log_det = dist.encoder.forward_log_det_jacobian(x, event_ndims=3, **kwargs)
  return dist.distribution.log_prob(z) + log_det, _top_latent(dist, z, labels)


def _top_latent(dist, z, labels):
  """`z_L` from the flat latent: the top prior's whitening undone."""
  top = codec.split_latents(dist, z)[-1]
  return dist.top_prior.inverse(top, conditional_input=labels)


def bits_per_dim_and_class_logits(dist, images, labels, n_bits=8, seed=None):
  """Per-image `(bits/dim of images given labels, class logits)`.

  The two terms of openai/glow's `--ycond --weight_y` objective from a single
  pass of the flow: `bits/dim` as `tfp_glow.bits_per_dim(..., labels=labels)`
  and the head's logits on the top latent.

  Args:
    dist: a class-conditional `tfp_glow.GlowDistribution`.
    images: integer pixels `[N, H, W, C]`.
    labels: int class ids `[N]`.
    n_bits: bits per pixel, 1..8.
    seed: the dequantization noise, as in `tfp_glow.dequantize`.
  """
  _check_conditional(dist)
  x = dequantization.dequantize(images, n_bits, seed=seed, dtype=dist.dtype)
  dist.check_images(x)
  log_prob, top = _log_prob_and_top_latent(dist, x, labels)
  num_dims = int(np.prod(dist.event_shape))
  return (dequantization.log_prob_to_bits_per_dim(log_prob, num_dims, n_bits),
          dist.classifier(top))


def class_logits(dist, images):
  """The head's class logits `[N, num_classes]` of images in `[0, 1]`.

  The top latent does not depend on the label (only the prior after it
  does), so the pass uses class 0 and undoes that prior exactly.
  """
  _check_conditional(dist)
  dist.check_images(images)
  images = tf.convert_to_tensor(images, dist.dtype)
  labels = tf.zeros(tf.shape(images)[:-3], tf.int32)
  z = dist.encoder.forward(tf.identity(images), conditional_input=labels)
  return dist.classifier(_top_latent(dist, z, labels))

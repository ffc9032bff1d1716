"""The class-conditional Glow (openai/glow --ycond)."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_glow
from tests import checks


def _labelled(labels):
  return dict(bijector_kwargs=dict(conditional_input=labels))


def test_conditional_log_prob_is_the_change_of_variables():
  dist = tfp_glow.glow((4, 4, 1), num_levels=2, num_steps=1,
                       hidden_channels=4, num_classes=3, dtype=tf.float64)
  checks.randomize(dist, seed=3)
  x = np.random.default_rng(0).uniform(size=(4, 4, 4, 1))
  labels = np.array([0, 2, 1, 2])
  z, _ = tfp_glow.encode(dist, x, labels=labels)
  z = z.numpy()
  log_det = checks.brute_force_log_det(
      lambda t: dist.encoder.forward(t, conditional_input=labels), x)
  expected = -0.5 * (z**2).sum(-1) - 8 * math.log(2 * math.pi) + log_det
  np.testing.assert_allclose(dist.log_prob(x, **_labelled(labels)), expected,
                             rtol=1e-9)
  other = dist.log_prob(x, **_labelled((labels + 1) % 3))
  assert np.max(np.abs(other - expected)) > 1e-3  # the label matters
  one_hot = np.eye(3)[labels]
  np.testing.assert_allclose(dist.log_prob(x, **_labelled(one_hot)),
                             expected, rtol=1e-9)
  np.testing.assert_allclose(tfp_glow.decode(dist, z, labels=labels), x,
                             atol=1e-10)


def test_missing_or_bad_labels_are_clear_errors():
  dist = tfp_glow.glow((4, 4, 1), num_levels=1, num_steps=1,
                       hidden_channels=4, num_classes=2)
  x = np.zeros([1, 4, 4, 1], np.float32)
  with pytest.raises(ValueError, match='class-conditional; pass the labels'):
    dist.log_prob(x)
  with pytest.raises(ValueError, match=r'probabilities \[..., 2\]'):
    dist.log_prob(x, **_labelled(np.ones([1, 3], np.float32)))
  plain = tfp_glow.glow((4, 4, 1), num_levels=1, num_steps=1,
                        hidden_channels=4)
  with pytest.raises(ValueError, match='not class-conditional'):
    tfp_glow.sample(plain, 1, labels=0)
  with pytest.raises(ValueError, match='num_classes'):
    tfp_glow.glow((4, 4, 1), num_levels=1, num_steps=1, num_classes=1)


def test_conditional_samples_are_recognised_as_their_class(digits8):
  images, digit = digits8
  keep = (digit == 0) | (digit == 1)
  images, labels = images[keep][:96], (digit[keep][:96] == 1).astype(np.int32)
  dist = tfp_glow.glow((8, 8, 1), num_levels=2, num_steps=2,
                       hidden_channels=16, num_classes=2, seed=1)
  x = tfp_glow.dequantize(images, n_bits=5, seed=[0, 0])
  dist.log_prob(x, **_labelled(labels))  # ActNorm data-dependent init
  optimizer = tf_keras.optimizers.Adam(3e-3)

  @tf.function
  def train_step(x, labels):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(x, **_labelled(labels)))
    grads = tape.gradient(loss, dist.trainable_variables)
    optimizer.apply_gradients(zip(grads, dist.trainable_variables))
    return loss

  for step in range(150):
    train_step(tfp_glow.dequantize(images, 5, seed=[step, 1]), labels)
  wanted = np.array([0] * 32 + [1] * 32, np.int32)
  samples = tfp_glow.sample(dist, 64, temperature=0.7, seed=[2, 3],
                            labels=wanted)
  samples = tf.clip_by_value(samples, 0., 1.)
  scores = np.stack([dist.log_prob(samples, **_labelled(np.full(64, c)))
                     for c in (0, 1)], axis=-1)
  agreement = np.mean(np.argmax(scores, axis=-1) == wanted)
  assert agreement > 0.8, agreement

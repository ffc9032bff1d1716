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


def test_classifier_head_shares_the_flow_pass(monkeypatch):
  dist = tfp_glow.glow((8, 8, 1), num_levels=2, num_steps=2,
                       hidden_channels=8, num_classes=3, seed=0)
  images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 1), np.uint8)
  labels = np.array([0, 2, 1, 2], np.int32)
  tfp_glow.initialize(dist, tfp_glow.dequantize(images), labels)
  head = dist.classifier
  assert {id(v) for v in head.trainable_variables} <= {
      id(v) for v in dist.trainable_variables}
  assert head.kernel.shape == (8, 3)  # 8x8x1 -> 2x2x8 after two levels.
  checks.randomize(dist, seed=4)
  bpd, logits = tfp_glow.classifier.bits_per_dim_and_class_logits(
      dist, images, labels, n_bits=8, seed=[1, 2])
  np.testing.assert_allclose(
      bpd, tfp_glow.bits_per_dim(dist, images, 8, seed=[1, 2],
                                 labels=labels), rtol=1e-6)
  # The top latent does not depend on the label: neither do the logits.
  x = tfp_glow.dequantize(images, 8, seed=[1, 2])
  np.testing.assert_allclose(tfp_glow.classifier.class_logits(dist, x),
                             logits, rtol=1e-5, atol=1e-6)
  # By hand: the head on the mean of z_L over height and width.
  z, levels = tfp_glow.encode(dist, x, labels=labels)
  del z
  mean, logs = dist.top_prior._mean_and_logs(labels)  # pylint: disable=protected-access
  top = mean + np.exp(logs) * levels[-1]
  np.testing.assert_allclose(
      logits, top.numpy().mean((1, 2)) @ head.kernel.numpy() +
      head.bias.numpy(), rtol=1e-5, atol=1e-6)
  bits = tfp_glow.classifier.classification_bits(logits, labels)
  np.testing.assert_allclose(
      bits, -tf.nn.log_softmax(logits).numpy()[np.arange(4), labels] /
      math.log(2.), rtol=1e-6)
  # One pass: the log-det and the latent come from the same networks.
  traced = checks.count_traced_networks(monkeypatch)
  tf.function(
      lambda x, y: tfp_glow.classifier.bits_per_dim_and_class_logits(
          dist, x, y)).get_concrete_function(images, labels)
  assert len(traced) == 2  # one loop body per level
  with pytest.raises(ValueError, match='class-conditional Glow'):
    tfp_glow.classifier.class_logits(
        tfp_glow.glow((8, 8, 1), 2, 1, hidden_channels=4), x)


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
  def train_step(images, labels, seed):
    # openai/glow's --ycond objective, with the classifier term (weight_y).
    with tf.GradientTape() as tape:
      bpd, logits = tfp_glow.classifier.bits_per_dim_and_class_logits(
          dist, images, labels, n_bits=5, seed=seed)
      bits_y = tfp_glow.classifier.classification_bits(logits, labels)
      loss = tf.reduce_mean(bpd + 0.5 * bits_y)
    grads = tape.gradient(loss, dist.trainable_variables)
    optimizer.apply_gradients(zip(grads, dist.trainable_variables))
    return loss

  for step in range(150):
    train_step(images, labels, tf.constant([step, 1]))
  wanted = np.array([0] * 32 + [1] * 32, np.int32)
  samples = tfp_glow.sample(dist, 64, temperature=0.7, seed=[2, 3],
                            labels=wanted)
  samples = tf.clip_by_value(samples, 0., 1.)
  scores = np.stack([dist.log_prob(samples, **_labelled(np.full(64, c)))
                     for c in (0, 1)], axis=-1)
  agreement = np.mean(np.argmax(scores, axis=-1) == wanted)
  assert agreement > 0.8, agreement
  # The classifier head learned the classes from the top latent.
  predicted = np.argmax(tfp_glow.classifier.class_logits(dist, x), axis=-1)
  accuracy = np.mean(predicted == labels)
  assert accuracy > 0.9, accuracy

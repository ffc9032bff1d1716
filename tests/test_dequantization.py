"""Dequantization and bits per dimension."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_glow

tfd = tfp.distributions

PIXELS = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)


@pytest.mark.parametrize('n_bits', [1, 5, 8])
def test_dequantize_fills_each_pixels_bin(n_bits):
  x = tfp_glow.dequantize(PIXELS, n_bits, seed=[1, 2]).numpy()
  bins = PIXELS.astype(np.int64) >> (8 - n_bits)
  n_bins = 2**n_bits
  assert np.all(x >= bins / n_bins) and np.all(x < (bins + 1) / n_bins)
  midpoint = tfp_glow.dequantize(PIXELS, n_bits, seed='midpoint').numpy()
  np.testing.assert_allclose(midpoint, (bins + 0.5) / n_bins, rtol=1e-6)
  np.testing.assert_array_equal(
      x, tfp_glow.dequantize(PIXELS, n_bits, seed=[1, 2]))


def test_bits_per_dim_of_the_uniform_density_is_n_bits():
  # The uniform density on [0, 1]^D puts mass n_bins**-D on every discrete
  # image: exactly n_bits bits per dimension.
  uniform = tfd.Independent(tfd.Uniform(tf.zeros([16, 16, 1]), 1.), 3)
  for n_bits in (3, 8):
    np.testing.assert_allclose(
        tfp_glow.bits_per_dim(uniform, PIXELS, n_bits), [n_bits], rtol=1e-6)


def test_bits_per_dim_of_a_glow_is_finite(small_glow):
  images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), np.uint8)
  bpd = tfp_glow.bits_per_dim(small_glow, images, n_bits=5, seed=[0, 0])
  assert bpd.shape == [3] and np.all(np.isfinite(bpd))


@pytest.mark.parametrize('n_bits', [0, 9, 2.5, True])
def test_n_bits_out_of_range(n_bits):
  with pytest.raises(ValueError, match='n_bits'):
    tfp_glow.dequantize(PIXELS, n_bits)


def test_float_pixels_are_rejected():
  with pytest.raises(TypeError, match='integer pixels'):
    tfp_glow.dequantize(PIXELS.astype(np.float32) / 255., 8)

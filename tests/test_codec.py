"""The public API's promises: `decode` inverts `encode`, every `seed=` takes
TFP's seeds, empty batches give empty results, bad temperatures are refused."""

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tfp_glow import latent
from tfp_glow import seeds


def test_decode_inverts_encode_whatever_encode_returns(tiny_glow64):
  x = np.random.default_rng(7).uniform(size=(3, 4, 4, 2))
  encoded = tfp_glow.encode(tiny_glow64, x)
  # Through numpy: no tensor of the forward pass reaches the inverse, so
  # TFP's bijector cache cannot hand `x` back without computing it.
  z = np.asarray(encoded[0])
  levels = [np.asarray(level) for level in encoded[1]]
  assert np.abs(z - x.reshape(3, -1)).max() > 0.1  # Not the identity.
  for given in (z, levels, (z, levels), [z, levels]):
    np.testing.assert_allclose(tfp_glow.decode(tiny_glow64, given), x,
                               atol=1e-10)
  # The pair as encode returned it, tensors and all.
  np.testing.assert_allclose(
      tfp_glow.decode(tiny_glow64, tfp_glow.encode(tiny_glow64, x)), x,
      atol=1e-10)


@pytest.mark.parametrize('seed', [None, 3, np.int64(3), [3, 0], (3, 0),
                                  np.array([3, 0]), tf.constant([3, 0]),
                                  tf.constant(3, tf.int64)])
def test_every_seed_takes_tfps_seeds(small_glow, seed):
  sample = tfp_glow.sample(small_glow, 2, seed=seed)
  images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), np.uint8)
  noise = tfp_glow.dequantize(images, 5, seed=seed)
  bpd = tfp_glow.bits_per_dim(small_glow, images, 5, seed=seed)
  assert sample.shape == [2, 8, 8, 3] and bpd.shape == [2]
  assert np.all(np.isfinite(sample)) and np.all(np.isfinite(bpd))
  again = tfp_glow.sample(small_glow, 2, seed=seed)
  if seed is None:  # Fresh draws on every call.
    assert not np.array_equal(sample, again)
  else:  # An int s is the stateless seed [s, 0], the same on every call.
    np.testing.assert_array_equal(sample, again)
    np.testing.assert_array_equal(
        sample, tfp_glow.sample(small_glow, 2, seed=[3, 0]))
    np.testing.assert_array_equal(
        noise, tfp_glow.dequantize(images, 5, seed=[3, 0]))


@pytest.mark.parametrize('seed', [None, 4, [4, 2]])
def test_latent_helpers_take_the_same_seeds(small_glow, seed):
  model = latent.from_distribution(small_glow, n_bits=5)
  draws = model.sample(2, temperature=0.5, seed=seed)
  assert draws.shape == (2, 8, 8, 3)
  grid = latent.temperature_grid(model, [0., 1.], n_per=2, seed=seed)
  assert grid.shape == (2, 2, 8, 8, 3)
  if seed is not None:
    np.testing.assert_allclose(
        draws, tfp_glow.sample(small_glow, 2, temperature=0.5, seed=seed),
        atol=1e-5)


@pytest.mark.parametrize('seed, error', [
    ([1, 2, 3], r'shape \[2\], got shape \[3\]'),
    (1.5, 'got 1.5'), ('a', "got 'a'"), (np.array([1., 2.]), 'dtype float')])
def test_bad_seeds_are_one_clear_error(seed, error):
  with pytest.raises((TypeError, ValueError), match=error):
    seeds.stateless_seed(seed)


def test_empty_batches_give_empty_results(small_glow):
  assert tfp_glow.sample(small_glow, 0).shape == [0, 8, 8, 3]
  assert tfp_glow.sample(small_glow, 0, temperature=[]).shape == [0, 8, 8, 3]
  none = np.zeros((0, 8, 8, 3), np.float32)
  z, levels = tfp_glow.encode(small_glow, none)
  assert z.shape == [0, 192]
  assert [l.shape.as_list() for l in levels] == [[0, 4, 4, 6], [0, 2, 2, 24]]
  assert tfp_glow.decode(small_glow, z).shape == [0, 8, 8, 3]
  assert tfp_glow.decode(small_glow, levels).shape == [0, 8, 8, 3]
  pixels = np.zeros((0, 8, 8, 3), np.uint8)
  bpd = tfp_glow.bits_per_dim(small_glow, pixels, 5, seed=1)
  assert bpd.shape == [0] and bpd.dtype == tf.float32
  assert tfp_glow.dequantize(pixels, 5).shape == [0, 8, 8, 3]


@pytest.mark.parametrize('temperature', [np.inf, -np.inf, -1., np.nan,
                                         [1., np.nan]])
def test_bad_temperatures_are_a_clear_value_error(small_glow, temperature):
  with pytest.raises(ValueError, match='`temperature` must be finite and >= 0'):
    tfp_glow.sample(small_glow, 2, temperature=temperature)
  with pytest.raises(ValueError, match='`temperature` must be finite and >= 0'):
    latent.from_distribution(small_glow).sample(2, temperature=temperature)

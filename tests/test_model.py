"""The assembled Glow distribution: density, sampling, codec and API."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import bijectors
import tfp_glow
from tests import checks

tfd = tfp.distributions


def test_is_a_transformed_distribution_over_a_standard_normal(small_glow):
  assert isinstance(small_glow, tfd.TransformedDistribution)
  assert small_glow.event_shape == [8, 8, 3]
  assert small_glow.batch_shape == []
  assert small_glow.dtype == tf.float32
  assert small_glow.latent_shapes == [(4, 4, 6), (2, 2, 24)]


def test_log_prob_equals_change_of_variables_by_brute_force(tiny_glow64):
  dist = tiny_glow64
  x = np.random.default_rng(0).uniform(size=(3, 4, 4, 2))
  z = dist.encoder.forward(checks.fresh(x)).numpy().reshape(3, -1)
  log_base = -0.5 * np.sum(z**2, axis=-1) - 0.5 * z.shape[-1] * math.log(
      2 * math.pi)
  log_det = checks.brute_force_log_det(dist.encoder.forward, x)
  np.testing.assert_allclose(dist.log_prob(x), log_base + log_det, rtol=1e-9)
  # The encoder is far from the identity: the check above can fail.
  assert np.max(np.abs(log_det)) > 1.


def test_log_prob_batch_shapes_and_xla(tiny_glow64):
  x = np.random.default_rng(1).uniform(size=(2, 3, 4, 4, 2))
  eager = tiny_glow64.log_prob(x).numpy()
  assert eager.shape == (2, 3)
  np.testing.assert_allclose(eager[1], tiny_glow64.log_prob(x[1]), rtol=1e-10)
  jitted = tf.function(tiny_glow64.log_prob, jit_compile=True)(x)
  np.testing.assert_allclose(jitted, eager, rtol=1e-9)
  assert tiny_glow64.log_prob(x).dtype == tf.float64


def test_log_prob_runs_each_coupling_network_once(small_glow, monkeypatch):
  # Each level's K steps are one loop whose body holds one network; count the
  # networks in the traced graph, and the loop iterations run.
  traced = checks.count_traced_networks(monkeypatch)
  x = np.random.default_rng(2).uniform(size=(2, 8, 8, 3)).astype(np.float32)
  levels = [m for m in small_glow.submodules
            if isinstance(m, bijectors.GlowSteps)]
  assert len(levels) == 2
  # Initialized model: one loop body (1 network) per level, nothing more for
  # the log-det.
  tf.function(small_glow.log_prob).get_concrete_function(x)
  assert len(traced) == len(levels)
  traced.clear()
  small_glow.sample(2, seed=[1, 2])  # eager: one network per step
  assert len(traced) == sum(level.num_steps for level in levels)
  traced.clear()
  small_glow.log_prob(x)
  assert len(traced) == sum(level.num_steps for level in levels)


def test_sample_shapes_temperature_and_seed(small_glow):
  assert small_glow.sample([2, 3], seed=[0, 1]).shape == [2, 3, 8, 8, 3]
  a = tfp_glow.sample(small_glow, 3, temperature=0.7, seed=[4, 2])
  b = tfp_glow.sample(small_glow, 3, temperature=0.7, seed=[4, 2])
  np.testing.assert_array_equal(a, b)
  assert a.shape == [3, 8, 8, 3]
  cold = tfp_glow.sample(small_glow, 2, temperature=0., seed=[1, 1])
  other = tfp_glow.sample(small_glow, 2, temperature=0., seed=[9, 9])
  np.testing.assert_allclose(cold, other, atol=1e-6)
  # The latent of a temperature-T sample has standard deviation T.
  for temperature in (0.3, 1.):
    x = tfp_glow.sample(small_glow, 64, temperature=temperature, seed=[3, 3])
    z, _ = tfp_glow.encode(small_glow, checks.fresh(x))
    assert abs(np.std(z) - temperature) < 0.05 * temperature
  per_image = tfp_glow.sample(small_glow, 2, temperature=[0., 1.],
                              seed=[5, 5])
  assert per_image.shape == [2, 8, 8, 3]
  with pytest.raises(ValueError, match='temperature'):
    tfp_glow.sample(small_glow, 2, temperature=-1.)


def test_encode_decode_round_trip_and_per_level_latents(tiny_glow64):
  x = np.random.default_rng(3).uniform(size=(5, 4, 4, 2))
  z, levels = tfp_glow.encode(tiny_glow64, x)
  assert z.shape == [5, 32]
  assert [tuple(l.shape) for l in levels] == [(5, 2, 2, 4), (5, 1, 1, 16)]
  np.testing.assert_allclose(tfp_glow.decode(tiny_glow64, z.numpy()), x,
                             atol=1e-10)
  np.testing.assert_allclose(
      tfp_glow.decode(tiny_glow64, [l.numpy() for l in levels]), x,
      atol=1e-10)
  with pytest.raises(ValueError, match=r'flat latents of shape \[..., 32\]'):
    tfp_glow.decode(tiny_glow64, np.zeros([2, 31]))
  with pytest.raises(ValueError, match='expected 2 per-level latents'):
    tfp_glow.decode(tiny_glow64, [levels[0]])


@pytest.mark.parametrize('fused', [True, False])
def test_data_dependent_init_normalizes_every_actnorm(monkeypatch, fused):
  dist = tfp_glow.glow((8, 8, 3), num_levels=2, num_steps=2,
                       hidden_channels=16, seed=5, fused=fused)
  images = np.random.default_rng(4).beta(2., 5., (64, 8, 8, 3)).astype(
      np.float32)
  tfp_glow.initialize(dist, images)
  outputs = []

  def recording(x):
    outputs.append(x.numpy())
    return x

  # Record every ActNorm output: the step's, and the two hidden layers'
  # (openai/glow's actnorm before each ReLU).
  original_actnorm = bijectors.actnorm.actnorm_forward
  original_relu = tf.nn.relu

  def actnorm_forward(x, shift, log_scale):
    y, log_det = original_actnorm(x, shift, log_scale)
    if np.any(log_scale.numpy() != 0):  # Not the top prior (no data init).
      recording(y)
    return y, log_det

  monkeypatch.setattr(bijectors.actnorm, 'actnorm_forward', actnorm_forward)
  monkeypatch.setattr(tf.nn, 'relu', lambda h: original_relu(recording(h)))
  dist.log_prob(images)
  # 2 levels x 2 steps x (1 step ActNorm + 2 in the coupling network).
  assert len(outputs) == 12
  for y in outputs:
    axes = tuple(range(y.ndim - 1))
    np.testing.assert_allclose(y.mean(axis=axes), 0., atol=1e-3, err_msg=str(y.shape))
    np.testing.assert_allclose(y.std(axis=axes), 1., atol=1e-3, err_msg=str(y.shape))


def test_checkpoint_restore_keeps_the_init(tmp_path):
  def make():
    return tfp_glow.glow((8, 8, 1), num_levels=1, num_steps=1,
                         hidden_channels=8, seed=3)
  dist = make()
  images = np.random.default_rng(5).uniform(size=(16, 8, 8, 1)).astype(
      np.float32)
  tfp_glow.initialize(dist, images)
  path = tf.train.Checkpoint(model=dist).save(str(tmp_path / 'ckpt'))
  restored = make()
  tf.train.Checkpoint(model=restored).restore(path).assert_consumed()
  other = images[::-1] * 0.5
  np.testing.assert_allclose(restored.log_prob(other), dist.log_prob(other),
                             rtol=1e-6)


class _KerasGlow(keras.Model):
  """A Keras 3 model around a Glow, as in train/: expose the TF variables."""

  def __init__(self, dist):
    super().__init__()
    self.dist = dist

  @property
  def trainable_variables(self):
    return self.dist.trainable_variables

  def call(self, x):
    return self.dist.log_prob(x)


def test_variables_are_seen_by_keras_3_and_tf_keras():
  dist = tfp_glow.glow((4, 4, 1), num_levels=1, num_steps=1,
                       hidden_channels=4, seed=0)
  n = len(dist.trainable_variables)
  assert n == 2 + 3 + 9 + 2  # ActNorm, LU conv, coupling, top prior.
  assert len(_KerasGlow(dist).trainable_variables) == n

  class TfKerasGlow(tf_keras.Model):

    def __init__(self, dist):
      super().__init__()
      self.dist = dist

    def call(self, x):
      return self.dist.log_prob(x)

  tk = TfKerasGlow(dist)
  names = {v.name for v in tk.trainable_variables}
  assert len(tk.trainable_variables) == n
  assert names == {v.name for v in dist.trainable_variables}
  x = np.random.default_rng(6).uniform(size=(8, 4, 4, 1)).astype(np.float32)
  tfp_glow.initialize(dist, x)
  tk.compile(optimizer=tf_keras.optimizers.Adam(1e-2),
             loss=lambda _, log_prob: -tf.reduce_mean(log_prob))
  before = [v.numpy() for v in dist.trainable_variables]
  # Two steps: the first moves the zero-initialised output convolution, the
  # second then passes gradients to the hidden layers behind it.
  tk.fit(x, np.zeros(8), epochs=2, batch_size=8, verbose=0)
  unchanged = [v.name for b, v in zip(before, dist.trainable_variables)
               if np.array_equal(b, v.numpy())]
  assert not unchanged


def test_inside_joint_distribution_and_fitted_with_minimize(digits8):
  images, _ = digits8
  images = images[:32]
  dist = tfp_glow.glow((8, 8, 1), num_levels=2, num_steps=1,
                       hidden_channels=16, seed=2)
  x = tfp_glow.dequantize(images, n_bits=5, seed=[0, 0])
  tfp_glow.initialize(dist, x)
  joint = tfd.JointDistributionNamed(dict(
      brightness=tfd.Normal(0., 1.),
      image=dist))
  value = dict(brightness=tf.zeros([32]), image=x)
  np.testing.assert_allclose(
      joint.log_prob(value),
      dist.log_prob(x) + tfd.Normal(0., 1.).log_prob(0.), rtol=1e-5)
  before = tf.reduce_mean(
      tfp_glow.bits_per_dim(dist, images, n_bits=5, seed=[1, 1])).numpy()
  tfp.math.minimize(
      lambda: -tf.reduce_mean(joint.log_prob(value)), num_steps=30,
      optimizer=tf_keras.optimizers.Adam(3e-3),
      trainable_variables=dist.trainable_variables)
  after = tf.reduce_mean(
      tfp_glow.bits_per_dim(dist, images, n_bits=5, seed=[1, 1])).numpy()
  assert np.isfinite(after) and after < before - 0.2, (before, after)


@pytest.mark.parametrize('value, error, message', [
    (np.zeros([2, 8, 8, 3], np.uint8), TypeError, 'dtype uint8'),
    (np.zeros([2, 8, 8, 3], np.int32), TypeError, 'dequantize'),
    (np.zeros([8, 3], np.float32), ValueError,
     r'expected images of shape \[..., 8, 8, 3\], got shape \(8, 3\)'),
    (np.zeros([2, 8, 8, 1], np.float32), ValueError,
     r'\[..., 8, 8, 3\], got shape \(2, 8, 8, 1\)'),
    (np.zeros([2, 16, 16, 3], np.float32), ValueError, 'got shape'),
])
def test_log_prob_rejects_bad_images(small_glow, value, error, message):
  with pytest.raises(error, match=message):
    small_glow.log_prob(value)


def test_log_prob_rejects_bad_shape_at_trace_time(small_glow):
  fn = tf.function(small_glow.log_prob,
                   input_signature=[tf.TensorSpec([None, 8, 4, 3])])
  with pytest.raises(ValueError, match='expected images of shape'):
    fn.get_concrete_function()


@pytest.mark.parametrize('kwargs, message', [
    (dict(image_shape=(12, 12, 3), num_levels=3), 'divisible by 2\\*\\*num_levels = 8'),
    (dict(image_shape=(8, 8)), 'must be \\(H, W, C\\)'),
    (dict(coupling='spline'), 'coupling'),
    (dict(permutation='random'), 'permutation'),
    (dict(num_steps=0), 'positive'),
    (dict(num_levels=1.5), '`num_levels` must be an integer, got 1.5'),
    (dict(num_steps=True), '`num_steps` must be an integer, got True'),
    (dict(hidden_channels='4'),
     "`hidden_channels` must be an integer, got '4'"),
    (dict(image_shape=(8, 8.5, 3)), '`image_shape` must be an integer'),
    (dict(num_classes=2.5), '`num_classes` must be an integer'),
])
def test_glow_rejects_bad_configuration(kwargs, message):
  args = dict(image_shape=(8, 8, 3), num_levels=2, num_steps=1,
              hidden_channels=4)
  args.update(kwargs)
  error = TypeError if 'integer' in message else ValueError
  with pytest.raises(error, match=message):
    tfp_glow.glow(**args)


def test_glow_takes_whole_numbers_of_any_type():
  dist = tfp_glow.glow(image_shape=np.array([8, 8, 3]), num_levels=np.int64(2),
                       num_steps=1.0, hidden_channels=4)
  assert dist.event_shape == (8, 8, 3) and dist.num_levels == 2
  assert dist.config['image_shape'] == (8, 8, 3)
  assert all(type(dist.config[k]) is int  # pylint: disable=unidiomatic-typecheck
             for k in ('num_levels', 'num_steps', 'hidden_channels'))


@pytest.mark.parametrize('permutation, coupling', [
    ('plain', 'additive'), ('reverse', 'affine'), ('shuffle', 'affine')])
def test_variants_are_exact_flows(permutation, coupling):
  dist = tfp_glow.glow((4, 4, 2), num_levels=2, num_steps=1,
                       hidden_channels=4, permutation=permutation,
                       coupling=coupling, learn_top_prior=False,
                       hidden_actnorm=False, dtype=tf.float64)
  checks.randomize(dist, seed=7)
  x = np.random.default_rng(7).uniform(size=(2, 4, 4, 2))
  z = dist.encoder.forward(checks.fresh(x)).numpy()
  log_base = tfd.Normal(np.float64(0), 1.).log_prob(z).numpy().sum(-1)
  np.testing.assert_allclose(
      dist.log_prob(x),
      log_base + checks.brute_force_log_det(dist.encoder.forward, x),
      rtol=1e-9)
  np.testing.assert_allclose(tfp_glow.decode(dist, z), x, atol=1e-10)


@pytest.mark.parametrize('compute_dtype', [tf.bfloat16, tf.float16])
def test_mixed_precision_bits_per_dim_within_0_01_of_float32(
    compute_dtype):
  full, reduced = (tfp_glow.glow((8, 8, 3), num_levels=2, num_steps=2,
                                 hidden_channels=16, seed=0,
                                 compute_dtype=dtype)
                   for dtype in (None, compute_dtype))
  # Random weights: fresh coupling networks output exactly zero, in any dtype.
  checks.randomize(full, seed=8)
  for target, source in zip(reduced.variables, full.variables):
    target.assign(source)
  images = np.random.default_rng(8).integers(0, 256, (16, 8, 8, 3), np.uint8)
  full_bpd = tfp_glow.bits_per_dim(full, images, 5, seed=[2, 2])
  low = tfp_glow.bits_per_dim(reduced, images, 5, seed=[2, 2])
  assert low.dtype == tf.float32 and np.all(np.isfinite(full_bpd))
  # The networks did run in the reduced dtype, and it costs little.
  assert np.max(np.abs(low - full_bpd)) > 1e-6
  assert abs(float(tf.reduce_mean(low - full_bpd))) < 0.01
  assert np.max(np.abs(low - full_bpd)) < 0.05


@pytest.mark.parametrize('fused', [True, False])
def test_an_empty_batch_has_an_empty_density_and_no_gradient(fused):
  dist = tfp_glow.glow((8, 8, 3), num_levels=2, num_steps=2,
                       hidden_channels=16, fused=fused)
  empty = np.zeros([0, 8, 8, 3], np.float32)
  with tf.GradientTape() as tape:
    log_prob = dist.log_prob(empty)
    loss = tf.reduce_sum(log_prob)
  assert log_prob.shape == [0]
  assert all(g is None or not np.any(g) for g in tape.gradient(
      loss, dist.trainable_variables))
  traced = tf.function(dist.log_prob,
                       input_signature=[tf.TensorSpec([0, 8, 8, 3])])
  assert traced(empty).shape == [0]
  assert tfp_glow.bits_per_dim(dist, empty.astype(np.uint8)).shape == [0]
  assert dist.log_prob(np.zeros([2, 0, 8, 8, 3], np.float32)).shape == [2, 0]
  # The bijectors themselves, eager (TensorFlow's CPU conv2d gives an empty
  # batch the input's channel count; bijectors.conv corrects it).
  assert dist.encoder.forward(empty).shape == [0, 192]
  assert dist.encoder.forward_log_det_jacobian(
      empty, event_ndims=3).shape == [0]

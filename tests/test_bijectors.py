"""Properties of every bijector in `bijectors/`."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

import bijectors
from bijectors import actnorm
from bijectors import one_pass
from bijectors import stacked_rows
from tests import checks


def _factor_out(dtype):
  inner = tfb.Chain([
      tfb.Reshape([2 * 2 * 4], event_shape_in=[2, 2, 4]),
      bijectors.AffineCoupling(4, hidden_channels=8, dtype=dtype, seed=3),
      bijectors.Squeeze(),
  ])
  return bijectors.FactorOut(inner, (4, 4, 2))


# name -> (factory(dtype), event shape of x)
BIJECTORS = {
    'actnorm': (lambda dt: bijectors.ActNorm(4, dtype=dt), (2, 2, 4)),
    'actnorm_vector': (lambda dt: bijectors.ActNorm(4, dtype=dt), (4,)),
    'conv_lu': (lambda dt: bijectors.Invertible1x1Conv(4, 'lu', seed=1,
                                                       dtype=dt), (2, 2, 4)),
    'conv_plain': (lambda dt: bijectors.Invertible1x1Conv(4, 'plain', seed=1,
                                                          dtype=dt), (2, 2, 4)),
    'affine': (lambda dt: bijectors.AffineCoupling(4, hidden_channels=8,
                                                   dtype=dt), (2, 2, 4)),
    'affine_odd': (lambda dt: bijectors.AffineCoupling(
        3, hidden_channels=8, hidden_actnorm=False, dtype=dt), (2, 2, 3)),
    'additive': (lambda dt: bijectors.AffineCoupling(
        4, hidden_channels=8, kind='additive', dtype=dt), (2, 2, 4)),
    'split_prior': (lambda dt: bijectors.LearnedPriorSplit(4, dtype=dt),
                    (2, 2, 4)),
    'squeeze': (lambda dt: bijectors.Squeeze(), (4, 2, 3)),
    'factor_out': (_factor_out, (4, 4, 2)),
}
NOT_XLA = {'conv_plain'}  # slogdet has no XLA kernel (documented).


def _make(name, dtype=tf.float32, seed=0):
  factory, event_shape = BIJECTORS[name]
  bijector = factory(dtype)
  checks.randomize(bijector, seed=seed, scale=0.3)
  x = np.random.default_rng(seed).uniform(
      -1, 1, (3,) + event_shape).astype(dtype.as_numpy_dtype)
  return bijector, x, len(event_shape)


@pytest.mark.parametrize('name', sorted(BIJECTORS))
def test_round_trip_and_log_det_consistency(name):
  bijector, x, ndims = _make(name)
  y = checks.assert_invertible(bijector, x, ndims, rtol=1e-4, atol=1e-5)
  if y.shape == x.shape:
    assert np.max(np.abs(y - x)) > 1e-2, 'bijector is the identity'


@pytest.mark.parametrize('name', sorted(BIJECTORS))
def test_log_det_matches_autodiff_jacobian(name):
  bijector, x, ndims = _make(name, dtype=tf.float64, seed=1)
  fldj = bijector.forward_log_det_jacobian(x, event_ndims=ndims)
  fldj = np.broadcast_to(fldj, x.shape[:1])
  np.testing.assert_allclose(
      fldj, checks.brute_force_log_det(bijector.forward, x), rtol=1e-6,
      atol=1e-8)
  # And in the inverse direction, at a point not produced by `forward`.
  y = checks.fresh(bijector.forward(x))
  y = checks.fresh(y.numpy() * 1.1)
  ildj = bijector.inverse_log_det_jacobian(
      y, event_ndims=bijector.forward_event_ndims(ndims))
  np.testing.assert_allclose(
      np.broadcast_to(ildj, x.shape[:1]),
      checks.brute_force_log_det(bijector.inverse, y), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize('name', sorted(BIJECTORS))
def test_extra_batch_dims(name):
  bijector, x, ndims = _make(name)
  x2 = np.stack([x, x[::-1]])  # batch shape [2, 3]
  y2 = bijector.forward(x2)
  np.testing.assert_allclose(y2[0], bijector.forward(x), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(y2[1], bijector.forward(checks.fresh(x[::-1])),
                             rtol=1e-5, atol=1e-6)
  fldj = bijector.forward_log_det_jacobian(x2, event_ndims=ndims)
  assert np.broadcast_to(fldj, [2, 3]).shape == (2, 3)
  x_back = bijector.inverse(checks.fresh(y2))
  np.testing.assert_allclose(x_back, x2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name', sorted(BIJECTORS))
@pytest.mark.parametrize('jit', [False, True])
def test_tf_function(name, jit):
  if jit and name in NOT_XLA:
    pytest.skip('documented: plain 1x1 conv uses slogdet, not XLA-compilable')
  bijector, x, ndims = _make(name)
  eager_y = bijector.forward(x).numpy()
  eager_ldj = bijector.forward_log_det_jacobian(
      checks.fresh(x), event_ndims=ndims).numpy()

  @tf.function(jit_compile=jit)
  def forward_and_back(x):
    y = bijector.forward(x)
    return y, bijector.forward_log_det_jacobian(x, event_ndims=ndims), (
        bijector.inverse(tf.identity(y)))

  y, ldj, x_back = forward_and_back(x)
  np.testing.assert_allclose(y, eager_y, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(ldj, eager_ldj, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(x_back, x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name', sorted(BIJECTORS))
def test_float64(name):
  bijector, x, ndims = _make(name, dtype=tf.float64)
  y = bijector.forward(x)
  assert y.dtype == tf.float64
  assert bijector.forward_log_det_jacobian(x, event_ndims=ndims).dtype == (
      tf.float64)
  checks.assert_invertible(bijector, x, ndims, rtol=1e-10, atol=1e-10)


def test_actnorm_data_dependent_init():
  x = np.random.default_rng(0).normal(3., 5., (64, 4, 4, 3)).astype(np.float32)
  actnorm = bijectors.ActNorm(3)
  assert not actnorm.initialized.numpy()
  y = actnorm.forward(x).numpy()
  assert actnorm.initialized.numpy()
  np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0., atol=1e-4)
  np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1., atol=1e-4)
  # Later batches do not re-initialize.
  shift = actnorm.shift.numpy()
  actnorm.forward(x + 10.)
  np.testing.assert_array_equal(actnorm.shift.numpy(), shift)


def test_actnorm_init_in_tf_function_and_xla():
  x = np.random.default_rng(1).normal(-2., 3., (32, 2, 2, 3)).astype(
      np.float32)
  actnorm = bijectors.ActNorm(3)
  y = tf.function(actnorm.forward, jit_compile=True)(x).numpy()
  assert actnorm.initialized.numpy()
  np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1., atol=1e-3)


def test_actnorm_restored_from_checkpoint_does_not_reinitialize(tmp_path):
  x = np.random.default_rng(2).normal(1., 2., (16, 2, 2, 3)).astype(np.float32)
  actnorm = bijectors.ActNorm(3)
  actnorm.forward(x)
  path = tf.train.Checkpoint(actnorm=actnorm).save(str(tmp_path / 'ckpt'))
  restored = bijectors.ActNorm(3)
  tf.train.Checkpoint(actnorm=restored).restore(path).assert_consumed()
  assert restored.initialized.numpy()
  y = restored.forward(checks.fresh(x * 7.))  # different data: no re-init
  np.testing.assert_allclose(y, actnorm.forward(checks.fresh(x * 7.)),
                             rtol=1e-6)


def test_actnorm_skips_init_in_replica_context():
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    actnorm = bijectors.ActNorm(2)
  x = np.ones([4, 2, 2, 2], np.float32) * 5.
  y = strategy.run(actnorm.forward, (x,))
  assert not actnorm.initialized.numpy()
  np.testing.assert_allclose(y, x)
  with strategy.scope():
    actnorm.initialize(x + np.arange(2, dtype=np.float32))
  assert actnorm.initialized.numpy()


def test_lu_conv_starts_as_a_rotation_and_log_det_is_sum_log_s():
  conv = bijectors.Invertible1x1Conv(6, 'lu', seed=3, dtype=tf.float64)
  w = conv.weight_matrix().numpy()
  np.testing.assert_allclose(w @ w.T, np.eye(6), atol=1e-12)
  checks.randomize(conv, seed=3)
  w = conv.weight_matrix().numpy()
  np.testing.assert_allclose(
      conv.forward_log_det_jacobian(np.zeros([1, 6]), event_ndims=1),
      np.linalg.slogdet(w)[1], rtol=1e-10)


def test_squeeze_order_is_openai_squeeze2d():
  x = np.arange(2 * 4 * 3, dtype=np.float32).reshape(1, 2, 4, 3)
  y = bijectors.Squeeze().forward(x).numpy()
  # Output channel 4*c + 2*dy + dx holds input channel c at (dy, dx).
  for c in range(3):
    for dy in range(2):
      for dx in range(2):
        np.testing.assert_array_equal(y[0, :, :, 4 * c + 2 * dy + dx],
                                      x[0, dy::2, dx::2, c])
  assert bijectors.Squeeze().forward_event_shape([2, 4, 3]) == [1, 2, 12]
  assert bijectors.Squeeze().inverse_event_shape([1, 2, 12]) == [2, 4, 3]


def test_fresh_coupling_and_split_prior_are_identity_like():
  x = np.random.default_rng(0).normal(size=(2, 2, 2, 4)).astype(np.float32)
  coupling = bijectors.AffineCoupling(4, hidden_channels=8, kind='additive')
  np.testing.assert_allclose(coupling.forward(x), x, atol=1e-6)
  split = bijectors.LearnedPriorSplit(4)
  np.testing.assert_allclose(split.forward(x), x, atol=1e-6)


OWN_VARIABLES = ['actnorm', 'affine', 'additive', 'conv_lu', 'conv_plain',
                 'split_prior']


@pytest.mark.parametrize('name', OWN_VARIABLES)
def test_bijectors_owning_variables_do_not_share_the_cache(name):
  # TFP caches forward/inverse pairs per *equal* bijector; two layers built
  # alike but holding different values must not answer for each other.
  a, x, _ = _make(name, seed=0)
  b, _, _ = _make(name, seed=1)
  assert a == a and a != b and hash(a) != hash(b)
  y = a.forward(x)
  x_from_b = b.inverse(y)
  np.testing.assert_allclose(x_from_b, b.inverse(tf.identity(y)), rtol=1e-5,
                             atol=1e-6)
  assert np.abs(np.asarray(x_from_b) - x).max() > 1e-3


def test_composite_bijectors_keep_structural_equality():
  inner = tfb.Chain([tfb.Reshape([16], event_shape_in=[2, 2, 4]),
                     bijectors.ActNorm(4)])
  first = bijectors.FactorOut(inner, (2, 2, 8))
  again = bijectors.FactorOut(inner, (2, 2, 8))
  assert first == again and hash(first) == hash(again) == hash(first)
  assert first != bijectors.FactorOut(
      tfb.Chain([tfb.Reshape([16], event_shape_in=[2, 2, 4]),
                 bijectors.ActNorm(4)]), (2, 2, 8))
  chain = bijectors.ConditionalChain([first, bijectors.Squeeze()])
  assert chain == bijectors.ConditionalChain([again, bijectors.Squeeze()])
  assert hash(chain) == hash(bijectors.ConditionalChain(
      [again, bijectors.Squeeze()]))


def test_trainable_variables_are_visible():
  coupling = bijectors.AffineCoupling(4, hidden_channels=8)
  # conv_in, conv_hidden kernels; conv_out kernel, bias, logs; 2 ActNorms.
  assert len(coupling.trainable_variables) == 9
  assert len(bijectors.Invertible1x1Conv(4, 'lu').trainable_variables) == 3
  assert len(bijectors.ActNorm(4).trainable_variables) == 2


@pytest.mark.parametrize('make, message', [
    (lambda: bijectors.Squeeze().forward(np.zeros([1, 3, 4, 1], np.float32)),
     'height must be even'),
    (lambda: bijectors.Squeeze().forward(np.zeros([1, 4, 5, 1], np.float32)),
     'width must be even'),
    (lambda: bijectors.Squeeze().inverse(np.zeros([1, 2, 2, 3], np.float32)),
     'multiple of 4'),
    (lambda: bijectors.ActNorm(3).forward(np.zeros([2, 4], np.float32)),
     'expected 3 channels'),
    (lambda: bijectors.Invertible1x1Conv(3).forward(np.zeros([2, 4],
                                                             np.float32)),
     'expected 3 channels'),
    (lambda: bijectors.Invertible1x1Conv(3, 'qr'), 'permutation'),
    (lambda: bijectors.AffineCoupling(4, kind='spline'), 'coupling'),
    (lambda: bijectors.AffineCoupling(1), 'at least 2'),
    (lambda: bijectors.AffineCoupling(4, hidden_channels=4).forward(
        np.zeros([2, 2, 4], np.float32)[..., :3]), 'expected 4 channels'),
    (lambda: bijectors.AffineCoupling(4, hidden_channels=4).forward(
        np.zeros([2, 4], np.float32)), r'\[..., H, W, C\]'),
    (lambda: bijectors.LearnedPriorSplit(6).forward(
        np.zeros([1, 2, 2, 4], np.float32)), 'expected 6 channels'),
])
def test_bad_arguments_raise_clear_errors(make, message):
  with pytest.raises(ValueError, match=message):
    make()


def test_validate_args_catches_singular_lu_weight():
  conv = bijectors.Invertible1x1Conv(3, 'lu', validate_args=True)
  conv.log_s.assign([0., -np.inf, 0.])
  with pytest.raises(tf.errors.InvalidArgumentError, match='nonzero diagonal'):
    conv.forward(np.ones([1, 3], np.float32))


def test_validate_args_catches_dynamic_odd_size():
  squeeze = bijectors.Squeeze(validate_args=True)
  fn = tf.function(squeeze.forward,
                   input_signature=[tf.TensorSpec([None, None, None, 1])])
  with pytest.raises(tf.errors.InvalidArgumentError, match='must be even'):
    fn(np.zeros([1, 3, 4, 1], np.float32))


@pytest.mark.parametrize('static', [True, False])
@pytest.mark.parametrize('cin, cout', [(40, 4), (2, 24), (6, 6)])
def test_gemm_convolutions_equal_tf_conv2d_with_gradients(cin, cout, static):
  # conv3x3 uses GEMMs and shifted windows for thin inputs (9 cin <= cout)
  # or outputs (9 cout <= cin); it must be the 'SAME' convolution, with the
  # same gradients, including the zero padding at the borders, whether the
  # image shape is static or only known when the function runs.
  from bijectors import conv  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(cin)
  x = tf.constant(rng.standard_normal((2, 5, 3, cin)))
  kernel = tf.constant(rng.standard_normal((3, 3, cin, cout)))
  bias = tf.constant(rng.standard_normal(cout))
  dy = tf.constant(rng.standard_normal((2, 5, 3, cout)))
  spec = tf.TensorSpec([2, 5, 3, cin] if static else [None, None, None, cin],
                       tf.float64)
  for ours, reference in [
      (lambda x, k: conv.conv3x3(x, k, bias, relu=True),
       lambda x, k: tf.nn.relu(tf.nn.conv2d(x, k, 1, 'SAME') + bias)),
      (lambda x, k: conv.conv1x1(x, k[1:2, 1:2], bias),
       lambda x, k: tf.nn.conv2d(x, k[1:2, 1:2], 1, 'SAME') + bias)]:
    results = []
    for fn in (ours, reference):

      @tf.function(input_signature=[spec])
      def value_and_gradients(x, fn=fn):
        with tf.GradientTape() as tape:
          tape.watch([x, kernel])
          y = fn(x, kernel)
        return [y] + tape.gradient(y, [x, kernel], output_gradients=dy)

      results.append(value_and_gradients(x))
    for a, b in zip(*results):
      np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('cin, cout', [(40, 4), (2, 24), (6, 6)])
def test_prepared_kernels_stacked_are_each_steps_convolution(cin, cout):
  # GEMM layouts made for K stacked kernels at once (conv.prepare3x3 and
  # prepare1x1, before GlowSteps' loop): row k must convolve as kernel k,
  # and the gradient must reach the stacked kernel through the layout.
  from bijectors import conv  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(cout)
  x = tf.constant(rng.standard_normal((2, 5, 3, cin)))
  kernels = tf.constant(rng.standard_normal((3, 3, 3, cin, cout)))
  dy = tf.constant(rng.standard_normal((2, 5, 3, cout)))
  for prepare, conv_fn, reference in [
      (conv.prepare3x3, conv.conv3x3,
       lambda k: tf.nn.conv2d(x, k, 1, 'SAME')),
      (conv.prepare1x1, conv.conv1x1,
       lambda k: tf.nn.conv2d(x, k[1:2, 1:2], 1, 'SAME'))]:
    stacked = kernels[:, 1:2, 1:2] if prepare is conv.prepare1x1 else kernels
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(stacked)
      prepared = prepare(stacked)
      ys = [conv_fn(x, prepared[k]) for k in range(3)]
    for k, y in enumerate(ys):
      np.testing.assert_allclose(y, reference(kernels[k]), rtol=1e-10,
                                 atol=1e-10)
      got = tape.gradient(y, stacked, output_gradients=dy)
      with tf.GradientTape() as ref_tape:
        ref_tape.watch(kernels)
        ref = reference(kernels[k])
      want = ref_tape.gradient(ref, kernels, output_gradients=dy)
      if prepare is conv.prepare1x1:
        want = want[:, 1:2, 1:2]
      np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('hidden_actnorm', [True, False])
def test_prepared_networks_stacked_are_openai_glows_network(hidden_actnorm):
  # prepare_network folds ActNorm and exp(3 logs) into the kernels of all K
  # networks at once; each row must run openai/glow's f(): conv -> ActNorm
  # (or bias) -> ReLU twice, then (conv + b) * exp(3 logs), written here
  # with tf.nn.conv2d and no folding.
  from bijectors import coupling_network  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(7)
  values = coupling_network.network_initial_values(
      3, 8, 32, hidden_actnorm, 2, rng)
  values = {n: tf.constant(v + 0.2 * rng.standard_normal(v.shape))
            for n, v in values.items()}
  a = tf.constant(rng.standard_normal((2, 4, 5, 3)))
  prepared = coupling_network.prepare_network(values, hidden_actnorm,
                                              tf.float64)
  for k in range(2):
    p = {n: v[k] for n, v in values.items()}
    h = a
    for layer in ('in', 'hidden'):
      h = tf.nn.conv2d(h, p[f'kernel_{layer}'], 1, 'SAME')
      if hidden_actnorm:
        h = (h + p[f'shift_{layer}']) * tf.exp(p[f'log_scale_{layer}'])
      else:
        h = h + p[f'bias_{layer}']
      h = tf.nn.relu(h)
    want = ((tf.nn.conv2d(h, p['kernel_out'], 1, 'SAME') + p['bias_out']) *
            tf.exp(3. * p['logs_out']))
    got = coupling_network.apply_prepared(
        a, {n: t[k] for n, t in prepared.items()}, tf.float64, tf.float64)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    got, _ = coupling_network.apply_network(a, p, hidden_actnorm, tf.float64,
                                            tf.float64)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('spec', [
    tf.TensorSpec([2, 3, 3, 6]),            # static: tf.split / reshape
    tf.TensorSpec([None, 3, None, 6]),      # dynamic batch and width
    tf.TensorSpec([None, None, None, None]),  # unknown channels: slicing
])
def test_channel_split_helpers_equal_slicing(spec):
  h = np.random.default_rng(0).normal(size=(2, 3, 3, 6)).astype(np.float32)

  @tf.function(input_signature=[spec])
  def halves(h):
    return (one_pass.split_channels(h, 2) + one_pass.deinterleave(h))

  first, rest, even, odd = [t.numpy() for t in halves(h)]
  np.testing.assert_array_equal(first, h[..., :2])
  np.testing.assert_array_equal(rest, h[..., 2:])
  np.testing.assert_array_equal(even, h[..., 0::2])
  np.testing.assert_array_equal(odd, h[..., 1::2])


def _autodiff(forward, x, params, dy, dlog_det):
  """`(dx, {name: gradient})` of `forward(x, params) -> (y, log_det)`."""
  with tf.GradientTape() as tape:
    tape.watch([x] + list(params.values()))
    y, log_det = forward(x, params)
  return tape.gradient([y, log_det], [x, params],
                       output_gradients=[dy, dlog_det + 0. * log_det])


@pytest.mark.parametrize('kind', ['affine', 'additive'])
def test_coupling_backward_equals_autodiff(kind):
  """The closed-form backward pass that `memory='invertible'` uses."""
  transform = bijectors.get_coupling(kind)
  rng = np.random.default_rng(1)
  x_b = tf.constant(rng.normal(size=(3, 2, 2, 4)))
  h = tf.constant(rng.normal(size=(3, 2, 2,
                                   transform.network_channels(4))))
  dy_b = tf.constant(rng.normal(size=(3, 2, 2, 4)))
  dlog_det = tf.constant(rng.normal(size=(3,)))
  want_dx, want = _autodiff(lambda x, p: transform.forward(x, p['h']), x_b,
                            {'h': h}, dy_b, dlog_det)
  y_b = tf.constant(transform.forward(x_b, h)[0].numpy())
  got_x, got_dx, got_dh = transform.backward(y_b, h, dy_b, dlog_det)
  np.testing.assert_allclose(got_x, x_b, rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(got_dx, want_dx, rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(got_dh, want['h'], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('name', ['lu', 'plain', 'reverse', 'shuffle'])
def test_permutation_backward_equals_autodiff(name):
  permutation = bijectors.get_permutation(name)
  rng = np.random.default_rng(2)
  variables, constants = permutation.initial_values(4, 1, rng)
  params = {n: tf.constant(v[0] + 0.1 * rng.normal(size=v[0].shape))
            for n, v in variables.items()}
  params.update({n: tf.constant(v[0]) for n, v in constants.items()})
  prepared = permutation.prepare(params)
  x = tf.constant(rng.normal(size=(3, 2, 2, 4)))
  dy = tf.constant(rng.normal(size=(3, 2, 2, 4)))
  dlog_det = tf.constant(rng.normal(), tf.float64)
  differentiable = {n: t for n, t in prepared.items()
                    if n not in permutation.non_differentiable}
  want_dx, want = _autodiff(
      lambda x, p: permutation.forward(x, {**prepared, **p}), x,
      differentiable, dy, dlog_det)
  y = tf.constant(permutation.forward(x, prepared)[0].numpy())
  got_x, got_dx, got = permutation.backward(y, dy, dlog_det, prepared)
  np.testing.assert_allclose(got_x, x, rtol=1e-10, atol=1e-10)
  np.testing.assert_allclose(got_dx, want_dx, rtol=1e-10, atol=1e-12)
  for n, g in want.items():
    np.testing.assert_allclose(got[n], g, rtol=1e-10, atol=1e-12)


def test_actnorm_backward_equals_autodiff():
  rng = np.random.default_rng(3)
  x, dy = (tf.constant(rng.normal(size=(3, 2, 2, 4))) for _ in range(2))
  params = dict(shift=tf.constant(rng.normal(size=4)),
                log_scale=tf.constant(rng.normal(size=4)))
  dlog_det = tf.constant(rng.normal(), tf.float64)
  forward = lambda x, p: actnorm.actnorm_forward(x, p['shift'],
                                                 p['log_scale'])
  want_dx, want = _autodiff(forward, x, params, dy, dlog_det)
  y = tf.constant(forward(x, params)[0].numpy())
  got_x, got_dx, dshift, dlog_scale = actnorm.actnorm_backward(
      y, dy, dlog_det, params['shift'], params['log_scale'])
  np.testing.assert_allclose(got_x, x, rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(got_dx, want_dx, rtol=1e-12)
  np.testing.assert_allclose(dshift, want['shift'], rtol=1e-12)
  np.testing.assert_allclose(dlog_scale, want['log_scale'], rtol=1e-12)


@pytest.mark.parametrize('mode', ['eager', 'graph', 'xla'])
def test_stacked_rows_fill_k_rows_in_any_order(mode):
  """Rows written in reverse inside a while loop; two accumulators of the
  same shape (in-place writes must not share a buffer) and one left zero."""
  rng = np.random.default_rng(4)
  a = tf.constant(rng.normal(size=(3, 2, 2)).astype(np.float32))
  b = tf.constant(rng.normal(size=(3, 2, 2)).astype(np.float32))

  def build(a, b):
    rows = [stacked_rows.zeros_like(a) for _ in range(3)]

    def body(k, rows):
      return k - 1, stacked_rows.write(rows[:2], k, [a[k], 2. * b[k]]) + [
          rows[2]]

    _, rows = tf.while_loop(lambda k, _: k >= 0, body, (2, rows))
    return [stacked_rows.stack(r) for r in rows]

  if mode != 'eager':
    build = tf.function(build, jit_compile=mode == 'xla')
  got_a, got_b, untouched = [t.numpy() for t in build(a, b)]
  np.testing.assert_array_equal(got_a, a.numpy())
  np.testing.assert_array_equal(got_b, 2. * b.numpy())
  np.testing.assert_array_equal(untouched, np.zeros((3, 2, 2)))

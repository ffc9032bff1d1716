"""`GlowSteps`: the fast loop equals the chain of single bijectors."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

import bijectors
from tests import checks

CONFIGS = [('lu', 'affine', True), ('plain', 'additive', False),
           ('reverse', 'affine', True), ('shuffle', 'additive', True)]


def _steps(permutation, coupling, hidden_actnorm, memory='invertible',
           num_steps=3, dtype=tf.float64):
  steps = bijectors.GlowSteps(4, num_steps, hidden_channels=8,
                              permutation=permutation, coupling=coupling,
                              hidden_actnorm=hidden_actnorm, memory=memory,
                              seed=4, dtype=dtype)
  checks.randomize(steps, seed=2, scale=0.1)
  return steps


def _as_chain(steps):
  """The same K steps as the chain of single bijectors holding their
  weights, `ActNorm`, `Invertible1x1Conv`, `AffineCoupling`."""
  forward_order = []
  for k in range(steps.num_steps):
    forward_order += steps.step_bijectors(k)
  return tfb.Chain(forward_order[::-1])


@pytest.mark.parametrize('permutation, coupling, hidden_actnorm', CONFIGS)
def test_equals_the_chain_of_single_bijectors(permutation, coupling,
                                              hidden_actnorm):
  steps = _steps(permutation, coupling, hidden_actnorm)
  chain = _as_chain(steps)
  x = np.random.default_rng(0).normal(size=(3, 2, 2, 4))
  np.testing.assert_allclose(steps.forward(x), chain.forward(x), rtol=1e-10,
                             atol=1e-12)
  np.testing.assert_allclose(
      steps.forward_log_det_jacobian(checks.fresh(x), event_ndims=3),
      chain.forward_log_det_jacobian(checks.fresh(x), event_ndims=3),
      rtol=1e-10)
  y = checks.fresh(x * 0.7)
  np.testing.assert_allclose(steps.inverse(y), chain.inverse(y), rtol=1e-9,
                             atol=1e-12)


@pytest.mark.parametrize('permutation, coupling, hidden_actnorm', CONFIGS)
def test_bijector_properties(permutation, coupling, hidden_actnorm):
  steps = _steps(permutation, coupling, hidden_actnorm)
  x = np.random.default_rng(1).normal(size=(3, 2, 2, 4))
  y = checks.assert_invertible(steps, x, 3, rtol=1e-9, atol=1e-10)
  assert np.max(np.abs(y - x)) > 0.1
  np.testing.assert_allclose(
      steps.forward_log_det_jacobian(checks.fresh(x), event_ndims=3),
      checks.brute_force_log_det(steps.forward, x), rtol=1e-9)
  y = checks.fresh(y)
  np.testing.assert_allclose(
      steps.inverse_log_det_jacobian(y, event_ndims=3),
      checks.brute_force_log_det(steps.inverse, y), rtol=1e-9)


def _gradients(steps, x):
  x = tf.constant(x)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = steps.forward(x)
    ldj = steps.forward_log_det_jacobian(x, event_ndims=3)
    loss = tf.reduce_sum(0.5 * y**2 + 0.1 * y) - tf.reduce_sum(ldj)
  grads = tape.gradient(loss, [x] + list(steps.trainable_variables))
  return [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize('permutation, coupling, hidden_actnorm', CONFIGS)
@pytest.mark.parametrize('dtype', [tf.float32, tf.float64])
def test_invertible_backprop_equals_stored_activations(
    permutation, coupling, hidden_actnorm, dtype):
  invertible = _steps(permutation, coupling, hidden_actnorm, 'invertible',
                      num_steps=4, dtype=dtype)
  stored = _steps(permutation, coupling, hidden_actnorm, 'store',
                  num_steps=4, dtype=dtype)
  x = np.random.default_rng(2).normal(size=(3, 4, 4, 4)).astype(
      dtype.as_numpy_dtype)
  for a, b in zip(_gradients(invertible, x), _gradients(stored, x)):
    scale = np.max(np.abs(b))
    assert scale > 0
    np.testing.assert_allclose(a / scale, b / scale, atol=1e-4)


@pytest.mark.parametrize('jit_compile', [False, True])
@pytest.mark.parametrize('memory', ['invertible', 'store'])
def test_gradients_under_tf_function_and_xla(memory, jit_compile):
  steps = _steps('lu', 'affine', True, memory, dtype=tf.float32)
  x = np.random.default_rng(3).normal(size=(2, 4, 4, 4)).astype(np.float32)
  eager = _gradients(steps, x)
  traced = tf.function(lambda x: _gradients_graph(steps, x),
                       jit_compile=jit_compile)(x)
  for a, b in zip(traced, eager):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def _gradients_graph(steps, x):
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = steps.forward(x)
    ldj = steps.forward_log_det_jacobian(x, event_ndims=3)
    loss = tf.reduce_sum(0.5 * y**2 + 0.1 * y) - tf.reduce_sum(ldj)
  return [tf.convert_to_tensor(g)
          for g in tape.gradient(loss, [x] + list(steps.trainable_variables))]


def _op_types(concrete):
  """Op types of a traced function, its nested functions (loop bodies,
  their gradients) included."""
  graph_def = concrete.graph.as_graph_def()
  types = [node.op for node in graph_def.node]
  for function in graph_def.library.function:
    types += [node.op for node in function.node_def]
  return types


def test_store_gradient_adds_each_steps_rows_once():
  # A row gather's gradient inside the loop is densified to all K rows and
  # added to the accumulator in every step (UnsortedSegmentSum + AddN of
  # [K, ...] tensors: O(K^2)); the loop reads TensorArray rows instead.
  steps = _steps('lu', 'affine', True, 'store', dtype=tf.float32)
  x = np.random.default_rng(3).normal(size=(2, 4, 4, 4)).astype(np.float32)
  steps.forward(x)  # ActNorm init, outside the traced function.
  types = _op_types(tf.function(
      lambda x: _gradients_graph(steps, x)).get_concrete_function(x))
  assert 'UnsortedSegmentSum' not in types
  assert 'TensorListGetItem' in types  # The check sees the loop body.


def test_first_forward_pass_initializes_in_a_tf_function():
  steps = bijectors.GlowSteps(4, 2, hidden_channels=8, dtype=tf.float32)
  x = np.random.default_rng(4).normal(2., 3., (16, 4, 4, 4)).astype(
      np.float32)
  tf.function(steps.forward)(x)
  assert steps.initialized.numpy()
  shift = steps.stacked_variables['actnorm_shift'].numpy()
  # The first step's ActNorm normalizes the data it saw.
  np.testing.assert_allclose(shift[0], -x.mean(axis=(0, 1, 2)), rtol=1e-4)
  assert np.all(shift[1] != 0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(memory='remat'), 'memory'), (dict(permutation='qr'), 'permutation'),
    (dict(coupling='spline'), 'coupling'), (dict(num_channels=1), '>= 2')])
def test_bad_options(kwargs, message):
  args = dict(num_channels=4, num_steps=2)
  args.update(kwargs)
  with pytest.raises(ValueError, match=message):
    bijectors.GlowSteps(**args)


@pytest.mark.parametrize('memory', ['invertible', 'store'])
def test_unrolled_loop_is_the_same_map(memory):
  looped = _steps('lu', 'affine', True, memory, num_steps=3)
  unrolled = bijectors.GlowSteps(4, 3, hidden_channels=8, memory=memory,
                                 unroll=True, seed=4, dtype=tf.float64)
  for target, source in zip(unrolled.variables, looped.variables):
    target.assign(source)
  x = np.random.default_rng(5).normal(size=(2, 4, 4, 4))
  np.testing.assert_allclose(unrolled.forward(x), looped.forward(x),
                             rtol=1e-12)
  y = checks.fresh(looped.forward(checks.fresh(x)))
  np.testing.assert_allclose(unrolled.inverse(y), looped.inverse(y),
                             rtol=1e-12)
  for a, b in zip(_gradients(unrolled, x), _gradients(looped, x)):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)

"""Property checks shared by the bijector and model tests.

TFP's `bijector_test_util` is not in the wheel; these are the properties it
checks, written for our image bijectors. Round trips pass the intermediate
through numpy: TFP's bijector cache would otherwise hand back the original
input exactly and the check could not fail.
"""

import numpy as np
import tensorflow as tf

import tfp_glow


def randomize(module, seed=0, scale=0.1):
  """Sets every float variable of `module` to small random values.

  Zero-initialised layers make a fresh coupling the identity, and a fresh
  ActNorm waits for data; random parameters make the checks bite. Boolean
  `initialized` flags are set, so ActNorm applies its (random) parameters.
  """
  rng = np.random.default_rng(seed)
  for v in module.variables:
    if v.dtype == tf.bool:
      v.assign(True)
    elif v.dtype.is_floating:
      v.assign(v + scale * rng.standard_normal(v.shape).astype(
          v.dtype.as_numpy_dtype))


def fresh(t):
  """A new tensor with the value of `t` (defeats the bijector cache)."""
  return tf.constant(np.asarray(t))


def assert_invertible(bijector, x, event_ndims, rtol=1e-5, atol=1e-5):
  """inverse(forward(x)) == x, forward(inverse(y)) == y, fldj == -ildj."""
  x = tf.convert_to_tensor(x)
  y = fresh(bijector.forward(x))
  x_back = bijector.inverse(y)
  np.testing.assert_allclose(x_back, x, rtol=rtol, atol=atol)
  y_again = bijector.forward(fresh(x_back))
  np.testing.assert_allclose(y_again, y, rtol=rtol, atol=atol)
  fldj = bijector.forward_log_det_jacobian(fresh(x), event_ndims=event_ndims)
  ildj = bijector.inverse_log_det_jacobian(
      y, event_ndims=bijector.forward_event_ndims(event_ndims))
  np.testing.assert_allclose(fldj, -ildj * np.ones_like(fldj), rtol=rtol,
                             atol=atol)
  assert np.all(np.isfinite(y)) and np.all(np.isfinite(fldj))
  return y


def brute_force_log_det(fn, x):
  """log|det d fn(x) / dx| per batch member, from an autodiff Jacobian.

  `x` is `[batch, *event]`; `fn` maps it to `[batch, ...]` with as many
  numbers per member. Computed in float64.
  """
  x = tf.convert_to_tensor(x, tf.float64)
  batch = x.shape[0]
  flat = tf.reshape(x, [batch, -1])
  with tf.GradientTape() as tape:
    tape.watch(flat)
    y = tf.reshape(fn(tf.reshape(flat, x.shape)), [batch, -1])
  jacobian = tape.batch_jacobian(y, flat)
  assert jacobian.shape[1] == jacobian.shape[2], 'not dimension-preserving'
  _, log_abs_det = tf.linalg.slogdet(jacobian)
  return log_abs_det.numpy()


def count_traced_networks(monkeypatch):
  """A list that gets one entry per `GlowSteps` coupling network traced or
  run (eager), from now on in the test."""
  import bijectors  # pylint: disable=g-import-not-at-top
  traced = []
  original = bijectors.GlowSteps._network  # pylint: disable=protected-access

  def counting(self, a, p, init=False):
    traced.append(self.name)
    return original(self, a, p, init=init)

  monkeypatch.setattr(bijectors.GlowSteps, '_network', counting)
  return traced


class PatchServing(tf.Module):
  """A minimal illusions export of a 16x16x3 patch Glow: `serving_default`
  (uint8 images -> bits/dim at the dequantization midpoint, and log_prob),
  as the illusions CLI requires. Save with `tf.saved_model.save(module,
  path, signatures={'serving_default': module.serve})`."""

  def __init__(self, dist, n_bits):
    super().__init__()
    self.dist = dist
    self.n_bits = n_bits
    self.serve = tf.function(self._serve, input_signature=[
        tf.TensorSpec([None, 16, 16, 3], tf.uint8, name='images')])

  def _serve(self, images):
    bpd = tfp_glow.bits_per_dim(self.dist, images, self.n_bits,
                                seed='midpoint')
    return {'bits_per_dim': bpd,
            'log_prob': -bpd * 768. * np.log(2.).astype(np.float32)}

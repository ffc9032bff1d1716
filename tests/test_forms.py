"""The two forms of a Glow (fused loop, chain of single bijectors) are one
model: same map, same gradients, weights that convert both ways, and new
steps that plug into both."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import bijectors
import tfp_glow
from tfp_glow import model as model_lib
from tests import checks

_DATA = os.path.join(os.path.dirname(__file__), 'data')


def _pair(**options):
  """A randomized fused float64 Glow and its chain-form copy."""
  args = dict(image_shape=(4, 4, 2), num_levels=2, num_steps=2,
              hidden_channels=8, dtype=tf.float64, seed=3)
  args.update(options)
  fused = tfp_glow.glow(**args)
  checks.randomize(fused, seed=5)
  return fused, tfp_glow.convert(fused, fused=False)


def _loss_and_gradients(dist, x):
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(x))
  return loss.numpy(), [g.numpy() for g in tape.gradient(
      loss, dist.trainable_variables)]


def _step_gradients(dist, x):
  """The gradients of the step weights, by (level, step, name)."""
  sources = {}  # (level, step or None, name) -> variable
  for level, block in enumerate(model_lib.step_blocks(dist)):
    if isinstance(block, bijectors.GlowSteps):
      sources.update({(level, None, n): v
                      for n, v in block.stacked_variables.items()})
      continue
    for k, step in enumerate(block):
      for bijector in step:
        sources.update({(level, k, n): t
                        for n, t in bijector.step_tensors.items()
                        if isinstance(t, tf.Variable)})
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(x))
  grads = {}
  for (level, k, n), g in zip(sources, tape.gradient(
      loss, list(sources.values()))):
    g = np.asarray(g)
    if k is None:  # Stacked: one row per step.
      grads.update({(level, row, n): g[row] for row in range(len(g))})
    else:
      grads[level, k, n] = g
  return grads


@pytest.mark.parametrize('permutation, coupling', [
    ('lu', 'affine'), ('plain', 'additive'), ('shuffle', 'affine')])
def test_fused_and_chain_give_the_same_density_samples_and_gradients(
    permutation, coupling):
  fused, chain = _pair(permutation=permutation, coupling=coupling)
  assert not any(isinstance(m, bijectors.GlowSteps) for m in chain.submodules)
  assert len([m for m in chain.submodules
              if isinstance(m, bijectors.AffineCoupling)]) == 4
  x = np.random.default_rng(0).uniform(size=(3, 4, 4, 2))
  np.testing.assert_allclose(chain.log_prob(x), fused.log_prob(x),
                             rtol=1e-10)
  np.testing.assert_allclose(
      tfp_glow.sample(chain, 3, temperature=0.8, seed=[1, 2]),
      tfp_glow.sample(fused, 3, temperature=0.8, seed=[1, 2]), rtol=1e-9,
      atol=1e-12)
  want, got = _step_gradients(fused, x), _step_gradients(chain, x)
  assert set(want) == set(got) and len(want) > 20
  for key, g in want.items():
    np.testing.assert_allclose(got[key], g, rtol=1e-8, atol=1e-12,
                               err_msg=str(key))
  # The weights are far from their initial values: the checks can fail.
  assert max(np.max(np.abs(g)) for g in want.values()) > 1e-3


def test_convert_round_trips_the_weights_and_changes_the_dtype():
  fused, chain = _pair()
  back = tfp_glow.convert(chain, fused=True)
  for a, b in zip(fused.variables, back.variables):
    np.testing.assert_array_equal(a, b)
  assert back.config['memory'] == 'auto'
  assert chain.config['memory'] == 'store'
  narrow = tfp_glow.convert(fused, dtype=tf.float32)
  x = np.random.default_rng(1).uniform(size=(2, 4, 4, 2))
  np.testing.assert_allclose(narrow.log_prob(x.astype(np.float32)),
                             fused.log_prob(x), rtol=1e-4)


def test_a_step_taken_out_is_the_same_map_and_goes_back_in():
  fused, _ = _pair()
  block = model_lib.step_blocks(fused)[0]
  step = block.step_bijectors(1)
  assert [type(b) for b in step] == [bijectors.ActNorm,
                                     bijectors.Invertible1x1Conv,
                                     bijectors.AffineCoupling]
  x = np.random.default_rng(2).normal(size=(3, 2, 2, 8))
  # Step 1 alone: run the loop's step 0 first, then compare.
  before = checks.fresh(block.step_bijectors(0)[2].forward(
      block.step_bijectors(0)[1].forward(
          block.step_bijectors(0)[0].forward(x))))
  y = before
  for bijector in step:
    y = bijector.forward(y)
  np.testing.assert_allclose(y, block.forward(checks.fresh(x)), rtol=1e-10)
  # Change the step outside, put it back: the model changes accordingly.
  step[0].shift.assign(step[0].shift + 1.)
  block.assign_step(1, step)
  np.testing.assert_allclose(block.step_values(1)['actnorm_shift'],
                             step[0].shift.numpy())
  other = block.step_bijectors(0)
  with pytest.raises(ValueError, match='lu_permutation'):
    block.assign_step(1, other)  # Step 0's fixed LU permutation differs.
  with pytest.raises(ValueError, match='out of range'):
    block.step_bijectors(2)


@pytest.mark.parametrize('fused', [True, False])
def test_restore_reads_a_checkpoint_of_either_form(tmp_path, fused):
  source, other_form = _pair()
  if not fused:
    source, other_form = other_form, source
  path = tf.train.Checkpoint(dist=source).write(str(tmp_path / 'ckpt'))
  target = tfp_glow.glow(**{**other_form.config})
  tfp_glow.restore(target, path)
  x = np.random.default_rng(3).uniform(size=(2, 4, 4, 2))
  np.testing.assert_allclose(target.log_prob(x), source.log_prob(x),
                             rtol=1e-10)
  wrong = tfp_glow.glow(**{**source.config, 'hidden_channels': 4})
  with pytest.raises(ValueError):
    tfp_glow.restore(wrong, path)


@pytest.mark.parametrize('fused', [True, False])
def test_checkpoint_written_before_the_merge_still_loads(fused):
  """A checkpoint written at commit 8e778b5 (fused GlowSteps), loaded into
  both forms, gives the log-densities recorded then."""
  directory = os.path.join(_DATA, 'checkpoint_8e778b5')
  with open(os.path.join(directory, 'log_prob.json')) as f:
    want = json.load(f)['log_prob']
  dist = tfp_glow.glow((8, 8, 3), 2, 3, hidden_channels=16, seed=7,
                       fused=fused)
  tfp_glow.restore(dist, os.path.join(directory, 'ckpt'))
  x = np.random.default_rng(0).uniform(size=(4, 8, 8, 3)).astype(np.float32)
  np.testing.assert_allclose(dist.log_prob(x), want, rtol=1e-5)


class _TanhScale(bijectors.CouplingTransform):
  """A toy coupling: `Y_b = X_b exp(tanh(s)) + t`, `[t, s] = h`."""

  name = 'toy_tanh_scale'

  def network_channels(self, num_channels):
    return 2 * num_channels

  def _parts(self, h):
    t, s = tf.split(h, 2, axis=-1)
    return t, tf.tanh(s)

  def forward(self, x_b, h):
    t, log_scale = self._parts(h)
    return (x_b * tf.exp(log_scale) + t,
            tf.reduce_sum(log_scale, axis=[-3, -2, -1]))

  def inverse(self, y_b, h):
    t, log_scale = self._parts(h)
    return ((y_b - t) * tf.exp(-log_scale),
            -tf.reduce_sum(log_scale, axis=[-3, -2, -1]))


class _Roll(bijectors.Permutation):
  """A toy permutation: rotate the channels by one (no parameters)."""

  name = 'toy_roll'

  def initial_values(self, num_channels, num_steps, rng):
    return {}, {}

  def forward(self, x, prepared):
    return tf.roll(x, 1, axis=-1), tf.zeros([], x.dtype)

  def inverse(self, y, prepared):
    return tf.roll(y, -1, axis=-1), tf.zeros([], y.dtype)


bijectors.register_coupling(_TanhScale())
bijectors.register_permutation(_Roll())


@pytest.mark.parametrize('permutation', ['toy_roll', 'lu'])
def test_a_new_coupling_and_permutation_plug_into_both_forms(permutation):
  fused, chain = _pair(coupling='toy_tanh_scale', permutation=permutation,
                       memory='invertible')
  x = np.random.default_rng(4).uniform(size=(8, 4, 4, 2))
  checks.assert_invertible(chain.encoder, x, 3, rtol=1e-9, atol=1e-9)
  np.testing.assert_allclose(chain.log_prob(x), fused.log_prob(x), rtol=1e-10)
  want, got = _step_gradients(fused, x), _step_gradients(chain, x)
  for key, g in want.items():  # The loop's generic backward pass.
    np.testing.assert_allclose(got[key], g, rtol=1e-8, atol=1e-12)
  for dist in (fused, chain):  # Ten steps of training lower the loss.
    optimizer = tf.keras.optimizers.Adam(1e-2)
    first, _ = _loss_and_gradients(dist, x)
    for _ in range(10):
      _, grads = _loss_and_gradients(dist, x)
      optimizer.apply_gradients(zip(grads, dist.trainable_variables))
    assert _loss_and_gradients(dist, x)[0] < first - 0.1


@pytest.mark.parametrize('permutation, variable, value, message', [
    ('lu', 'log_s', -np.inf, 'log_s` must be finite'),
    ('plain', 'weight', 0., 'nonzero determinant')])
def test_validate_args_checks_the_same_in_both_forms(permutation, variable,
                                                     value, message):
  fused, chain = _pair(permutation=permutation, validate_args=True)
  x = np.random.default_rng(5).uniform(size=(2, 4, 4, 2))
  for dist in (fused, chain):
    block = model_lib.step_blocks(dist)[0]
    if isinstance(block, bijectors.GlowSteps):  # The last step's.
      target = block.stacked_variables[variable]
      broken = target.numpy()
      broken[-1].flat[-1 if variable == 'log_s' else slice(None)] = value
    else:
      target = getattr(block[-1][1], variable)
      broken = target.numpy()
      broken.flat[-1 if variable == 'log_s' else slice(None)] = value
    target.assign(broken)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
      dist.log_prob(x)

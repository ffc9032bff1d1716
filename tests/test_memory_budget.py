"""`memory='auto'`: store activations when a batch fits the budget."""

import numpy as np
import pytest
import tensorflow as tf

import bijectors
import tfp_glow
from bijectors import memory_budget
from tests import checks


def _steps(memory, budget=None):
  steps = bijectors.GlowSteps(4, 3, hidden_channels=8, memory=memory,
                              memory_budget=budget, seed=4, dtype=tf.float32)
  checks.randomize(steps, seed=2, scale=0.1)
  return steps


def _traced_gradients(steps, x):
  """Gradients of a loss through `steps` in a `tf.function`, and whether
  the traced forward pass has the recomputing custom gradient."""
  def loss_and_grads(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = steps.forward(x)
      ldj = steps.forward_log_det_jacobian(x, event_ndims=3)
      loss = tf.reduce_sum(0.5 * y**2 + 0.1 * y) - tf.reduce_sum(ldj)
    return tape.gradient(loss, [x] + list(steps.trainable_variables))
  fn = tf.function(loss_and_grads)
  grads = fn(x)
  graph = fn.get_concrete_function(x).graph
  # The recomputing gradient is one custom gradient of the input and all
  # the stacked parameters: an IdentityN of many inputs.
  recomputes = any(op.type == 'IdentityN' and len(op.inputs) > 2
                   for op in graph.get_operations())
  return [g.numpy() for g in grads], recomputes


def test_choice_follows_the_batch_against_the_budget():
  per_example = memory_budget.store_activation_bytes(4, 4, 4, 3, 8)
  assert per_example == 3 * 16 * (6 * 8 * 4 + 10 * 4 * 4)
  steps = _steps('auto', budget=10 * per_example)
  assert steps.memory_for([10, 4, 4, 4]) == 'store'
  assert steps.memory_for([11, 4, 4, 4]) == 'invertible'
  assert steps.memory_for([None, 4, 4, 4]) == 'invertible'  # Unknown: safe.
  # A fixed mode is what it says, whatever the batch.
  assert _steps('store', budget=1).memory_for([100, 4, 4, 4]) == 'store'


@pytest.mark.parametrize('batch, expected', [(2, 'store'), (5, 'invertible')])
def test_auto_runs_the_chosen_path_with_its_gradients(batch, expected):
  per_example = memory_budget.store_activation_bytes(4, 4, 4, 3, 8)
  auto = _steps('auto', budget=3 * per_example)
  fixed = _steps(expected)
  x = np.random.default_rng(3).normal(size=(batch, 4, 4, 4)).astype(
      np.float32)
  auto_grads, auto_recomputes = _traced_gradients(auto, x)
  fixed_grads, fixed_recomputes = _traced_gradients(fixed, x)
  assert auto_recomputes == (expected == 'invertible') == fixed_recomputes
  for a, b in zip(auto_grads, fixed_grads):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_glow_levels_share_the_budget_and_choose_alike():
  kwargs = dict(hidden_channels=16, memory_budget=None)
  probe = tfp_glow.glow((16, 16, 3), 3, 2, **kwargs)
  per_image = tfp_glow.memory_plan(probe, 1)['store_bytes']
  # The whole model's estimate is the sum over its levels' steps.
  expected = sum(memory_budget.store_activation_bytes(h, w, c, 2, 16)
                 for h, w, c in tfp_glow.model.step_shapes((16, 16, 3), 3))
  assert per_image == expected
  kwargs['memory_budget'] = 8 * per_image
  dist = tfp_glow.glow((16, 16, 3), 3, 2, **kwargs)
  assert tfp_glow.memory_plan(dist, 8)['memory'] == 'store'
  assert tfp_glow.memory_plan(dist, 9)['memory'] == 'invertible'
  assert tfp_glow.memory_plan(dist, 8)['budget'] == 8 * per_image
  # Every level decides the same for any batch (no mixed plans).
  for batch in range(1, 20):
    assert isinstance(tfp_glow.memory_plan(dist, batch)['memory'], str)


def test_defaults():
  assert tfp_glow.glow((8, 8, 3), 2, 1, hidden_channels=4).config[
      'memory'] == 'auto'
  assert tfp_glow.glow((8, 8, 3), 2, 1, hidden_channels=4,
                       fused=False).config['memory'] == 'store'
  assert tfp_glow.glow((8, 8, 3), 2, 1, hidden_channels=4, fused=False,
                       memory='auto').config['memory'] == 'store'
  # The default budget stores the benchmark's K=8 model and recomputes at
  # K=32 (32x32x3, L=3, width 400, batch 16).
  for k, expected in ((8, 'store'), (32, 'invertible')):
    plan = tfp_glow.memory_plan(
        tfp_glow.glow((32, 32, 3), 3, k, hidden_channels=400), 16)
    assert plan['memory'] == expected
    assert plan['budget'] == memory_budget.DEFAULT_BUDGET
  with pytest.raises(ValueError, match='memory_budget'):
    tfp_glow.glow((8, 8, 3), 2, 1, hidden_channels=4, memory_budget=0)

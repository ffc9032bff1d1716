"""The one place the project touches Keras' private names.

Two private uses by `train.optim`, each with its public fallback (correct,
slower):

- `_all_reduce_sum_gradients(grads_and_vars)`, the hook through which Keras'
  TensorFlow optimizer sums gradients over replicas in `apply`. The trainer
  hands the optimizer gradients it has already summed (the global norm it
  logs and clips is then the same on every replica), so `PreReducedGradients`
  makes the hook the identity. Fallback: divide the gradients by the number
  of replicas before `apply`, so that Keras' sum gives them back (one
  all-reduce more per step).
- `_get_variable_index(variable)` and the slot lists `_momentums` /
  `_velocities` (Adam) and `_m` / `_u` (Adamax): the first and second
  moments of a variable, which `Adam`/`Adamax` hand to one fused
  `ResourceApply*` kernel. Fallback: Keras' own `update_step` (about 40 ops
  per variable instead of one).

`tests/test_compat.py` fails, naming the symbol, when one disappears or stops
meaning this, and runs the fallbacks.
"""

import keras
import tensorflow as tf

__all__ = ['ALL_REDUCE_HOOK', 'ADAM_SLOTS', 'ADAMAX_SLOTS',
           'PreReducedGradients', 'all_reduce_hook_works', 'slots']

ALL_REDUCE_HOOK = 'keras.optimizers.Optimizer._all_reduce_sum_gradients'
# The slot lists of a variable's two moments, by optimizer.
ADAM_SLOTS = ('_momentums', '_velocities')
ADAMAX_SLOTS = ('_m', '_u')


def all_reduce_hook_works():
  """Whether Keras' optimizer still sums gradients through the hook."""
  return any('_all_reduce_sum_gradients' in vars(base)
             for base in keras.optimizers.Optimizer.__mro__)


class PreReducedGradients:
  """Mixin for a `keras.optimizers.Optimizer`: `apply` takes gradients
  already summed over replicas, and does not sum them again."""

  def _all_reduce_sum_gradients(self, grads_and_vars):
    return list(grads_and_vars)

  def apply(self, grads, trainable_variables=None):
    context = tf.distribute.get_replica_context()
    if not all_reduce_hook_works() and context is not None and (
        context.num_replicas_in_sync > 1):
      scale = 1. / context.num_replicas_in_sync
      grads = [None if g is None else g * tf.cast(scale, g.dtype)
               for g in grads]
    return super().apply(grads, trainable_variables)


def slots(optimizer, variable, names):
  """The slot variables `names` (e.g. `ADAM_SLOTS`) of `variable`, or `None`
  where Keras no longer keeps them under those names and shapes."""
  try:
    index = optimizer._get_variable_index(variable)  # pylint: disable=protected-access
    found = tuple(getattr(optimizer, name)[index] for name in names)
  except (AttributeError, KeyError, IndexError, TypeError):
    return None
  if any(s.shape != variable.shape or s.dtype != variable.dtype
         for s in found):
    return None
  return found

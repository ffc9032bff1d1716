"""The one place the project touches TensorFlow's private names.

It lives in `bijectors/`, the package every other one imports. Two private
uses, each with its public fallback (correct, slower or larger):

- `tensorflow.python.ops.control_flow_util.GraphOrParentsInXlaContext`: the
  check TensorFlow's own `TensorArray` makes for "this graph is compiled by
  XLA". `stacked_rows` writes gradient rows in place outside XLA and into a
  `TensorArray` under XLA. Fallback: answer yes, the `TensorArray` (correct
  everywhere, one more copy of the stacked gradients at the end of a level's
  backward pass).
- `tf.__internal__.distribute.strategy_supports_no_merge_call()`: whether the
  strategy updates variables without `merge_call`, as Keras'
  `LossScaleOptimizer` asks. Fallback: answer no, the `merge_call` path,
  which every strategy supports (one synchronisation of the replicas per
  step where it was not needed).

`tests/test_compat.py` fails, naming the symbol, when one disappears or stops
meaning this, and runs the fallbacks.
"""

import tensorflow as tf

__all__ = ['XLA_CONTEXT', 'NO_MERGE_CALL', 'in_xla_context',
           'strategy_supports_no_merge_call', 'xla_context_check',
           'no_merge_call_check']

XLA_CONTEXT = ('tensorflow.python.ops.control_flow_util.'
               'GraphOrParentsInXlaContext')
NO_MERGE_CALL = 'tf.__internal__.distribute.strategy_supports_no_merge_call'


def xla_context_check():
  """TensorFlow's `GraphOrParentsInXlaContext(graph)`, or `None`."""
  try:
    # pylint: disable-next=g-import-not-at-top,g-direct-tensorflow-import
    from tensorflow.python.ops import control_flow_util
    return control_flow_util.GraphOrParentsInXlaContext
  except (ImportError, AttributeError):
    return None


def no_merge_call_check():
  """TensorFlow's `strategy_supports_no_merge_call()`, or `None`."""
  try:
    return tf.__internal__.distribute.strategy_supports_no_merge_call
  except AttributeError:
    return None


def in_xla_context():
  """Whether the graph being built is compiled by XLA (`jit_compile=True`);
  yes where TensorFlow no longer says."""
  if tf.executing_eagerly():
    return False
  check = xla_context_check()
  if check is None:
    return True
  return check(tf.compat.v1.get_default_graph())


def strategy_supports_no_merge_call():
  """Whether the current strategy updates variables without `merge_call`;
  no where TensorFlow no longer says."""
  check = no_merge_call_check()
  return False if check is None else check()

"""A `[K, ...]` tensor built one row per loop iteration, without a final copy.

    rows = stacked_rows.zeros_like(stacked)          # before the loop
    [rows] = stacked_rows.write([rows], k, [row])    # in the loop body
    tensor = stacked_rows.stack(rows)                # after the loop

A `tf.TensorArray` keeps its rows as separate tensors, and `stack()` copies
them into a new one: while it does, the rows exist twice. For the gradients
of `GlowSteps`' stacked parameters that is twice a level's gradients at the
end of its backward pass (50 MiB for the last level at K=32, width 400: the
peak of the whole training step). Outside XLA the rows are instead written
into one zeroed buffer in place (`tf.raw_ops.InplaceUpdate`, which aliases
its input), so `stack` is free. The buffer comes from `tf.raw_ops.Empty`,
which is stateful: Grappler neither folds it into a constant nor merges two
of them, so each accumulator owns its buffer. XLA has no `InplaceUpdate`
kernel, and compiles a `TensorArray` into one buffer updated in place anyway,
so under XLA the rows are a `TensorArray` (how we know we are under XLA is
private to TensorFlow: see `_tf_compat`).

Only for accumulators whose buffer nothing else reads while they are written
(the loop's own state).
"""

import tensorflow as tf

from bijectors import _tf_compat

__all__ = ['stack', 'write', 'zeros_like']


def zeros_like(stacked):
  """An accumulator for rows shaped like `stacked[k]`, `K = len(stacked)`,
  initially zero."""
  if _tf_compat.in_xla_context():
    return tf.TensorArray(stacked.dtype, size=tf.shape(stacked)[0],
                          element_shape=stacked.shape[1:])
  return tf.raw_ops.Empty(shape=tf.shape(stacked), dtype=stacked.dtype,
                          init=True)


def write(accumulators, k, rows):
  """`accumulators[i][k] = rows[i]` for each `i`; returns the accumulators
  (loop variables). The index is built once for all of them."""
  if not accumulators:
    return []
  if isinstance(accumulators[0], tf.TensorArray):
    return [a.write(k, row) for a, row in zip(accumulators, rows)]
  index = tf.reshape(k, [1])
  axis = tf.constant(0)
  return [tf.raw_ops.InplaceUpdate(x=a, i=index,
                                   v=tf.expand_dims(row, axis))
          for a, row in zip(accumulators, rows)]


def stack(rows):
  """The `[K, ...]` tensor of the rows written."""
  if isinstance(rows, tf.TensorArray):
    return rows.stack()
  return rows

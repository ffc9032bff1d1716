"""`[K, ...]` tensors read and built one row per loop iteration.

Reading: the loops of `GlowSteps` take step `k`'s parameters as row `k` of
stacked tensors; the loop that autodiff differentiates (`memory='store'`)
reads them as

    stacked = stacked_rows.readable(tensors)         # before the loop
    p = stacked_rows.read(stacked, k)                # in the loop body

`readable` turns each floating tensor into a `tf.TensorArray` of its rows.
A plain row gather `tf.gather(t, k)` would do the same forward, but its
gradient is `IndexedSlices`, which the gradient of a `tf.while_loop`
densifies to all of `t` and adds to its accumulator in every iteration:
`O(K)` full-size work per step, `O(K^2)` per backward pass (at the
benchmark's K=8 it was about 45 ms of a 470 ms training step run op by op).
A `TensorArray` row's gradient is one row of a gradient `TensorArray`,
stacked once after the loop: `O(K)`, and dense.

Building:

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

__all__ = ['read', 'readable', 'stack', 'write', 'zeros_like']


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


def readable(tensors):
  """`{name: tensor}` with each floating `[K, ...]` tensor as a
  `tf.TensorArray` of its `K` rows (integer tensors, which have no
  gradient, stay tensors); for `read`."""
  def rows(t):
    size = t.shape[0] if t.shape[0] is not None else tf.shape(t)[0]
    return tf.TensorArray(t.dtype, size=size,
                          element_shape=t.shape[1:]).unstack(t)
  return {n: rows(t) if t.dtype.is_floating else t
          for n, t in tensors.items()}


def read(stacked, k):
  """Row `k` of each tensor or `TensorArray` of `stacked`, by name."""
  axis = tf.constant(0)  # One constant for all the gathers.
  return {n: t.read(k) if isinstance(t, tf.TensorArray)
          else tf.gather(t, k, axis=axis) for n, t in stacked.items()}

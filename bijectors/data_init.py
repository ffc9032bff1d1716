"""When a forward pass runs the data-dependent initialization.

ActNorm ([1] Section 3.1) sets its parameters from the first batch it sees.
Every bijector that does so (`ActNorm`, `AffineCoupling`'s hidden ActNorms,
`GlowSteps`) keeps a boolean variable `initialized`, checkpointed, and asks
`init_mode(initialized)` on each forward pass:

* `SKIP`: initialized already (read when the pass is traced: the flag never
  goes back), or in a `tf.distribute` replica context, where each replica
  would see different data (initialize in cross-replica context instead);
* `EAGER`: not yet, executing eagerly: initialize now;
* `TRACED`: not yet, inside a `tf.function`: the graph must branch on the
  flag (`tf.cond`), since the function may run again once it is set.

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import tensorflow as tf

__all__ = ['EAGER', 'SKIP', 'TRACED', 'apply_or_initialize', 'init_mode',
           'moments_init']

SKIP, EAGER, TRACED = 'skip', 'eager', 'traced'


def init_mode(initialized):
  """`SKIP`, `EAGER` or `TRACED` for a pass of a layer with this flag."""
  if tf.distribute.has_strategy() and (
      not tf.distribute.in_cross_replica_context()):
    return SKIP
  with tf.init_scope():  # The flag's value now, also while tracing.
    if bool(initialized.numpy()):
      return SKIP
  return EAGER if tf.executing_eagerly() else TRACED


def apply_or_initialize(initialized, apply, initialize):
  """`apply()`, or `initialize()` (which sets the flag) on the pass that is
  due to initialize: by `init_mode`, directly, or as a `tf.cond` on the
  flag when traced. Both callables return the same structure."""
  mode = init_mode(initialized)
  if mode == SKIP:
    return apply()
  if mode == EAGER:
    return initialize()
  return tf.cond(initialized, apply, initialize)


def moments_init(x):
  """ActNorm's data-dependent values for input `x`: per channel (last axis),

    shift = -mean(x),   log_scale = -log(std(x) + 1e-6)   (openai/glow),

  so that `(x + shift) * exp(log_scale)` has zero mean and unit variance.
  """
  mean, variance = tf.nn.moments(x, axes=list(range(x.shape.rank - 1)))
  return -mean, -tf.math.log(tf.sqrt(variance) + 1e-6)

"""Back-propagation through one piece of a flow step, given only its output.

`GlowSteps(memory='invertible')` does not store activations: its backward
pass recomputes each piece's input from its output and differentiates the
piece there. A piece (a `Permutation` or a `CouplingTransform`) that defines
only `forward` and `inverse` gets that backward pass from `vjp_from_output`:
invert, then differentiate the forward map at the recomputed input. The
built-in pieces override it with the closed forms in their docstrings, which
cost no second forward pass.
"""

import tensorflow as tf

__all__ = ['vjp_from_output']


def vjp_from_output(forward, inverse, y, dy, dlog_det, params):
  """Input, input gradient and parameter gradients of `forward`, from its output.

  Args:
    forward: `(x, params) -> (y, log_det)`.
    inverse: `(y, params) -> (x, log_det)`.
    y: the output of `forward`.
    dy: `d loss / d y`.
    dlog_det: `d loss / d log_det`, shaped like `forward`'s log-det.
    params: dict of tensors; the floating ones get gradients.

  Returns:
    `(x, dx, {name: d loss / d params[name]})`, the gradients `None` for
    non-floating parameters.
  """
  x, _ = inverse(y, params)
  x = tf.stop_gradient(x)
  watched = {n: t for n, t in params.items() if t.dtype.is_floating}
  with tf.GradientTape() as tape:
    tape.watch([x] + list(watched.values()))
    y_again, log_det = forward(x, {**params, **watched})
  dx, d_params = tape.gradient(
      [y_again, log_det], [x, watched],
      output_gradients=[dy, tf.cast(dlog_det, log_det.dtype) +
                        tf.zeros_like(log_det)])
  grads = {n: d_params.get(n) for n in params}
  return x, dx, grads

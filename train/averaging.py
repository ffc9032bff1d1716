"""Polyak averaging: evaluate, sample and export with averaged weights.

With `--ema_momentum=m > 0` the optimizer keeps, for every trainable
variable `w`, an exponential moving average of its values after each update
(Keras' `use_ema`, the average starting at the first step's weights):

    w_avg <- m w_avg + (1 - m) w

openai/glow does the same (its `polyak_epochs`, with `m = 1 - 1 / (steps
per epoch x polyak_epochs)`) and reports test bits/dim and draws samples
with the averaged weights, which average out the step-to-step noise of Adam
at a constant learning rate over the last ~`1 / (1 - m)` steps. (On the
1,200-step demo it did not help: the weights still move too fast there for
an average of them to be a better model; README, "Training".)

Training keeps updating the raw weights `w`; the averages are optimizer
variables, so checkpoints hold both and a resumed run continues both (the
optimizers of `train.optim` keep Keras' `fit` from overwriting the weights
with the averages when it ends).
`AveragedWeights.swapped_in()` puts the averages into the model for the
length of a block (test evaluations during training, sample grids) and puts
the raw weights back after; `adopt()` puts them in for good at the end of a
run, before the final evaluation, figures and SavedModel.
"""

import contextlib

import keras
import tensorflow as tf

__all__ = ['AveragedWeights', 'AveragedEvaluation']


class AveragedWeights:
  """The moving averages of `variables` kept by `optimizer` (one of
  `train.optim`'s), swapped into them on request; a no-op when the
  optimizer keeps no averages."""

  def __init__(self, optimizer, variables):
    self._optimizer = optimizer
    self._variables = list(variables)
    self.enabled = bool(getattr(optimizer, 'use_ema', False))

  @contextlib.contextmanager
  def swapped_in(self):
    """The averaged weights in the model inside the block, the raw weights
    again after it (also when the block raises)."""
    if not self.enabled:
      yield
      return
    raw = [tf.identity(v) for v in self._variables]
    self.adopt()
    try:
      yield
    finally:
      for variable, value in zip(self._variables, raw):
        variable.assign(value)

  def adopt(self):
    """Puts the averaged weights into the model for good."""
    if self.enabled:
      self._optimizer.put_averages_in(self._variables)


class AveragedEvaluation(keras.callbacks.Callback):
  """Keras' test evaluations during `fit` run on the averaged weights."""

  def __init__(self, averaged):
    super().__init__()
    self._averaged = averaged
    self._block = None

  def on_test_begin(self, logs=None):
    self._block = self._averaged.swapped_in()
    self._block.__enter__()

  def on_test_end(self, logs=None):
    block, self._block = self._block, None
    if block is not None:
      block.__exit__(None, None, None)

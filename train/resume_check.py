"""Before a run resumes a workdir: do its flags build the model it saved?

`check(config, image_shape)` compares the flags that decide the checkpoint's
variables (and what they mean) with `<workdir>/config.json`, and the image
shape the data gives with `<workdir>/image_shape.json`, before anything is
written. A mismatch raises `ResumeMismatch` with one line naming each
differing flag and its two values; the workdir is left as it was.
"""

import json
import os

import tensorflow as tf

__all__ = ['ARCHITECTURE_FLAGS', 'CONFIG_FILE', 'IMAGE_SHAPE_FILE',
           'ResumeMismatch', 'check', 'saved_run']

CONFIG_FILE = 'config.json'
# Beside config.json: the shape the model was built for, which the data
# decides (`python -m train.export` rebuilds the model from both).
IMAGE_SHAPE_FILE = 'image_shape.json'

# The flags a checkpoint's variables depend on (shapes and slots: flow,
# levels, depth, width, coupling, permutation, learn_top_prior,
# hidden_actnorm, num_classes, optimizer, ema_momentum (the averages are
# optimizer variables); fused: stacked or per-step
# variables, see tfp_glow.convert), and n_bits, which changes what the
# trained density means without changing a shape.
ARCHITECTURE_FLAGS = ('flow', 'levels', 'depth', 'width', 'coupling',
                      'permutation', 'learn_top_prior', 'hidden_actnorm',
                      'fused', 'conditional', 'num_classes', 'optimizer',
                      'ema_momentum', 'n_bits')

# What a workdir whose config.json predates a flag was trained with.
_BEFORE_THE_FLAG = {'ema_momentum': 0.}


class ResumeMismatch(ValueError):
  """The flags do not describe the run saved in the workdir."""


def saved_run(workdir):
  """`(config dict, image shape list)` saved in `workdir`; None if absent."""
  def read(name):
    path = os.path.join(workdir, name)
    if not tf.io.gfile.exists(path):
      return None
    with tf.io.gfile.GFile(path) as f:
      return json.load(f)

  config, shape = read(CONFIG_FILE), read(IMAGE_SHAPE_FILE)
  return config, (shape or {}).get('image_shape')


def check(config, image_shape):
  """Raises `ResumeMismatch` if `config` cannot resume its workdir.

  Only a workdir with a checkpoint is checked (a run without one starts
  afresh); flags the workdir's config.json lacks are not compared, except
  those whose value before the flag existed is known (`_BEFORE_THE_FLAG`).
  """
  workdir = config.workdir
  if not tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints')):
    return
  saved, saved_shape = saved_run(workdir)
  differences = []
  for name in ARCHITECTURE_FLAGS:
    if not saved or (name not in saved and name not in _BEFORE_THE_FLAG):
      continue
    old = saved.get(name, _BEFORE_THE_FLAG.get(name))
    if old != getattr(config, name):
      differences.append((f'--{name}', old, getattr(config, name)))
  image_shape = [int(d) for d in image_shape]
  if saved_shape and list(saved_shape) != image_shape:
    for i, name in ((0, '--image_size'), (2, '--channels')):
      if saved_shape[i] != image_shape[i]:
        differences.append((name, saved_shape[i], image_shape[i]))
  if differences:
    raise ResumeMismatch(
        f'cannot resume {workdir}: its checkpoint was trained with '
        + ', '.join(f'{flag}={_show(old)}' for flag, old, _ in differences)
        + '; these flags say '
        + ', '.join(f'{flag}={_show(new)}' for flag, _, new in differences)
        + '. Use the saved flags or another --workdir; nothing was changed.')


def _show(value):
  if isinstance(value, bool):
    return str(value).lower()
  return str(value)

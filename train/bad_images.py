"""Unreadable files in an image folder, found before training starts.

`find(files, channels)` decodes every file once, in parallel, with the
decoder the training pipeline uses (`tf.io.decode_image`), and returns the
files it cannot decode with the decoder's reason. `train.data.load` then
stops with their paths (`--bad_images=stop`) or drops and counts them
(`--bad_images=skip`): either way before the first step, never mid-run.
"""

import tensorflow as tf

from tfp_glow import console

__all__ = ['describe', 'find']


def _decode(filename, channels):
  return tf.io.decode_image(tf.io.read_file(filename), channels=channels,
                            expand_animations=False)


def find(files, channels):
  """`[(path, reason)]` of the `files` that do not decode, in order."""
  readable = tf.data.Dataset.from_tensor_slices(list(files)).map(
      lambda f: (f, tf.shape(_decode(f, channels))),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
  good = {f.decode() for f, _ in readable.ignore_errors().as_numpy_iterator()}
  bad = []
  for path in files:
    if path not in good:
      try:
        _decode(path, channels)
        reason = 'unreadable'
      except (tf.errors.OpError, ValueError) as e:
        reason = console.message(e)
      bad.append((path, reason))
  return bad


def describe(bad, most=5):
  """One line naming the unreadable files (the first `most`) and why."""
  shown = '; '.join(f'{path} ({reason})' for path, reason in bad[:most])
  more = f'; and {len(bad) - most} more' if len(bad) > most else ''
  return f'{len(bad)} unreadable image file(s): {shown}{more}'

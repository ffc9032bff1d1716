"""Temporaries a killed run leaves in its workdir, removed on the next start.

A kill during a save leaves `checkpoints/ckpt-N_temp*/` (TensorFlow writes a
checkpoint's shards there before it publishes them) and during an export
`export/.tmp-*` (the version directory is written beside its target and
renamed). Neither is ever read again. `remove(workdir)` deletes them; call it
only while holding the workdir's lock (`train.workdir_lock`), when no other
run can be writing them.
"""

import os

import tensorflow as tf

__all__ = ['PATTERNS', 'remove']

PATTERNS = (os.path.join('checkpoints', 'ckpt-*_temp*'),
            os.path.join('export', '.tmp-*'))


def remove(workdir):
  """Deletes stale temporaries in `workdir`; returns their paths."""
  removed = []
  for pattern in PATTERNS:
    for path in sorted(tf.io.gfile.glob(os.path.join(workdir, pattern))):
      if tf.io.gfile.isdir(path):
        tf.io.gfile.rmtree(path)
      else:
        tf.io.gfile.remove(path)
      removed.append(path)
  return removed

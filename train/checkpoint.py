"""Checkpoints in `<workdir>/checkpoints`: periodic, final, resumable.

A `tf.train.CheckpointManager` writes each checkpoint's files completely before
it atomically rewrites the `checkpoint` index that names the latest one, so a
crash mid-save leaves the previous checkpoint as the latest: a half-written
checkpoint is never restored. It keeps the last `keep` checkpoints.

Multi-worker: every worker takes part in each save (the variables are
distributed), but only the chief writes into the workdir; the others write to
a scratch directory that is deleted after each save.
"""

import os

import tensorflow as tf

__all__ = ['Checkpointer']


class Checkpointer:
  """Saves and restores the distribution, the optimizer and the counters."""

  def __init__(self, workdir, keep, chief=True, worker=0, **trackables):
    self.directory = os.path.join(workdir, 'checkpoints')
    self._chief = chief
    self._checkpoint = tf.train.Checkpoint(**trackables)
    directory = self.directory if chief else os.path.join(
        workdir, 'tmp', f'worker_{worker}', 'checkpoints')
    self._scratch = None if chief else directory
    self._manager = tf.train.CheckpointManager(
        self._checkpoint, directory, max_to_keep=keep)

  @property
  def latest(self):
    """Path of the newest complete checkpoint in the workdir, or None."""
    return tf.train.latest_checkpoint(self.directory)

  def restore_latest(self):
    """Restores the newest checkpoint; returns its path or None."""
    path = self.latest
    if path:
      # Everything was created before restoring (the optimizer is built), so
      # every value must be matched: a mismatch is a different model.
      self._checkpoint.restore(path).assert_existing_objects_matched()
    return path

  def save(self, step):
    """Writes checkpoint `step` (on the chief: into the workdir)."""
    path = self._manager.save(checkpoint_number=int(step))
    if self._scratch and tf.io.gfile.exists(self._scratch):
      tf.io.gfile.rmtree(self._scratch)
    return path if self._chief else None

"""One training run per workdir: an exclusive lock on `<workdir>/.lock`.

    with workdir_lock.WorkdirLock(workdir):   # raises WorkdirLocked at once
      ...                                     # if another run holds it

The lock is a `fcntl.flock` on the file, so the kernel releases it when its
process exits in any way, kill -9 included: a lock file left by a killed run
is stale by construction and the next run takes it over (and says so). The
file names the holder (pid, host, start time, command) for the message a
second run prints. It is removed on release, so a run that is refused, or
that finishes, leaves the workdir as it found it.

Only local workdirs are locked; a remote one (`gs://...`) has no `flock` and
is used unlocked, as before.
"""

import fcntl
import json
import os
import socket
import sys
import time

__all__ = ['LOCK_FILE', 'WorkdirLock', 'WorkdirLocked']

LOCK_FILE = '.lock'


class WorkdirLocked(ValueError):
  """Another process holds the workdir; the message names it."""


class WorkdirLock:
  """An exclusive, non-blocking lock on a workdir (a context manager)."""

  def __init__(self, workdir):
    self.workdir = workdir
    self.path = os.path.join(workdir, LOCK_FILE)
    self.took_over = None  # The stale holder's record, when there was one.
    self._fd = None
    self._created_workdir = False

  def acquire(self):
    """Takes the lock or raises `WorkdirLocked`; returns self."""
    if '://' in self.workdir:
      return self
    if not os.path.isdir(self.workdir):
      _make_workdir(self.workdir)
      self._created_workdir = True
    while True:
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except BlockingIOError:
        holder = _read(fd)
        os.close(fd)
        self._remove_created_workdir()
        raise WorkdirLocked(
            f'{self.workdir} is in use by another run ({_describe(holder)}); '
            'wait for it to finish, stop it, or use another --workdir.'
        ) from None
      # A holder that released and removed the file between our open and
      # our flock leaves us locking an unlinked file: start again.
      try:
        same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
      except FileNotFoundError:
        same = False
      if same:
        break
      os.close(fd)
    stale = _read(fd)
    if stale:
      self.took_over = stale
      print(f'Taking over the stale lock of a run that ended without '
            f'releasing it ({_describe(stale)}).', flush=True)
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(dict(
        pid=os.getpid(), host=socket.gethostname(),
        started=time.strftime('%Y-%m-%d %H:%M:%S'),
        command=' '.join([os.path.basename(sys.executable)] + sys.argv),
    )).encode(), 0)
    os.fsync(fd)
    self._fd = fd
    return self

  def release(self):
    """Removes the lock file and releases the lock (idempotent)."""
    if self._fd is None:
      return
    try:
      os.unlink(self.path)
    except FileNotFoundError:
      pass
    os.close(self._fd)  # Closing releases the flock.
    self._fd = None
    self._remove_created_workdir()

  def _remove_created_workdir(self):
    if self._created_workdir:
      try:
        os.rmdir(self.workdir)  # Only if this run left it empty.
      except OSError:
        pass
      self._created_workdir = False

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *exc_info):
    self.release()


def _read(fd):
  try:
    return json.loads(os.pread(fd, 4096, 0).decode() or 'null')
  except ValueError:
    return {'unreadable': True}


def _describe(holder):
  if not holder:
    return 'unknown process'
  if holder.get('unreadable'):
    return 'lock file unreadable'
  return (f'pid {holder.get("pid")} on {holder.get("host")}, started '
          f'{holder.get("started")}: {holder.get("command")}')


def _make_workdir(workdir):
  """Creates `workdir` (and its parents), or raises `ValueError` naming the
  flag and why: a file in its place, or a parent that cannot be written."""
  if os.path.exists(workdir):
    raise ValueError(f'--workdir={workdir} is a file, not a directory; '
                     'give a directory (it is created if missing).')
  try:
    os.makedirs(workdir)
  except OSError as e:
    where = e.filename if e.filename and e.filename != workdir else None
    raise ValueError(
        f'--workdir={workdir} cannot be created: {e.strerror or e}'
        + (f' ({where})' if where else '') + '.') from None

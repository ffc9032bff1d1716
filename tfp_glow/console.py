"""Command-line entry points: an error is one line and a non-zero exit.

    def console_main(argv=None):
      return console.run(lambda: main(argv), console.debug_requested(argv))

A bad path, model, image or number raises somewhere below the entry point;
`run` prints it as `error: <message>` on stderr (an `OSError` as its path
and reason, a TensorFlow error as its first line without TensorFlow's node
decorations) and returns the exit status. With `--debug` among the
arguments the exception propagates, traceback and all.
"""

import argparse
import errno
import os
import re
import sys

from tfp_glow import _quiet_start

__all__ = ['ArgumentParser', 'DEBUG_FLAG', 'DEBUG_HELP', 'check_output_file',
           'check_output_folder', 'debug_requested', 'message',
           'non_negative_int', 'positive_int', 'run']

DEBUG_FLAG = '--debug'
DEBUG_HELP = 'on an error, show the traceback instead of one line'
# Exceptions that describe bad input; any other type is named in the line.
_INPUT_ERRORS = (OSError, ValueError, TypeError, LookupError, RuntimeError)


def debug_requested(argv=None):
  """Whether `--debug` is among `argv` (None: `sys.argv[1:]`)."""
  return DEBUG_FLAG in (sys.argv[1:] if argv is None else argv)


def check_output_folder(path):
  """Raises the error `os.makedirs(path, exist_ok=True)` would raise for a
  file at `path` or above it, without creating anything: a command checks
  its output folder before its slow work, so a bad one costs nothing."""
  target = existing = os.path.abspath(path)
  while not os.path.exists(existing):
    parent = os.path.dirname(existing)
    if parent == existing:
      return
    existing = parent
  if os.path.isdir(existing):
    return
  if existing == target:
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
  raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)


def check_output_file(path):
  """Raises the error writing a file at `path` (its folder made first)
  would raise for a folder at `path` or a file where its folder would be,
  without creating anything."""
  if os.path.isdir(path):
    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
  check_output_folder(os.path.dirname(os.path.abspath(path)))


def message(error):
  """One line that says what went wrong in `error`."""
  text = getattr(error, 'message', None)  # tf.errors.OpError
  if isinstance(error, OSError) and error.filename and error.strerror:
    text = f'{error.filename}: {error.strerror}'
    if (isinstance(error, FileExistsError) and
        os.path.exists(error.filename) and not os.path.isdir(error.filename)):
      # os.makedirs of an output folder where a file is.
      text = f'{error.filename} is a file, where a folder was to be made'
  text = str(error if text is None else text)
  if isinstance(error, KeyError) and error.args:
    text = str(error.args[0])
  text = re.sub(r'\{\{[^}]*\}\}', '', text)  # {{function_node ...}}
  text = re.sub(r'\s*\[Op:[^\]]*\]( name:\s*\S*)?\s*$', '', text)  # Eager ops.
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  text = lines[0] if lines else type(error).__name__
  if not isinstance(error, _INPUT_ERRORS) and not hasattr(error, 'message'):
    text = f'{type(error).__name__}: {text} ({DEBUG_FLAG} shows where)'
  return text


def run(main, debug=False, statuses=None):
  """`main()`'s exit status (0 for None), or an error's after one line.

  Args:
    main: the command, a function of no arguments; it may return a status.
    debug: let exceptions propagate (`--debug`).
    statuses: `{exception type: exit status}`; others exit 1.
  """
  try:
    status = main()
  except Exception as e:  # pylint: disable=broad-except
    if debug:
      raise
    print(f'error: {message(e)}', file=sys.stderr, flush=True)
    for kind, code in (statuses or {}).items():
      if isinstance(e, kind):
        return code
    return 1
  return status or 0


def _bounded_int(low, what):
  def parse(text):
    try:
      value = int(text)
    except ValueError:
      value = None
    if value is None or value < low:
      raise argparse.ArgumentTypeError(f'expected {what}, got {text!r}')
    return value

  parse.__name__ = what  # argparse names the type in its messages.
  return parse


# argparse `type`s for counts and sizes: a bad number is a usage error.
positive_int = _bounded_int(1, 'a positive integer')
non_negative_int = _bounded_int(0, 'an integer >= 0')


class ArgumentParser(argparse.ArgumentParser):
  """An `argparse.ArgumentParser` whose usage errors are one line (exit 2);
  `--help` still shows the usage. It accepts `--tf_logs`, which keeps
  TensorFlow's start-up lines (read before TensorFlow starts:
  `tfp_glow/_quiet_start.py`)."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    try:
      self.add_argument(_quiet_start.TF_LOGS_FLAG, action='store_true',
                        help=_quiet_start.TF_LOGS_HELP)
    except argparse.ArgumentError:  # A parent parser gave it already.
      pass

  def error(self, message):
    self.exit(2, f'{self.prog}: error: {message} (--help shows the usage)\n')

"""TensorFlow's start-up lines, hidden when one of our commands starts.

Importing TensorFlow prints lines on file descriptor 2 (absl's "All log
messages before absl::InitializeLog()", oneDNN, cpu_feature_guard, "Could
not find cuda drivers", a failing `cuInit`), whatever TF_CPP_MIN_LOG_LEVEL
says. Our command-line programs (`python -m train.main`, `train.export`,
`tfp_glow.latent`, `tfp_glow.illusions`, `tfp_glow.diagnostics`, ...) start
without them: `tfp_glow/__init__.py` imports TensorFlow through
`tensorflow_quieted` when `is_our_command()`. `--tf_logs` on the command
line brings them back. A program that imports `tfp_glow` as a library (a
notebook, a user's script, pytest) is left alone.

No TensorFlow import here: this module runs before it.
"""

import contextlib
import os
import shutil
import sys
import tempfile

__all__ = ['TF_LOGS_FLAG', 'TF_LOGS_HELP', 'is_our_command',
           'tensorflow_quieted']

_PACKAGES = ('tfp_glow', 'train', 'bijectors')


def is_our_command(argv=None):
  """Whether this process is one of our programs, starting.

  `python -m tfp_glow.latent ...` imports its packages while `sys.argv[0]`
  is still `'-m'`; `python -m train.main` imports `tfp_glow` from
  `train/main.py`, a file of ours.
  """
  argv = sys.argv if argv is None else argv
  if not argv:
    return False
  if argv[0] == '-m':
    return True
  main = os.path.abspath(argv[0])
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  return any(main.startswith(os.path.join(root, package) + os.sep)
             for package in _PACKAGES)


TF_LOGS_FLAG = '--tf_logs'
TF_LOGS_HELP = (
    "Show TensorFlow's own C++ logs (start-up, oneDNN, CUDA); by default they "
    'are hidden, and on a machine without an NVIDIA driver CUDA is not tried. '
    'Read before TensorFlow starts: give it on the command line, not in a '
    'flag file.')


def tensorflow_quieted(argv):
  """A context for `import tensorflow`: its C++ logs hidden unless --tf_logs.

  TensorFlow prints its start-up lines (absl's "All log messages before
  absl::InitializeLog()", oneDNN, cpu_feature_guard, "Could not find cuda
  drivers") on file descriptor 2 while it is imported, whatever
  TF_CPP_MIN_LOG_LEVEL says; they are held back and shown only if the import
  fails. TF_CPP_MIN_LOG_LEVEL=3 hides its later ones, and without an NVIDIA
  driver no GPU is made visible, so the failing `cuInit` is never tried (a
  machine with a GPU keeps it). Variables already set are kept.
  """
  if any(arg in (TF_LOGS_FLAG, TF_LOGS_FLAG + '=true', TF_LOGS_FLAG + '=1')
         for arg in argv):
    return contextlib.nullcontext()
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  if not (os.path.exists('/proc/driver/nvidia') or shutil.which('nvidia-smi')):
    os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
  return _stderr_held_back()


@contextlib.contextmanager
def _stderr_held_back():
  """File descriptor 2 goes to a temporary file, replayed if the block raises."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as held:
    os.dup2(held.fileno(), 2)
    try:
      yield
    except BaseException:
      os.dup2(saved, 2)
      held.seek(0)
      os.write(2, held.read())
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)



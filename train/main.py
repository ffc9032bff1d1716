"""Trains Glow: `python -m train.main --flagfile=demo.flags` (see *.flags)."""

import contextlib
import os
import shutil
import sys
import tempfile

TF_LOGS_FLAG = '--tf_logs'
TF_LOGS_HELP = (
    "Show TensorFlow's own C++ logs (start-up, oneDNN, CUDA); by default they "
    'are hidden, and on a machine without an NVIDIA driver CUDA is not tried. '
    'Read before TensorFlow starts: give it on the command line, not in a '
    'flag file.')


def _tensorflow_quieted(argv):
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


with _tensorflow_quieted(sys.argv[1:]):
  import tensorflow  # pylint: disable=g-import-not-at-top,unused-import

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

import train
from tfp_glow import console
from train import flags as flags_lib
from train import run_summary

flags_lib.define(flags.FLAGS)
flags.DEFINE_bool('debug', False, console.DEBUG_HELP)
flags.DEFINE_bool(TF_LOGS_FLAG[2:], False, TF_LOGS_HELP)


def keras_note(environ=os.environ):
  """A start-up note where `TF_USE_LEGACY_KERAS` makes `tf.keras` tf-keras:
  the trainer is Keras 3 either way."""
  if environ.get('TF_USE_LEGACY_KERAS') not in ('1', 'true', 'True'):
    return None
  import keras  # pylint: disable=g-import-not-at-top
  return (f'note: TF_USE_LEGACY_KERAS={environ["TF_USE_LEGACY_KERAS"]} makes '
          f'tf.keras tf-keras; this trainer uses Keras {keras.__version__} '
          '(`import keras`) either way.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)
  note = keras_note()
  if note:
    print(note, file=sys.stderr, flush=True)
  sys.exit(console.run(_train, debug=flags.FLAGS.debug))


def _train():
  """The exit status: 0, 1 (stopped on NaN, diverged), 128 + a signal."""
  config = flags_lib.from_flag_values(flags.FLAGS)
  result = train.run(config)
  if result['interrupted']:
    return 128 + int(result['interrupted'])
  if result['diverged']:
    print(f'error: {result["diverged"]}', file=sys.stderr, flush=True)
    return 1
  if result['nan_stopped']:
    return 1
  print(run_summary.ending(result, config), flush=True)
  return 0


if __name__ == '__main__':
  app.run(main)

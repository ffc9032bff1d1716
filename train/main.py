"""Trains Glow: `python -m train.main --flagfile=demo.flags` (see *.flags)."""

import os
import sys

# First: importing tfp_glow from this file imports TensorFlow without its
# start-up lines (tfp_glow/_quiet_start.py; --tf_logs keeps them).
from tfp_glow import _quiet_start

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

import train
from tfp_glow import console
from train import flags as flags_lib
from train import run_summary

flags_lib.define(flags.FLAGS)
# --help and --helpshort list the main module's flags: make them these.
flags.adopt_module_key_flags(flags_lib)
flags.DEFINE_bool('debug', False, console.DEBUG_HELP)
flags.DEFINE_bool(_quiet_start.TF_LOGS_FLAG[2:], False,
                  _quiet_start.TF_LOGS_HELP)


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
    print(f'error: unexpected arguments {argv[1:]}: every option is a flag, '
          '--name=value (--helpshort lists them)', file=sys.stderr, flush=True)
    sys.exit(2)
  logging.set_verbosity(logging.WARNING)
  note = keras_note()
  if note:
    print(note, file=sys.stderr, flush=True)
  sys.exit(console.run(_train, debug=flags.FLAGS.debug))


def _train():
  """The exit status: 0, 1 (stopped on NaN, diverged), 128 + a signal."""
  config = flags_lib.from_flag_values(flags.FLAGS)
  return report(train.run(config), config)


def report(result, config):
  """Prints how a run ended (the ending, on the chief only: the other
  workers of a multi-worker run wrote nothing the user looks at); returns
  the exit status."""
  if result['interrupted']:
    return 128 + int(result['interrupted'])
  if result['diverged']:
    print(f'error: {result["diverged"]}', file=sys.stderr, flush=True)
    return 1
  if result['nan_stopped']:
    return 1
  if result['chief']:
    print(run_summary.ending(result, config), flush=True)
  return 0


def parse_flags(argv):
  """absl's flag parsing, whose errors (an unknown flag, a bad value, a
  missing --flagfile) are one `error:` line and exit status 2, like every
  other refused run, instead of absl's `FATAL Flags parsing error` pair."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    text = str(e).strip()
    text = text[len('ERROR::'):].strip() if text.startswith('ERROR::') else text
    print(f'error: {text} (--helpshort lists the flags)', file=sys.stderr,
          flush=True)
    sys.exit(2)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)

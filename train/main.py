"""Trains Glow: `python -m train.main --flagfile=demo.flags` (see *.flags)."""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

import train
from train import data as data_lib
from train import flags as flags_lib

flags_lib.define(flags.FLAGS)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)
  try:
    config = flags_lib.from_flag_values(flags.FLAGS)
    result = train.run(config)
  except (ValueError, data_lib.DatasetError) as e:
    sys.exit(f'error: {e}')
  if result['interrupted']:
    sys.exit(128 + int(result['interrupted']))
  if result['nan_stopped']:
    sys.exit(1)


if __name__ == '__main__':
  app.run(main)

"""`python -m tfp_glow.diagnostics`: see `tfp_glow.diagnostics.cli`."""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from tfp_glow.diagnostics import cli  # pylint: disable=g-import-not-at-top

if __name__ == '__main__':
  sys.exit(cli.console_main())

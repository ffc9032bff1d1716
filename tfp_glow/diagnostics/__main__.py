"""`python -m tfp_glow.diagnostics`: see `tfp_glow.diagnostics.cli`."""

import sys

from tfp_glow.diagnostics import cli

if __name__ == '__main__':
  sys.exit(cli.console_main())

"""`python -m tfp_glow.illusions`: see `tfp_glow.illusions.cli`."""

import sys

from tfp_glow.illusions import cli

if __name__ == '__main__':
  sys.exit(cli.console_main())

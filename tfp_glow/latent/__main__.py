"""`python -m tfp_glow.latent`: see `tfp_glow.latent.cli`."""

import sys

from tfp_glow.latent import cli

if __name__ == '__main__':
  sys.exit(cli.console_main())

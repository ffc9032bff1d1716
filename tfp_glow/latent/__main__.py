"""`python -m tfp_glow.latent`: see `tfp_glow.latent.cli`."""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from tfp_glow.latent import cli  # pylint: disable=g-import-not-at-top

if __name__ == '__main__':
  sys.exit(cli.console_main())

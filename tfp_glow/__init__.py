"""tfp-glow: Glow (Kingma & Dhariwal 2018) as a TFP distribution."""

import sys as _sys

from tfp_glow import _quiet_start

if 'tensorflow' not in _sys.modules and _quiet_start.is_our_command():
  with _quiet_start.tensorflow_quieted(_sys.argv[1:]):
    import tensorflow as _tf  # pylint: disable=g-import-not-at-top,unused-import

# pylint: disable=g-import-not-at-top,g-bad-import-order
from tfp_glow import classifier
from tfp_glow.codec import decode
from tfp_glow.codec import encode
from tfp_glow.codec import sample
from tfp_glow.dequantization import bits_per_dim
from tfp_glow.dequantization import dequantize
from tfp_glow.forms import convert
from tfp_glow.forms import restore
from tfp_glow.model import GlowDistribution
from tfp_glow.model import glow
from tfp_glow.model import initialize
from tfp_glow.model import memory_plan

__all__ = [
    'GlowDistribution',
    'classifier',
    'convert',
    'bits_per_dim',
    'decode',
    'dequantize',
    'encode',
    'glow',
    'initialize',
    'memory_plan',
    'restore',
    'sample',
]

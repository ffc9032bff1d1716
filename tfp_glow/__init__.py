"""tfp-glow: Glow (Kingma & Dhariwal 2018) as a TFP distribution."""

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

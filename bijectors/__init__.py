"""Glow's building blocks as `tfp.bijectors.Bijector`s.

Every bijector's `forward` is the paper's direction, data to latent
(`X -> Y` in [1] Table 1); a generative model wraps the chain in
`tfb.Invert`, as `tfp_glow.glow` does.

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

from bijectors.actnorm import ActNorm
from bijectors.affine_coupling import AffineCoupling
from bijectors.conditional import ClassConditionalPrior
from bijectors.conditional import ConditionalChain
from bijectors.coupling_network import CouplingNetwork
from bijectors.factor_out import FactorOut
from bijectors.glow_steps import GlowSteps
from bijectors.invertible_1x1_conv import Invertible1x1Conv
from bijectors.learned_prior_split import LearnedPriorSplit
from bijectors.squeeze import Squeeze

__all__ = [
    'ActNorm',
    'AffineCoupling',
    'ClassConditionalPrior',
    'ConditionalChain',
    'CouplingNetwork',
    'FactorOut',
    'GlowSteps',
    'Invertible1x1Conv',
    'LearnedPriorSplit',
    'Squeeze',
]

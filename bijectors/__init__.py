"""Glow's building blocks as `tfp.bijectors.Bijector`s.

Every bijector's `forward` is the paper's direction, data to latent
(`X -> Y` in [1] Table 1); a generative model wraps the chain in
`tfb.Invert`, as `tfp_glow.glow` does.

A flow step is `ActNorm -> Invertible1x1Conv -> AffineCoupling`; `GlowSteps`
runs `K` of them as one loop, with the same functions. The permutation and
the coupling's map are pluggable by name (`register_permutation`,
`register_coupling`).

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

# The built-in permutations register in the paper's order: lu, plain, then
# the fixed ablations.
from bijectors import invertible_1x1_conv  # pylint: disable=unused-import
from bijectors import fixed_permutation  # pylint: disable=unused-import
from bijectors import memory_budget  # pylint: disable=unused-import
from bijectors.actnorm import ActNorm
from bijectors.affine_coupling import AdditiveTransform
from bijectors.affine_coupling import AffineCoupling
from bijectors.affine_coupling import AffineTransform
from bijectors.conditional import ClassConditionalPrior
from bijectors.conditional import ConditionalChain
from bijectors.coupling_network import CouplingNetwork
from bijectors.couplings import CouplingTransform
from bijectors.couplings import coupling_names
from bijectors.couplings import get_coupling
from bijectors.couplings import register_coupling
from bijectors.factor_out import FactorOut
from bijectors.fixed_permutation import FixedPermutation
from bijectors.glow_steps import GlowSteps
from bijectors.invertible_1x1_conv import Invertible1x1Conv
from bijectors.invertible_1x1_conv import LUConv
from bijectors.invertible_1x1_conv import PlainConv
from bijectors.learned_prior_split import LearnedPriorSplit
from bijectors.permutations import Permutation
from bijectors.permutations import get_permutation
from bijectors.permutations import permutation_names
from bijectors.permutations import register_permutation
from bijectors.squeeze import Squeeze

__all__ = [
    'ActNorm',
    'AdditiveTransform',
    'AffineCoupling',
    'AffineTransform',
    'ClassConditionalPrior',
    'ConditionalChain',
    'CouplingNetwork',
    'CouplingTransform',
    'FactorOut',
    'FixedPermutation',
    'GlowSteps',
    'Invertible1x1Conv',
    'LUConv',
    'LearnedPriorSplit',
    'Permutation',
    'PlainConv',
    'Squeeze',
    'coupling_names',
    'get_coupling',
    'get_permutation',
    'permutation_names',
    'register_coupling',
    'register_permutation',
]

"""The distribution a run trains, built from its flags.

`build_flow(config, image_shape)` is `tfp_glow.glow` (`--flow=tfp_glow`) or
the `tfp.bijectors.Glow` baseline (`--flow=tfb_glow`) at the configured
architecture. A workdir keeps what rebuilding it takes: `config.json` (the
flags) and `IMAGE_SHAPE_FILE` (the shape the data gave), so that
`python -m train.export` and a resumed run build the same model.
"""

import tfp_glow
from train import baseline
from train import flags as flags_lib
from train import resume_check

__all__ = ['IMAGE_SHAPE_FILE', 'build_flow']

IMAGE_SHAPE_FILE = resume_check.IMAGE_SHAPE_FILE


def build_flow(config, image_shape):
  """The distribution `--flow` names, at the configured architecture."""
  if config.flow == 'tfb_glow':
    return baseline.tfb_glow(image_shape, config.levels, config.depth,
                             config.width, seed=config.seed)
  return tfp_glow.glow(
      image_shape, num_levels=config.levels, num_steps=config.depth,
      hidden_channels=config.width, coupling=config.coupling,
      permutation=config.permutation, learn_top_prior=config.learn_top_prior,
      num_classes=config.num_classes or None,
      hidden_actnorm=config.hidden_actnorm, memory=config.memory,
      compute_dtype=flags_lib.PRECISIONS[config.precision],
      # XLA on CPU runs convolution gradients inside while loops slowly.
      unroll_steps=config.jit_compile, fused=config.fused, seed=config.seed)

"""The distribution a run trains, built from its flags.

`build_flow(config, image_shape)` is `tfp_glow.glow` (`--flow=tfp_glow`) or
the `tfp.bijectors.Glow` baseline (`--flow=tfb_glow`) at the configured
architecture. A workdir keeps what rebuilding it takes: `config.json` (the
flags) and `IMAGE_SHAPE_FILE` (the shape the data gave), so that
`python -m train.export` and a resumed run build the same model.
"""

import bijectors
import tfp_glow
from train import baseline
from train import flags as flags_lib
from train import resume_check

__all__ = ['IMAGE_SHAPE_FILE', 'build_flow', 'describe_memory',
           'memory_budget_bytes']

IMAGE_SHAPE_FILE = resume_check.IMAGE_SHAPE_FILE


def memory_budget_bytes(config):
  """`--memory_budget` in bytes; `None` for the default (1 GiB)."""
  return int(config.memory_budget * 2**30) if config.memory_budget else None


def describe_memory(config, dist, replica_batch_size):
  """One line: the gradient memory mode a replica batch gets, and why."""
  if config.flow != 'tfp_glow':
    return None
  plan = tfp_glow.memory_plan(dist, replica_batch_size)
  if plan['budget'] is None:
    return f'Memory: {plan["memory"]} (--memory={config.memory}).'
  fmt = bijectors.memory_budget.format_bytes
  relation = 'fit' if plan['memory'] == 'store' else 'exceed'
  return (f'Memory: {plan["memory"]} (--memory=auto: the activations of a '
          f'batch of {replica_batch_size}, about '
          f'{fmt(plan["store_bytes"])}, {relation} the '
          f'{fmt(plan["budget"])} budget; --memory_budget sets it).')


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
      memory_budget=memory_budget_bytes(config),
      compute_dtype=flags_lib.PRECISIONS[config.precision],
      # XLA on CPU runs convolution gradients inside while loops slowly.
      unroll_steps=config.jit_compile, fused=config.fused, seed=config.seed)

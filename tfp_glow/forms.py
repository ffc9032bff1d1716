"""A Glow's two forms, fused loop and chain of single bijectors, as one model.

`tfp_glow.glow(..., fused=True)` runs each level's `K` flow steps as one
`GlowSteps` loop; `fused=False` builds them as the chain of `K x [ActNorm,
Invertible1x1Conv, AffineCoupling]`. The weights are the same numbers in
both, stored differently (stacked along `K`, or one set per bijector):

    chain = tfp_glow.convert(dist, fused=False)     # same weights, chain form
    actnorm, conv, coupling = tfp_glow.model.step_blocks(chain)[0][3]
    wide = tfp_glow.convert(dist, dtype=tf.float64)  # same weights, float64
    tfp_glow.restore(dist, checkpoint_path)          # either form's checkpoint

`convert` also changes any other option that leaves the weights' shapes
alone (`memory`, `compute_dtype`, `unroll_steps`, `validate_args`, `dtype`).
"""

import tensorflow as tf

import bijectors
from bijectors import glow_steps
from tfp_glow import model as model_lib

__all__ = ['convert', 'copy_weights', 'restore']


def convert(dist, **overrides):
  """A new Glow with `dist`'s weights and configuration, except `overrides`.

  Args:
    dist: a Glow from `tfp_glow.glow`.
    **overrides: `glow()` keyword arguments to change, e.g. `fused=False`,
      `dtype=tf.float64`, `memory='store'`.

  Returns:
    The new `GlowDistribution`, its weights (and ActNorm `initialized`
    flags) copied from `dist`, cast to its dtype.
  """
  config = dist.config
  config.update(overrides)
  if 'fused' in overrides and 'memory' not in overrides:
    config['memory'] = None  # The new form's default.
  target = model_lib.glow(**config)
  copy_weights(dist, target)
  return target


def copy_weights(source, target):
  """Assigns `source`'s weights to `target`, two Glows of one architecture
  in either form and any dtype."""
  sources, targets = _holders(source), _holders(target)
  if [kind for kind, _ in sources] != [kind for kind, _ in targets]:
    raise ValueError('copy_weights: the two models have different '
                     'architectures.')
  for (kind, a), (_, b) in zip(sources, targets):
    if kind == 'steps':
      _assign_steps(b, _read_steps(a))
    else:
      _assign_variables(a.variables, b.variables)


def restore(dist, checkpoint):
  """Restores a checkpoint of `dist` saved in either form into `dist`.

  `checkpoint` is a path written by `tf.train.Checkpoint(dist=...)`, e.g. the
  training program's `<workdir>/checkpoints/ckpt-N` (the optimizer's state in
  it is ignored). Returns `dist`.
  """
  if _restore_matched(dist, checkpoint):
    return dist
  other = model_lib.glow(**{**dist.config, 'fused': not _fused(dist),
                            'memory': None})
  if not _restore_matched(other, checkpoint):
    raise ValueError(f'{checkpoint} is not a checkpoint of this Glow in '
                     'either form (fused or chain): its variables do not '
                     'match the model\'s.')
  copy_weights(other, dist)
  return dist


def _restore_matched(dist, checkpoint):
  """Restores `checkpoint` into `dist`; whether every variable matched."""
  status = tf.train.Checkpoint(dist=dist).read(checkpoint)
  try:
    status.assert_existing_objects_matched()
  except AssertionError:
    status.expect_partial()  # No warnings about the other form's values.
    return False
  return True


def _fused(dist):
  return dist.config.get('fused', True)


def _holders(dist):
  """What holds `dist`'s weights, in order: `('steps', block)` per level
  and `('module', m)` for every other module with variables."""
  blocks = iter(model_lib.step_blocks(dist))
  holders = []
  for bijector in model_lib.forward_order(dist.encoder):
    if isinstance(bijector, bijectors.GlowSteps) or (
        isinstance(bijector, bijectors.ConditionalChain)):
      holders.append(('steps', next(blocks)))
    elif bijector.variables and not isinstance(bijector,
                                               bijectors.FactorOut):
      holders.append(('module', bijector))
  if dist.classifier is not None:
    holders.append(('module', dist.classifier))
  return holders


def _read_steps(block):
  """`(values per step, initialized)` of a level's steps in either form."""
  if isinstance(block, bijectors.GlowSteps):
    return ([block.step_values(k) for k in range(block.num_steps)],
            bool(block.initialized.numpy()))
  values = [glow_steps.single_step_values(step) for step in block]
  initialized = all(bool(step[0].initialized.numpy()) and
                    bool(step[2].network.initialized.numpy())
                    for step in block)
  return values, initialized


def _assign_steps(block, steps):
  values, initialized = steps
  if isinstance(block, bijectors.GlowSteps):
    for k, value in enumerate(values):
      block.assign_step_values(k, value)
    block.initialized.assign(initialized)
    return
  for step, value in zip(block, values):
    glow_steps.assign_single_step(step, value)
    step[0].initialized.assign(initialized)
    step[2].network.initialized.assign(initialized)


def _assign_variables(sources, targets):
  if [tuple(v.shape) for v in sources] != [tuple(v.shape) for v in targets]:
    raise ValueError('copy_weights: the two models have different '
                     'architectures.')
  for a, b in zip(sources, targets):
    b.assign(tf.cast(a, b.dtype))

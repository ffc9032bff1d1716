"""The baseline: `tfp.bijectors.Glow` at the same L, K and width, as a flow
over images in `[0, 1]` that the trainer can train like `tfp_glow.glow`.

    dist = tfb_glow((32, 32, 1), num_levels=3, num_steps=8, hidden_channels=64)
    dist.log_prob(images)          # images in [0, 1]^D, as tfp_glow.glow

TFP's `Glow` maps a flat latent to an image in its `forward` direction, with
ActNorm (data-dependent init on the first call), an LU 1x1 convolution and an
affine coupling whose network is `tfb.GlowDefaultNetwork(width)` (3x3 conv,
1x1 conv, zero-initialised 3x3 conv, `exp` scale), half of the channels
leaving after every level but the last through `GlowDefaultExitNetwork`. The
chain here adds `Shift(0.5)` so that, like ours, it models `[0, 1]` images
centred on 0.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['TfbGlowDistribution', 'tfb_glow']


class TfbGlowDistribution(tfd.TransformedDistribution):
  """`tfp.bijectors.Glow` as a distribution over `[0, 1]` images."""

  def __init__(self, image_shape, num_levels, num_steps, hidden_channels,
               seed=0, dtype=tf.float32, name='TfbGlow'):
    parameters = dict(locals())
    self._image_shape = tuple(int(d) for d in image_shape)
    self._config = dict(flow='tfb_glow', image_shape=list(self._image_shape),
                        num_levels=int(num_levels), num_steps=int(num_steps),
                        hidden_channels=int(hidden_channels), seed=int(seed),
                        coupling='affine', permutation='lu')
    size = int(np.prod(self._image_shape))
    with tf.name_scope(name):
      glow = tfb.Glow(
          output_shape=self._image_shape,
          num_glow_blocks=int(num_levels),
          num_steps_per_block=int(num_steps),
          coupling_bijector_fn=lambda shape: tfb.GlowDefaultNetwork(
              shape, num_hidden=int(hidden_channels)),
          exit_bijector_fn=tfb.GlowDefaultExitNetwork,
          seed=int(seed))
      bijector = tfb.Chain([tfb.Shift(tf.constant(0.5, dtype)), glow])
    super().__init__(
        distribution=tfd.Sample(tfd.Normal(tf.zeros([], dtype),
                                           tf.ones([], dtype)),
                                sample_shape=[size]),
        bijector=bijector, parameters=parameters, name=name)

  @property
  def image_shape(self):
    return self._image_shape

  @property
  def config(self):
    return dict(self._config)

  def _log_prob(self, value, **kwargs):
    # A fresh tensor per call: TFP's bijector cache keys on the input tensor.
    return super()._log_prob(tf.identity(value), **kwargs)

  @classmethod
  def _parameter_properties(cls, dtype=None, num_classes=None):
    return dict()


def tfb_glow(image_shape, num_levels, num_steps, hidden_channels=512, seed=0):
  """The baseline at `tfp_glow.glow`'s architecture arguments."""
  return TfbGlowDistribution(image_shape, num_levels, num_steps,
                             hidden_channels, seed=seed)


def initialize(dist, images):
  """ActNorm data-dependent init: TFP's ActNorm initializes on first use."""
  return dist.log_prob(images)

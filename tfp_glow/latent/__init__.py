"""Latent-space tools: exact encode/decode, interpolation, temperature, attributes.

A Glow is a bijection, so `decode(encode(x)) == x` up to float error and every
operation on images can be written on their latents `z` (`tfp_glow.encode`'s
flat `[N, D]` vector, `z ~ N(0, I)` under the model):

    model = latent.load('/tmp/glow_demo')          # an export or a workdir
    model = latent.from_distribution(dist, n_bits=5)  # or in process
    z = model.encode(images)                       # float images in [0, 1]
    grid = latent.interpolate(model, x0, x1, steps=8, method='spherical')
    grid = latent.temperature_grid(model, [0., .5, .7, 1.], n_per=8)
    v = latent.attribute_vector(model, images, mask=smiling)
    grid = latent.manipulate(model, x, v, alphas=[-1., 0., 1.])
    latent.save_grid('grid.png', model.to_uint8(grid))

`attribute_vector` is openai/glow's `get_manipulators`: the mean latent of the
images with an attribute minus the mean latent of those without ([1] Section
5, Figure 5); `attribute_vectors_from_tfds` computes them for CelebA's 40
attributes or any boolean or label feature of a tfds dataset.

The modules: `models` (`LatentModel`, `load`), `pixels` (uint8 <-> float,
fitting images to the model), `interpolation`, `temperature`, `attributes`
(vectors, manipulation, tfds attribute masks), `grids` (PNG grids) and `cli`,
the command line that writes PNG grids:

    python -m tfp_glow.latent sample --model=/tmp/glow_demo --out=samples.png
    python -m tfp_glow.latent interpolate --model=... --out=interp.png
    python -m tfp_glow.latent manipulate --model=... --attribute=label=1 ...
    python -m tfp_glow.latent reconstruct --model=... --out=recon.png

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

from tfp_glow.embedded_data import embedded_digit_rows
from tfp_glow.embedded_data import embedded_mnist
from tfp_glow.latent import attributes
from tfp_glow.latent import cli
from tfp_glow.latent import grids
from tfp_glow.latent import interpolation
from tfp_glow.latent import models
from tfp_glow.latent import pixels
from tfp_glow.latent import temperature
from tfp_glow.latent.attributes import attribute_masks
from tfp_glow.latent.attributes import attribute_vector
from tfp_glow.latent.attributes import attribute_vectors
from tfp_glow.latent.attributes import attribute_vectors_from_tfds
from tfp_glow.latent.attributes import load_tfds
from tfp_glow.latent.attributes import manipulate
from tfp_glow.latent.cli import console_main
from tfp_glow.latent.cli import main
from tfp_glow.latent.grids import image_grid
from tfp_glow.latent.grids import save_grid
from tfp_glow.latent.interpolation import METHODS
from tfp_glow.latent.interpolation import interpolate
from tfp_glow.latent.interpolation import lerp
from tfp_glow.latent.interpolation import slerp
from tfp_glow.latent.models import DistributionLatentModel
from tfp_glow.latent.models import LatentModel
from tfp_glow.latent.models import SavedModelLatentModel
from tfp_glow.latent.models import from_distribution
from tfp_glow.latent.models import load
from tfp_glow.latent.models import resolve_saved_model
from tfp_glow.latent.pixels import CROPS
from tfp_glow.latent.pixels import fit_images
from tfp_glow.latent.pixels import from_uint8
from tfp_glow.latent.pixels import to_uint8
from tfp_glow.latent.temperature import temperature_grid

__all__ = [
    'CROPS', 'DistributionLatentModel', 'LatentModel', 'METHODS',
    'SavedModelLatentModel', 'attribute_masks', 'attribute_vector',
    'attribute_vectors', 'attribute_vectors_from_tfds', 'attributes', 'cli',
    'console_main', 'embedded_digit_rows', 'embedded_mnist', 'fit_images',
    'from_distribution', 'from_uint8', 'grids', 'image_grid', 'interpolate',
    'interpolation', 'lerp', 'load', 'load_tfds', 'main', 'manipulate',
    'models', 'pixels', 'resolve_saved_model', 'save_grid', 'slerp',
    'temperature', 'temperature_grid', 'to_uint8',
]

"""Writes the photographs that ship in scikit-image, scikit-learn and
matplotlib as an image folder, split into `train/` and `heldout/`, for the
embedded models.

    python -m tfp_glow.illusions.make_patches --out=/tmp/photos

writes `/tmp/photos/train/*.png`, `/tmp/photos/heldout/*.png` and
`/tmp/photos/manifest.json` (source, size and split of every image). Images
are resized (Lanczos) to a short side of `--short-side` pixels (256, as [1]'s
training data) so the training program's random 16x16 crops see the scale
the illusion sweeps and heatmaps assume. Nothing is downloaded: every image
is a file inside the installed wheels.

Colour photographs of natural scenes only, by default: microscopy, medical
and astronomical images, drawings and synthetic patterns are left out.
`--grayscale` adds the natural greyscale photographs (as R = G = B), which
teaches the model grey patches but biases its colour statistics.

[1]: Hirsch & Tal. arXiv 2005.08772 (Places images, short side 256).
"""

import argparse
import os

import numpy as np

from tfp_glow.illusions import heatmap
from tfp_glow.illusions import sweep

__all__ = ['COLOUR', 'GRAYSCALE', 'HELDOUT', 'load', 'write']

# name -> (package, loader name)
COLOUR = {
    'astronaut': ('skimage', 'astronaut'),
    'chelsea': ('skimage', 'chelsea'),
    'coffee': ('skimage', 'coffee'),
    'rocket': ('skimage', 'rocket'),
    'motorcycle_left': ('skimage', 'stereo_motorcycle'),
    'motorcycle_right': ('skimage', 'stereo_motorcycle'),
    'china': ('sklearn', 'china.jpg'),
    'flower': ('sklearn', 'flower.jpg'),
    'grace_hopper': ('matplotlib', 'grace_hopper.jpg'),
}
GRAYSCALE = {
    'camera': ('skimage', 'camera'),
    'coins': ('skimage', 'coins'),
    'moon': ('skimage', 'moon'),
    'brick': ('skimage', 'brick'),
    'grass': ('skimage', 'grass'),
    'gravel': ('skimage', 'gravel'),
    'clock': ('skimage', 'clock'),
}
# One photograph from each package, not seen in training; their bits/dim is
# the embedded model's held-out score. (The motorcycle stereo pair shares a
# scene, so both halves stay on one side of the split.)
HELDOUT = ('coffee', 'flower')


def load(name):
  """The named photograph as uint8 RGB `[H, W, 3]`."""
  table = {**COLOUR, **GRAYSCALE}
  if name not in table:
    raise ValueError(f'unknown photograph {name!r}; known: {sorted(table)}.')
  package, loader = table[name]
  if package == 'sklearn':
    from sklearn import datasets  # pylint: disable=g-import-not-at-top
    data = datasets.load_sample_image(loader)
  elif package == 'matplotlib':
    from matplotlib import cbook  # pylint: disable=g-import-not-at-top
    from PIL import Image  # pylint: disable=g-import-not-at-top
    with cbook.get_sample_data(loader) as f:
      data = np.asarray(Image.open(f).convert('RGB'))
  else:
    from skimage import data as skdata  # pylint: disable=g-import-not-at-top
    data = getattr(skdata, loader)()
    if loader == 'stereo_motorcycle':
      data = data[0] if name.endswith('left') else data[1]
  data = np.asarray(data)
  if data.ndim == 2:
    data = np.repeat(data[..., np.newaxis], 3, axis=-1)
  return data[..., :3].astype(np.uint8)


def write(out_dir, short_side=256, grayscale=False, heldout=HELDOUT):
  """Writes `out_dir/{train,heldout}/<name>.png` and `manifest.json`.

  Returns:
    The manifest dict.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  names = list(COLOUR) + (list(GRAYSCALE) if grayscale else [])
  unknown = set(heldout) - set(names)
  if unknown:
    raise ValueError(f'held-out photographs {sorted(unknown)} are not among '
                     f'those written: {names}.')
  manifest = dict(short_side=short_side, grayscale=grayscale, images={})
  for name in names:
    image = load(name)
    original = list(image.shape)
    image = heatmap.resize_short_side(image, short_side)
    split = 'heldout' if name in heldout else 'train'
    path = os.path.join(out_dir, split, f'{name}.png')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path)
    package, loader = {**COLOUR, **GRAYSCALE}[name]
    manifest['images'][name] = dict(
        split=split, path=os.path.relpath(path, out_dir), source=package,
        loader=loader, original_shape=original, shape=list(image.shape))
  sweep.write_json(os.path.join(out_dir, 'manifest.json'), manifest)
  return manifest


def main(argv=None):
  p = argparse.ArgumentParser(prog='python -m tfp_glow.illusions.make_patches',
                              description=__doc__.split('\n\n')[0])
  p.add_argument('--out', required=True)
  p.add_argument('--short-side', type=int, default=256,
                 help='resize so the short side has this many pixels (0: '
                 'keep)')
  p.add_argument('--grayscale', action='store_true',
                 help='add the natural greyscale photographs')
  args = p.parse_args(argv)
  manifest = write(args.out, args.short_side, args.grayscale)
  for name, entry in manifest['images'].items():
    print(f"{entry['split']:8s} {name:18s} {entry['shape']}")


if __name__ == '__main__':
  main()

"""`python -m tfp_glow.diagnostics --model=DIR`: invertibility, measured.

    python -m tfp_glow.diagnostics --model=/tmp/glow_demo
    python -m tfp_glow.diagnostics --model=DIR --train_images=a.png,b.png \\
        --other_images=embedded_mnist --out=report.json

Prints (and with `--out` writes) a JSON report: for the training images,
uniform noise and images of another dataset, the float32 model's
reconstruction error and log-det gap, and its distance from a float64 copy
of the same weights (see `tfp_glow.diagnostics.measures`).
"""

import json
import os

import numpy as np

from tfp_glow import console
from tfp_glow import embedded_data
from tfp_glow.diagnostics import measures
from tfp_glow.illusions import stimuli
from tfp_glow.latent import grids
from tfp_glow.latent import pixels

__all__ = ['console_main', 'main', 'parser']

EMBEDDED = 'embedded_mnist'
STIMULI = 'stimuli'


def parser():
  """The argument parser of `python -m tfp_glow.diagnostics`."""
  p = console.ArgumentParser(
      prog='python -m tfp_glow.diagnostics',
      description='Numerical invertibility of a Glow export on its '
      'training images, on noise and on another dataset, in float32 '
      'against a float64 copy of the same weights (arXiv 2006.09347).')
  p.add_argument(
      '--model', required=True,
      help='a SavedModel export of tfp_glow: a version directory, an export '
      'directory (its newest version) or a training workdir')
  p.add_argument(
      '--train_images', default=None,
      help=f'comma-separated image files, or {EMBEDDED}; default: '
      f'{EMBEDDED} for a model trained on it (else required)')
  p.add_argument(
      '--other_images', default=None,
      help=f'comma-separated image files, {EMBEDDED} or {STIMULI} (the '
      f'illusion stimuli); default: {STIMULI} for a model trained on '
      f'{EMBEDDED}, else {EMBEDDED}')
  p.add_argument('--n', type=console.positive_int, default=64,
                 help='images per set')
  p.add_argument('--seed', type=int, default=0, help='seed of the noise')
  p.add_argument('--labels', type=console.non_negative_int, default=None,
                 help='the class of every image, for a class-conditional '
                 'model')
  p.add_argument('--out', default=None,
                 help='also write the report (JSON) to this file; its folder '
                 'is made if missing')
  p.add_argument(console.DEBUG_FLAG, action='store_true',
                 help=console.DEBUG_HELP)
  return p


def _images(source, config, n):
  """uint8 images `[<=n, H, W, C]` of `source`, fit to the model."""
  shape = tuple(config['image_shape'])
  crop = config.get('crop') or 'none'
  if source == EMBEDDED:
    raw, _ = embedded_data.embedded_mnist(np.arange(n) * (5000 // n))
    return pixels.fit_images(raw, shape, 'none')
  if source == STIMULI:
    raw = stimuli.brightness_illusion().sweep('dark')  # 256 RGB squares.
    return pixels.fit_images(raw[np.linspace(0, 255, n).astype(int)], shape,
                             'none')
  paths = [p for p in source.split(',') if p]
  return pixels.fit_images(grids.read_images(paths[:n]), shape, crop,
                           config.get('crop_size') or 0)


def main(argv=None):
  """Runs the diagnostics; prints and returns the report."""
  args = parser().parse_args(argv)
  if args.out:
    console.check_output_file(args.out)  # Before loading the model.
  dist, config = measures.load_saved_model(args.model)
  trained_on = config.get('dataset')
  train = args.train_images or (EMBEDDED if trained_on == EMBEDDED else None)
  if train is None:
    raise ValueError(f'the model was trained on {trained_on!r}: pass '
                     '--train_images=<comma-separated image files>.')
  other = args.other_images or (STIMULI if trained_on == EMBEDDED else
                                EMBEDDED)
  sets = measures.image_sets(
      config['image_shape'], _images(train, config, args.n),
      _images(other, config, args.n), args.n, args.seed)
  labels = None
  if dist.num_classes:
    if args.labels is None:
      raise ValueError(f'the model is class-conditional '
                       f'({dist.num_classes} classes): pass --labels=K.')
    labels = args.labels
  summary = dict(model=args.model, train_images=train, other_images=other,
                 sets={})
  reference = measures.float64_copy(dist)
  for name, images in sets.items():
    batch_labels = None if labels is None else np.full(len(images), labels,
                                                       np.int32)
    summary['sets'].update(measures.report(
        dist, {name: images}, batch_labels, reference))
  text = json.dumps(summary, indent=2, sort_keys=True)
  if args.out:
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
      f.write(text + '\n')
  print(text)
  return summary


def console_main(argv=None):
  """`main` with errors as one line on stderr and exit status 1
  (2: no SavedModel at --model); `--debug` shows the traceback."""
  def run():
    main(argv)

  return console.run(run, console.debug_requested(argv),
                     statuses={FileNotFoundError: 2})

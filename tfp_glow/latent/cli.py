"""`python -m tfp_glow.latent`: PNG grids from a Glow export.

    python -m tfp_glow.latent sample --model=/tmp/glow_demo --out=samples.png
    python -m tfp_glow.latent interpolate --model=... --out=interp.png
    python -m tfp_glow.latent manipulate --model=... --attribute=label=1 ...
    python -m tfp_glow.latent reconstruct --model=... --out=recon.png
"""

import argparse
import json

import numpy as np

from tfp_glow import console
from tfp_glow import embedded_data
from tfp_glow.latent import attributes
from tfp_glow.latent import grids
from tfp_glow.latent import interpolation
from tfp_glow.latent import models
from tfp_glow.latent import pixels
from tfp_glow.latent import temperature

__all__ = ['console_main', 'main', 'parser']

EMBEDDED = 'embedded_mnist'
DEFAULT_PAIR = (2, 7)  # The digits `interpolate` shows by default.


def _comma_separated(convert, what):
  """An argparse `type`: comma-separated values, each `convert`ed; a bad one
  is an error naming `what` was expected."""

  def parse(text):
    try:
      return [convert(v) for v in text.split(',') if v.strip()]
    except ValueError:
      raise argparse.ArgumentTypeError(
          f'expected comma-separated {what}, got {text!r}') from None

  return parse


_floats = _comma_separated(float, 'numbers')
_ints = _comma_separated(int, 'integers')


def _paths(text):
  return [p for p in text.split(',') if p]


def parser():
  """The argument parser of `python -m tfp_glow.latent`."""
  common = argparse.ArgumentParser(add_help=False)
  common.add_argument(
      '--model', required=True,
      help='a SavedModel export: a version directory, an export directory '
      '(its newest version) or a training workdir (<workdir>/export/ newest)')
  common.add_argument('--out', required=True,
                      help='the image to write: .png (or .jpg, .gif, ...)')
  common.add_argument('--scale', type=console.positive_int, default=1,
                      help='enlarge each tile this many times (nearest)')
  common.add_argument('--pad', type=console.non_negative_int, default=2,
                      help='pixels between tiles')
  common.add_argument('--seed', type=int, default=0)
  common.add_argument(
      '--labels', type=_ints, default=None,
      help='class-conditional models: comma-separated class ids. sample: a '
      'block of rows per class (default: every class); other commands: one '
      'per image, or one for all (default: the embedded digits\' own '
      'labels)')
  common.add_argument('--batch_size', type=console.positive_int, default=64)
  common.add_argument(console.DEBUG_FLAG, action='store_true',
                      help=console.DEBUG_HELP)
  images = argparse.ArgumentParser(add_help=False)
  images.add_argument(
      '--images', type=_paths, default=None,
      help='comma-separated image files, fit to the model (see --crop)')
  images.add_argument(
      '--dataset_index', type=_ints, default=None,
      help='comma-separated rows of the embedded MNIST digits (0..4999, '
      'sorted by digit: rows 500*k..500*k+499 are k)')
  images.add_argument('--crop', choices=pixels.CROPS, default=None,
                      help='fitting images to the model; default: the '
                      'training run\'s --crop, else none')
  images.add_argument('--crop_size', type=int, default=None)

  top = console.ArgumentParser(
      prog='python -m tfp_glow.latent',
      description='PNG grids from a Glow export: samples at several '
      'temperatures, interpolations, attribute manipulation, '
      'reconstructions.')
  commands = top.add_subparsers(dest='command', required=True)
  sample = commands.add_parser(
      'sample', parents=[common],
      help='a row of samples per temperature (the same draws in every row)')
  sample.add_argument('--temperatures', type=_floats,
                      default=[0., 0.5, 0.7, 1.])
  sample.add_argument('--n', type=console.positive_int, default=8,
                      help='samples per row')

  interp = commands.add_parser(
      'interpolate', parents=[common, images],
      help='a row per consecutive pair of images (default: an embedded 2 and '
      '7)')
  interp.add_argument('--steps', type=console.positive_int, default=8)
  interp.add_argument('--method', choices=interpolation.METHODS,
                      default='linear')

  manip = commands.add_parser(
      'manipulate', parents=[common, images],
      help='a row per image, a column per alpha: z + alpha * (attribute '
      'vector)')
  manip.add_argument(
      '--attribute', required=True,
      help='a boolean feature (CelebA: Smiling, Eyeglasses, ...) or '
      'FEATURE=VALUE (label=7)')
  manip.add_argument('--alphas', type=_floats, default=[-1., -0.5, 0., 0.5,
                                                        1.])
  manip.add_argument(
      '--dataset', default=EMBEDDED,
      help='the images of the attribute vector: a tfds name (celeb_a) or '
      f'{EMBEDDED} (attribute label=K); default: %(default)s')
  manip.add_argument('--split', default='train')
  manip.add_argument('--data_dir', default=None)
  manip.add_argument('--num_examples', type=console.positive_int,
                     default=1000,
                     help='images averaged for the vector')
  manip.add_argument('--num_images', type=console.positive_int, default=4,
                     help='images to manipulate when no --images or '
                     '--dataset_index is given')

  recon = commands.add_parser(
      'reconstruct', parents=[common, images],
      help='the images (top row) and decode(encode(images)) (bottom row)')
  recon.add_argument('--n', type=console.positive_int, default=8,
                     help='embedded digits 0..n-1 when no images are given')
  return top


def _crop(args, model):
  """--crop/--crop_size, else the training run's, else no crop."""
  crop = args.crop or model.config.get('crop') or 'none'
  crop_size = (model.config.get('crop_size') or 0 if args.crop_size is None
               else args.crop_size)
  return crop, crop_size


def _input_images(args, model, default_rows):
  """`(uint8 images, labels)`: --images, --dataset_index or defaults.

  The labels are --labels, else (class-conditional models) the embedded
  digits' own; None for an unconditional model.
  """
  if args.images:
    images = pixels.fit_images(grids.read_images(args.images),
                               model.image_shape, *_crop(args, model))
    digits = None
  else:
    raw, digits = embedded_data.embedded_mnist(args.dataset_index or
                                               default_rows)
    images = pixels.fit_images(raw, model.image_shape, 'none')  # 28x28, padded.
  return images, _image_labels(args, model, len(images), digits)


def _image_labels(args, model, n, own=None):
  """--labels broadcast to `n` images, else `own` (conditional), else None."""
  if args.labels is not None:
    if len(args.labels) not in (1, n):
      raise ValueError(f'--labels needs one class or one per image ({n}), '
                       f'got {len(args.labels)}.')
    return np.broadcast_to(np.asarray(args.labels, np.int32), (n,))
  if not model.num_classes:
    return None
  if own is None:
    raise ValueError(f'the model is class-conditional ({model.num_classes} '
                     'classes): pass --labels.')
  return np.asarray(own, np.int32)


def _sample_grid(args, model):
  """Rows of samples per temperature (per class, for a conditional model)."""
  if not model.num_classes:
    if args.labels is not None:
      raise ValueError('--labels given to a model that is not '
                       'class-conditional.')
    return temperature.temperature_grid(model, args.temperatures, args.n,
                                        args.seed)
  labels = (args.labels if args.labels is not None else
            list(range(model.num_classes)))
  return np.concatenate([
      temperature.temperature_grid(model, args.temperatures, args.n,
                                   args.seed, label)
      for label in labels])


def _run(args, model=None):
  model = models.load(args.model if model is None else model,
               batch_size=args.batch_size)
  summary = dict(command=args.command, model=model.description)
  if args.command == 'sample':
    tiles = _sample_grid(args, model)
    summary.update(temperatures=args.temperatures)
    if model.num_classes:
      summary.update(labels=args.labels or list(range(model.num_classes)))
  elif args.command == 'interpolate':
    x, labels = _input_images(args, model,
                              embedded_data.embedded_digit_rows(DEFAULT_PAIR))
    x = model.from_uint8(x)
    if len(x) < 2:
      raise ValueError('interpolate needs at least two images.')
    # A path has one class: a conditional model encodes and decodes each
    # pair under its first image's label.
    tiles = interpolation.interpolate(
        model, x[:-1], x[1:], args.steps, args.method,
        None if labels is None else labels[:-1])
    summary.update(method=args.method, steps=args.steps)
  elif args.command == 'manipulate':
    vector, counts = _attribute_vector_for(args, model)
    if args.images or args.dataset_index or args.dataset == EMBEDDED:
      digit = counts.get('digit')
      default_digits = [d for d in range(10) if d != digit][:args.num_images]
      x, labels = _input_images(
          args, model, embedded_data.embedded_digit_rows(default_digits))
    else:
      x, features, _ = attributes.load_tfds(
          args.dataset, args.split, args.num_images, args.data_dir,
          model.image_shape, *_crop(args, model))
      labels = _image_labels(args, model, len(x),
                             _dataset_labels(model, features))
    tiles = attributes.manipulate(model, model.from_uint8(x), vector,
                                  args.alphas, labels)
    summary.update(attribute=args.attribute, alphas=args.alphas,
                   vector_norm=float(np.linalg.norm(vector)), **counts)
  else:  # reconstruct
    x, labels = _input_images(
        args, model, embedded_data.embedded_digit_rows(range(min(args.n, 10))))
    x = model.from_uint8(x)
    y = model.reconstruct(x, labels)
    tiles = np.stack([x, y])
    summary.update(max_abs_error=float(np.abs(y - x).max()))
  path = grids.save_grid(args.out, model.to_uint8(tiles), pad=args.pad,
                   scale=args.scale)
  summary.update(out=path, grid_shape=list(np.shape(tiles)[:2]))
  return summary


def _attribute_vector_for(args, model):
  """The vector of --attribute over --dataset, and the image counts."""
  counts = {}
  if args.dataset == EMBEDDED:
    name, _, value = args.attribute.partition('=')
    if name != 'label' or not value.isdigit() or int(value) > 9:
      raise ValueError(f'--dataset={EMBEDDED} has one attribute, the digit: '
                       f'--attribute=label=K (K in 0..9), got '
                       f'{args.attribute!r}.')
    counts['digit'] = int(value)
    rows = np.random.default_rng(0).permutation(
        len(embedded_data.embedded_mnist()[1]))
    raw, labels = embedded_data.embedded_mnist(rows[:args.num_examples])
    images = pixels.fit_images(raw, model.image_shape, 'none')
    features = {'label': labels.astype(np.int64)}
    info = None
    own = labels
  else:
    images, features, info = attributes.load_tfds(
        args.dataset, args.split, args.num_examples, args.data_dir,
        model.image_shape, *_crop(args, model))
    own = _dataset_labels(model, features)
  mask = attributes.attribute_masks(features, [args.attribute],
                                    info)[args.attribute]
  # A conditional model encodes each image under its own class.
  labels = (np.asarray(own, np.int32) if model.num_classes and own is not None
            else None)
  if model.num_classes and labels is None:
    raise ValueError(
        f'the model is class-conditional; the attribute images of '
        f'{args.dataset} need their labels (feature '
        f'{model.config.get("label_key", "label")!r} not found).')
  vector = attributes.attribute_vector(model, model.from_uint8(images), mask,
                                       labels)
  counts.update(n_with=int(mask.sum()), n_without=int((~mask).sum()))
  return vector, counts


def _dataset_labels(model, features):
  """The class labels of tfds examples for a conditional model, or None."""
  if not model.num_classes:
    return None
  return features.get(model.config.get('label_key') or 'label')


def main(argv=None, model=None):
  """Runs one command; prints a JSON summary line; returns the summary.

  Args:
    argv: the arguments after `python -m tfp_glow.latent` (None: sys.argv).
    model: a `LatentModel` (or a distribution) to use instead of loading
      `--model` (for tests and in-process models).
  """
  args = parser().parse_args(argv)
  grids.check_grid_path(args.out)  # Before loading any model.
  summary = _run(args, model)
  print(json.dumps(summary))
  return summary


def console_main(argv=None):
  """`main` with errors as one line on stderr and exit status 1
  (`--debug` shows the traceback)."""
  def run():
    main(argv)

  return console.run(run, console.debug_requested(argv))

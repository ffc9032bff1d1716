"""`python -m tfp_glow.illusions COMMAND --out=DIR [--model=DIR] ...`.

Commands:

    brightness   simultaneous brightness contrast sweep
    whites       White's illusion sweep
    saturation   saturation contrast sweep
    all          the three sweeps with their default stimuli
    heatmap      bits/dim of every 16x16 window of images (--image ...)
    bpd          mean bits/dim of images' non-overlapping 16x16 windows
    whites-study White's illusion per stimulus geometry and model
    manipulate   move a photograph's masked region along brightness,
                 saturation or hue to a target PR (`manipulate`)
    match        the saturation pair the model calls equal (`matched_pair`)

Each sweep writes `<name>.png`, `<name>_stimuli.png`, `<name>.csv` and
`<name>.json` into `--out`; `all` adds `summary.json`. The model is a
SavedModel export (`--model`, default the first shipped model under
`tfp_glow/illusions/models/`). `all --models=DIR1,DIR2` (or a glob pattern,
or by default every shipped model) scores each model and writes
`tfp_glow.illusions.ensemble`'s aggregate: each model's sweeps in
`<out>/<model>/`, `summary.json`, `summary.md`, `<name>_models.png`.
"""

import argparse
import glob
import json
import os

import numpy as np

from tfp_glow import console
from tfp_glow.illusions import ensemble
from tfp_glow.illusions import heatmap
from tfp_glow.illusions import manipulate
from tfp_glow.illusions import matched_pair
from tfp_glow.illusions import percentile
from tfp_glow.illusions import scoring
from tfp_glow.illusions import stimuli
from tfp_glow.illusions import sweep
from tfp_glow.illusions import whites_study

__all__ = ['DEFAULT_MODEL', 'main', 'parser']

# The first shipped model (`scoring.SHIPPED_MODELS/<name>/<version>/`).
DEFAULT_MODEL = (scoring.shipped_models() or
                 [os.path.join(scoring.SHIPPED_MODELS, 'seed0')])[0]
_IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff',
                     '.webp')


def parser():
  """The argument parser (every option after the command)."""
  common = argparse.ArgumentParser(add_help=False)
  common.add_argument('--out', required=True, help='output directory')
  common.add_argument(
      '--model', default=None,
      help='a SavedModel: a version directory, an export directory (its '
      'newest version) or a training workdir; serving_default: uint8 '
      f'images [N, H, W, C] -> bits_per_dim [N]. Default: {DEFAULT_MODEL}')
  common.add_argument(
      '--draws', type=console.non_negative_int, default=0,
      help='dequantization draws averaged per stimulus; 0: the midpoint '
      '(serving_default). >0 needs the export\'s log_prob signature.')
  common.add_argument('--seed', type=int, default=0,
                      help='seed of the dequantization draws')
  common.add_argument('--batch-size', type=console.positive_int,
                      default=256)
  common.add_argument(console.DEBUG_FLAG, action='store_true',
                      help=console.DEBUG_HELP)
  sweep_args = argparse.ArgumentParser(add_help=False)
  sweep_args.add_argument(
      '--sigma', type=float, default=percentile.PAPER_SIGMA,
      help='Gaussian smoothing of exp(-bits/dim) in sweep steps (paper: 3)')
  sweep_args.add_argument('--test-value', type=float, default=None,
                          help="c*, the test condition's centre value")

  p = console.ArgumentParser(
      prog='python -m tfp_glow.illusions',
      description='Visual illusions from a Glow patch model\'s likelihood '
      '(Hirsch & Tal, arXiv 2005.08772).')
  commands = p.add_subparsers(dest='command', required=True)
  b = commands.add_parser('brightness', parents=[common, sweep_args],
                          help='grey centre on a dark and a light surround')
  b.add_argument('--dark', type=int, default=64)
  b.add_argument('--light', type=int, default=192)
  b.add_argument('--center-size', type=console.positive_int, default=8)
  w = commands.add_parser('whites', parents=[common, sweep_args],
                          help="White's illusion")
  w.add_argument('--stripe-width', type=console.positive_int, default=1)
  w.add_argument('--bar-height', type=console.positive_int, default=4)
  s = commands.add_parser('saturation', parents=[common, sweep_args],
                          help='coloured centre on a pale and a saturated '
                          'surround')
  s.add_argument('--hue', type=float, default=0.)
  s.add_argument('--value', type=float, default=0.8)
  s.add_argument('--pale', type=float, default=0.2)
  s.add_argument('--saturated', type=float, default=0.8)
  s.add_argument('--center-size', type=console.positive_int, default=8)
  a = commands.add_parser('all', parents=[common],
                          help='the three sweeps, default stimuli')
  a.add_argument('--sigma', type=float, default=percentile.PAPER_SIGMA)
  a.add_argument(
      '--models', default=None,
      help='comma-separated SavedModels (as --model) or glob patterns, '
      "e.g. '/tmp/ill_*' (training workdirs); each is scored and "
      'aggregated. Default (without --model): every model under '
      'tfp_glow/illusions/models/.')
  ws = commands.add_parser('whites-study', parents=[common],
                           help="White's illusion under every geometry of "
                           'whites_study.CONFIGURATIONS, per model')
  ws.add_argument('--sigma', type=float, default=percentile.PAPER_SIGMA)
  ws.add_argument('--models', default=None, help='as for `all`')
  h = commands.add_parser('heatmap', parents=[common],
                          help='bits/dim of every window of images')
  h.add_argument('--image', nargs='+', required=True,
                 help='image files or directories')
  h.add_argument('--stride', type=console.positive_int, default=4,
                 help='window stride in pixels (the paper: 1)')
  h.add_argument('--resize', type=console.non_negative_int, default=256,
                 help='resize the short side to this first (0: keep)')
  e = commands.add_parser('bpd', parents=[common],
                          help="mean bits/dim of images' non-overlapping "
                          'windows')
  e.add_argument('--image', nargs='+', required=True,
                 help='image files or directories')
  e.add_argument('--resize', type=console.non_negative_int, default=256,
                 help='resize the short side to this first (0: keep)')
  m = commands.add_parser('manipulate', parents=[common],
                          help="move a masked region's brightness, "
                          'saturation or hue to a target PR')
  m.add_argument('--image', required=True, help='the photograph')
  m.add_argument('--mask', required=True,
                 help='image of the same size, white marks the region')
  m.add_argument('--axis', required=True, choices=manipulate.AXES)
  goal = m.add_mutually_exclusive_group(required=True)
  goal.add_argument('--target', type=float, help='the PR to reach, in (0, 1)')
  goal.add_argument('--match-mask',
                    help="a second, disjoint region whose PR to reach")
  m.add_argument('--resize', type=console.non_negative_int, default=256,
                 help='resize the short side to this first (0: keep)')
  m.add_argument('--steps', type=console.positive_int,
                 default=manipulate.NUM_STEPS, help='shifts per sweep')
  m.add_argument('--max-windows', type=console.positive_int,
                 default=manipulate.MAX_WINDOWS,
                 help='windows scored per region')
  m.add_argument('--method', choices=sweep.METHODS, default='paper')
  t = commands.add_parser('match', parents=[common, sweep_args],
                          help='raise the saturated-surround centre until '
                          "its PR equals the pale-surround one's")
  t.add_argument('--method', choices=sweep.METHODS, default='paper')
  return p


def _illusion(args):
  if args.command == 'brightness':
    return stimuli.brightness_illusion(args.dark, args.light, args.center_size)
  if args.command == 'whites':
    return stimuli.whites_illusion(args.stripe_width, args.bar_height)
  return stimuli.saturation_illusion(args.hue, args.value, args.pale,
                                     args.saturated, args.center_size)


def _image_paths(entries):
  paths = []
  for entry in entries:
    if os.path.isdir(entry):
      paths += sorted(p for p in glob.glob(os.path.join(entry, '**', '*'),
                                           recursive=True)
                      if p.lower().endswith(_IMAGE_EXTENSIONS))
    elif os.path.exists(entry):
      paths.append(entry)
    else:
      raise FileNotFoundError(f'no image at {entry!r}.')
  if not paths:
    raise FileNotFoundError(f'no images found in {entries}.')
  return paths


def _heatmaps(score, args):
  from tfp_glow.illusions import plots  # pylint: disable=g-import-not-at-top
  window = score.image_shape[0]
  summary = {}
  for path in _image_paths(args.image):
    image = heatmap.load_image(path, args.resize or None,
                               channels=score.image_shape[-1])
    bpd = heatmap.window_bits_per_dim(score, image, args.stride)
    stem = os.path.splitext(os.path.basename(path))[0]
    np.savetxt(os.path.join(args.out, f'heatmap_{stem}.csv'), bpd,
               delimiter=',', fmt='%.6g')
    plots.heatmap_figure(image, bpd, window, args.stride,
                         os.path.join(args.out, f'heatmap_{stem}.png'),
                         title=os.path.basename(path))
    summary[stem] = dict(image=path, image_shape=list(image.shape),
                         stride=args.stride, windows=list(bpd.shape),
                         mean=float(bpd.mean()), min=float(bpd.min()),
                         max=float(bpd.max()))
  sweep.write_json(os.path.join(args.out, 'heatmap.json'),
              dict(images=summary, scorer=score.description))
  return summary


def _bits_per_dim(score, args):
  window = score.image_shape[0]
  images = {}
  for path in _image_paths(args.image):
    image = heatmap.load_image(path, args.resize or None,
                               channels=score.image_shape[-1])
    bpd = heatmap.window_bits_per_dim(score, image, stride=window)
    images[os.path.basename(path)] = dict(mean=float(bpd.mean()),
                                          windows=int(bpd.size))
  counts = np.array([v['windows'] for v in images.values()])
  means = np.array([v['mean'] for v in images.values()])
  summary = dict(images=images, mean=float((counts * means).sum() /
                                           counts.sum()),
                 windows=int(counts.sum()), resize=args.resize,
                 scorer=score.description)
  sweep.write_json(os.path.join(args.out, 'bits_per_dim.json'), summary)
  return summary


def _scorers(args):
  """Model name -> scorer of `--model`, `--models`, or every shipped one."""
  paths = ([args.model] if args.model else
           scoring.model_paths(args.models) if args.models else
           scoring.shipped_models())
  if not paths:
    raise FileNotFoundError(f'no model under {scoring.SHIPPED_MODELS}.')
  return {name: scoring.scorer_from_saved_model(
      path, draws=args.draws, seed=args.seed, batch_size=args.batch_size)
          for name, path in zip(ensemble.model_names(paths), paths)}


def _ensemble(args):
  scorers = _scorers(args)
  results = ensemble.run(scorers, sigma=args.sigma)
  summary = ensemble.write(results, args.out)
  return {name: entry['aggregate'] for name, entry in summary.items()}


def main(argv=None, score=None):
  """Runs a command; returns its summary dict.

  Args:
    argv: the arguments after the program name; None: `sys.argv[1:]`.
    score: a scorer to use instead of loading `--model` (for tests and
      in-process models).

  Raises:
    FileNotFoundError: no SavedModel at `--model` (the console entry point
      prints it and exits with status 2).
  """
  args = parser().parse_args(argv)
  console.check_output_folder(args.out)  # Before loading any model.
  if args.command == 'whites-study':
    rows = whites_study.run(_scorers(args), sigma=args.sigma)
    whites_study.write(rows, args.out)
    return rows
  if args.command == 'all' and score is None and args.model is None:
    return _ensemble(args)
  if getattr(args, 'models', None):
    raise ValueError('give --model (one model) or --models, not both.')
  if score is None:
    score = scoring.scorer_from_saved_model(
        args.model or DEFAULT_MODEL, draws=args.draws, seed=args.seed,
        batch_size=args.batch_size)
  if args.command == 'manipulate':  # checks its inputs before writing
    return manipulate.run_files(
        score, args.image, args.mask, args.axis, args.out, args.target,
        args.match_mask, args.resize, num_steps=args.steps,
        max_windows=args.max_windows, method=args.method)
  if args.command == 'match':
    return matched_pair.write(matched_pair.run(
        score, c_star=args.test_value, sigma=args.sigma), args.out,
                              args.method)
  if args.command in ('heatmap', 'bpd'):
    os.makedirs(args.out, exist_ok=True)
    return (_heatmaps if args.command == 'heatmap' else _bits_per_dim)(
        score, args)
  if args.command != 'all':
    result = sweep.run(score, _illusion(args), c_star=args.test_value,
                       sigma=args.sigma)
    sweep.write(result, args.out)  # Creates --out, once the sweep is scored.
    return result.summary()
  # Every sweep is scored before anything is written: a model that cannot
  # score the stimuli leaves --out as it was.
  results = {name: sweep.run(score, build(), sigma=args.sigma)
             for name, build in stimuli.ILLUSIONS.items()}
  for result in results.values():
    sweep.write(result, args.out)
  summary = {name: result.summary() for name, result in results.items()}
  sweep.write_json(os.path.join(args.out, 'summary.json'), summary)
  return summary


def console_main(argv=None):
  """`python -m tfp_glow.illusions`: prints the summary as JSON.

  An error is one line on stderr and exit status 1 (2: no model or image
  at the path given); `--debug` shows its traceback.
  """
  def run():
    print(json.dumps(main(argv), indent=2, sort_keys=True))

  return console.run(run, console.debug_requested(argv),
                     statuses={FileNotFoundError: 2})

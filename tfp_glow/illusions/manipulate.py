"""Illusions in photographs: move a region along a colour axis to a target PR.

[1]'s second use of the model: edit a masked region of a photograph so that
its percentile rank (PR) in its surround, and so its predicted appearance,
becomes a chosen one, or equals another region's ("two equal regions that
look different", "two different regions that look equal").

Edit. A photograph `I` (uint8 `[H, W, 3]`), a region `M` (boolean
`[H, W]`) and an axis, one HSV component (`stimuli.uint8_to_hsv`; brightness
is the value `V = max(R, G, B)`). The edit `E_d` shifts the region's pixels by
`d` along the axis and keeps every other pixel and component:

    brightness, saturation:  a'(x) = clip(a(x) + d, 0, 1),    x in M
    hue:                     h'(x) = (h(x) + d) mod 1,         x in M

then back to uint8 (`stimuli.hsv_to_uint8`); `E_0(I) = I`. (Greys have hue
0, red: raising their saturation reddens them.)

Windows. The `s x s` windows (`s`: the scorer's patch size) that hold at
least half of the region, or, for a region larger than half a window, are at
least half covered by it: the region in its surround. At most `max_windows`,
evenly subsampled in scan order.

Sweep. Shifts `d_0 < ... < d_{K-1}` over the states of the region:

    brightness, saturation:  d_k from -max_M a (all 0) to 1 - min_M a (all 1)
    hue:                     d_k = k / (K - 1) - h_M

(`h_M` the region's chroma-weighted circular-mean hue: its mean hue goes once
round the circle from red to red). Every window `w` of `E_{d_k}(I)` is scored,
`b_{k,w}` bits/dim, and the region's curve is the mean window's,
`b_k = mean_w b_{k,w}`, `log p_k = mean_w log p_{k,w}`. Its weights and PR
are `percentile.paper_normalization(b, sigma)` (default; `sigma` in sweep
steps, by default the paper's 3 steps of 256 rescaled to `K` steps) or
`percentile.exact_normalization(log p)`. The region's PR is the curve's
rank at `d = 0`, the image as it is.

Target. `d* = percentile.value_at_rank(d, PR, target)`, the smallest shift
whose PR reaches the target, and the result is `E_{d*}(I)`. With a second
region `M2`, the target is `M2`'s PR (its own windows and sweep). A fresh
sweep of the edited image measures the PR after; it differs from the curve's
prediction `PR(d*)` by uint8 rounding, and where the edit clipped pixels.

    edit = manipulate.manipulate(score, image, mask, 'brightness', target=0.8)
    edit.pr_before, edit.pr_after, edit.shift
    manipulate.write(edit, out_dir)

[1]: Hirsch & Tal. Color Visual Illusions: A Statistics-based Computational
     Model. NeurIPS 2020. arXiv 2005.08772.
"""

import csv
import dataclasses
import os

import numpy as np

from tfp_glow.illusions import heatmap
from tfp_glow.illusions import percentile
from tfp_glow.illusions import stimuli
from tfp_glow.illusions import sweep

__all__ = [
    'AXES',
    'Manipulation',
    'RegionSweep',
    'load_mask',
    'manipulate',
    'region_sweep',
    'region_windows',
    'run_files',
    'shift_along_axis',
    'write',
]

AXES = ('brightness', 'saturation', 'hue')
_COMPONENT = {'hue': 0, 'saturation': 1, 'brightness': 2}
NUM_STEPS = 32
MAX_WINDOWS = 192


def _check_axis(axis):
  if axis not in AXES:
    raise ValueError(f'unknown axis {axis!r}: expected one of '
                     f'{", ".join(AXES)}.')
  return axis


def _shifted_pixels(hsv, axis, shift):
  """uint8 RGB `[N, 3]` of HSV pixels `[3, N]` shifted by `shift`."""
  hsv = [np.array(c) for c in hsv]
  k = _COMPONENT[axis]
  hsv[k] = ((hsv[k] + shift) % 1. if axis == 'hue' else
            np.clip(hsv[k] + shift, 0., 1.))
  return stimuli.hsv_to_uint8(*hsv)


def shift_along_axis(image, mask, axis, shift):
  """`E_d(I)`: the region's pixels shifted by `shift` along `axis`.

  Pixels outside `mask` are returned untouched; a copy of `image`.
  """
  _check_axis(axis)
  out = np.array(image, np.uint8)
  mask = np.asarray(mask, bool)
  out[mask] = _shifted_pixels(stimuli.uint8_to_hsv(out[mask]), axis,
                              float(shift))
  return out


def _mean_hue(hsv):
  """The chroma-weighted circular mean hue in `[0, 1)` (0 for greys)."""
  hue, saturation, value = hsv
  weight = saturation * value
  if weight.sum() <= 0:
    return 0.
  angle = 2. * np.pi * hue
  mean = np.arctan2((weight * np.sin(angle)).sum(),
                    (weight * np.cos(angle)).sum())
  return float((mean / (2. * np.pi)) % 1.)


def _shifts(hsv, axis, num_steps):
  """The sweep's shifts `d_k` (increasing, `0` inside) for these pixels."""
  if axis == 'hue':
    return np.linspace(0., 1., num_steps) - _mean_hue(hsv)
  component = hsv[_COMPONENT[axis]]
  return np.linspace(-component.max(), 1. - component.min(), num_steps)


def region_windows(mask, size, max_windows=MAX_WINDOWS):
  """Top-left corners `[n, 2]` of the windows that hold the region.

  A window qualifies when it holds at least `ceil(min(|M|, size^2) / 2)`
  of the region's pixels; at most `max_windows` of them, evenly spaced in
  scan order.

  Raises:
    ValueError: no window qualifies (the image is smaller than a window).
  """
  mask = np.asarray(mask, bool)
  counts = heatmap.windows(mask[..., np.newaxis], size).sum(axis=(2, 3, 4))
  need = int(np.ceil(min(mask.sum(), size * size) / 2.))
  corners = np.argwhere(counts >= max(need, 1))
  if not len(corners):
    raise ValueError('no window holds the region.')
  if len(corners) > max_windows:
    keep = np.linspace(0, len(corners) - 1, int(max_windows))
    corners = corners[np.round(keep).astype(int)]
  return corners


@dataclasses.dataclass
class RegionSweep:
  """One region's PR curve along an axis.

  Attributes:
    axis: the HSV axis swept.
    shifts: `d_k` `[K]`, increasing; 0 is the image as it is.
    bits_per_dim: `[K]`, of the mean window.
    log_prob: `[K]`, mean nats of a window.
    weights: `[K]`, the normalised likelihood (`method`).
    pr: `[K]`, the percentile ranks.
    corners: `[n, 2]` top-left corners of the windows scored.
    window_size: their side in pixels.
    method: 'paper' or 'exact'.
    sigma: the paper normalisation's smoothing in sweep steps.
  """
  axis: str
  shifts: np.ndarray
  bits_per_dim: np.ndarray
  log_prob: np.ndarray
  weights: np.ndarray
  pr: np.ndarray
  corners: np.ndarray
  window_size: int
  method: str
  sigma: float

  @property
  def rank(self):
    """The region's PR as it is (the curve at shift 0)."""
    return percentile.rank_at(self.shifts, self.pr, 0.)

  def rank_at(self, shift):
    return percentile.rank_at(self.shifts, self.pr, shift)


def _check_method(method, num_steps):
  if method not in sweep.METHODS:
    raise ValueError(f'`method` must be one of {sweep.METHODS}, got '
                     f'{method!r}.')
  if int(num_steps) < 2:
    raise ValueError(f'`num_steps` must be at least 2, got {num_steps}.')


def region_sweep(score, image, mask, axis, num_steps=NUM_STEPS,
                 max_windows=MAX_WINDOWS, method='paper', sigma=None):
  """Scores the region's sweep along `axis`: its `RegionSweep`.

  `K * n <= num_steps * max_windows` windows go through `score` in one
  call (the scorer batches them).
  """
  _check_axis(axis)
  _check_method(method, num_steps)
  size, _, channels = score.image_shape
  image = np.asarray(image, np.uint8)
  mask = np.asarray(mask, bool)
  corners = region_windows(mask, size, max_windows)
  # Only the box the windows cover is edited and cut.
  top, left = corners.min(axis=0)
  bottom, right = corners.max(axis=0) + size
  box = image[top:bottom, left:right]
  box_mask = mask[top:bottom, left:right]
  rows, cols = (corners - [top, left]).T
  hsv = stimuli.uint8_to_hsv(box[box_mask])
  shifts = _shifts(stimuli.uint8_to_hsv(image[mask]), axis, int(num_steps))
  patches = []
  for shift in shifts:
    edited = box.copy()
    edited[box_mask] = _shifted_pixels(hsv, axis, shift)
    patches.append(heatmap.windows(edited, size)[rows, cols])
  patches = np.concatenate(patches)
  bpd = np.asarray(score(np.ascontiguousarray(patches)), np.float64)
  bpd = bpd.reshape(len(shifts), len(corners))
  num_dims = size * size * channels
  log_prob = percentile.log_prob_from_bits_per_dim(bpd, num_dims).mean(1)
  bpd = bpd.mean(1)
  if sigma is None:  # the paper's 3 steps of a 256-step sweep, rescaled
    sigma = percentile.PAPER_SIGMA * (len(shifts) - 1) / 255.
  if method == 'paper':
    weights, pr = percentile.paper_normalization(bpd, sigma)
  else:
    weights, pr = percentile.exact_normalization(log_prob)
  return RegionSweep(axis=axis, shifts=shifts, bits_per_dim=bpd,
                     log_prob=log_prob, weights=weights, pr=pr,
                     corners=corners, window_size=int(size), method=method,
                     sigma=float(sigma))


def _windows_touch(sweep, mask):
  """Whether any of `sweep`'s windows holds a pixel of `mask`."""
  size = sweep.window_size
  return any(mask[i:i + size, j:j + size].any() for i, j in sweep.corners)


@dataclasses.dataclass
class Manipulation:
  """A region moved along an axis to a target PR.

  Attributes:
    image, edited: uint8 `[H, W, 3]` before and after.
    mask: boolean `[H, W]`, the region edited.
    axis: the HSV axis.
    target: the PR aimed at.
    shift: `d*`, the shift applied.
    clipped: the target lay below the curve's first PR (`d*` is the
      sweep's lowest shift).
    before, after: the region's `RegionSweep` in the image and the edited
      image.
    match_mask: boolean `[H, W]` of the region matched, or None.
    reference, reference_after: its sweeps in the image and the edited one.
  """
  image: np.ndarray
  edited: np.ndarray
  mask: np.ndarray
  axis: str
  target: float
  shift: float
  clipped: bool
  before: RegionSweep
  after: RegionSweep
  match_mask: object = None
  reference: object = None
  reference_after: object = None

  @property
  def pr_before(self):
    return self.before.rank

  @property
  def pr_predicted(self):
    """The PR the curve predicts at the shift applied."""
    return self.before.rank_at(self.shift)

  @property
  def pr_after(self):
    """The PR measured on a fresh sweep of the edited image."""
    return self.after.rank

  def summary(self):
    """A JSON-serialisable dict of the findings."""
    component = _COMPONENT[self.axis]
    means = [float(stimuli.uint8_to_hsv(x[self.mask])[component].mean())
             for x in (self.image, self.edited)]
    out = dict(
        axis=self.axis, method=self.before.method, sigma=self.before.sigma,
        target=self.target, shift=self.shift, clipped=self.clipped,
        pr_before=self.pr_before, pr_predicted=self.pr_predicted,
        pr_after=self.pr_after, region_pixels=int(self.mask.sum()),
        region_mean_before=means[0], region_mean_after=means[1],
        windows=len(self.before.corners), window_size=self.before.window_size,
        num_steps=len(self.before.shifts),
        changed_pixels=int(np.any(self.image != self.edited, -1).sum()))
    if self.reference is not None:
      out.update(match_pr_before=self.reference.rank,
                 match_pr_after=self.reference_after.rank,
                 match_region_pixels=int(self.match_mask.sum()))
    return out


def _check_masks(image, masks):
  """`masks`: `[(name, mask), (name, mask or None)]`, the region and the
  region to match; the names are the messages'."""
  height, width = np.shape(image)[:2]
  for name, mask in masks:
    if mask is None:
      continue
    if np.shape(mask) != (height, width):
      raise ValueError(f'{name}: the mask is {np.shape(mask)[1]}x'
                       f'{np.shape(mask)[0]} pixels, the image {width}x'
                       f'{height}: they must be the same size.')
    if not np.any(mask):
      raise ValueError(f'{name}: the mask is empty (white marks the region).')
    if np.all(mask):
      raise ValueError(f'{name}: the mask covers the whole image, leaving no '
                       'surround.')
  (_, first), (_, second) = masks
  if second is not None and np.any(first & second):
    raise ValueError('the two masks overlap: the regions must be disjoint.')


def _check_target(target):
  if target is None or not 0. < float(target) < 1.:
    raise ValueError(f'the target PR must lie strictly between 0 and 1, got '
                     f'{target}.')
  return float(target)


def _check_request(image, axis, target, masks):
  """The checks of a request, before any work; `masks` as `_check_masks`."""
  _check_axis(axis)
  if (target is None) == (masks[1][1] is None):
    raise ValueError('give exactly one of a target PR and a mask to match.')
  if target is not None:
    _check_target(target)
  _check_masks(image, masks)


def manipulate(score, image, mask, axis, target=None, match_mask=None,
               num_steps=NUM_STEPS, max_windows=MAX_WINDOWS, method='paper',
               sigma=None):
  """Moves the region along `axis` until its PR reaches `target`.

  Args:
    score: a scorer (`scoring`); its `image_shape` is the window.
    image: uint8 `[H, W, 3]`.
    mask: boolean `[H, W]`, the region to edit.
    axis: 'brightness', 'saturation' or 'hue'.
    target: the PR to reach, in `(0, 1)`; or None with `match_mask`.
    match_mask: boolean `[H, W]`, a disjoint region whose PR is the target.
    num_steps: `K`, shifts per sweep.
    max_windows: windows scored per region.
    method: 'paper' or 'exact' normalisation.
    sigma: the paper normalisation's smoothing in sweep steps; None: the
      paper's, rescaled to `num_steps`.

  Returns:
    A `Manipulation`.
  """
  image = np.asarray(image)
  if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
    raise ValueError(f'expected a uint8 RGB image [H, W, 3], got '
                     f'{image.dtype} of shape {image.shape}.')
  mask = np.asarray(mask, bool)
  match_mask = None if match_mask is None else np.asarray(match_mask, bool)
  _check_request(image, axis, target,
                 [('mask', mask), ('match mask', match_mask)])
  _check_method(method, num_steps)
  kwargs = dict(num_steps=num_steps, max_windows=max_windows, method=method,
                sigma=sigma)
  reference = None
  if match_mask is not None:
    reference = region_sweep(score, image, match_mask, axis, **kwargs)
    target = reference.rank
  before = region_sweep(score, image, mask, axis, **kwargs)
  shift, clipped = percentile.value_at_rank(before.shifts, before.pr,
                                            float(target))
  edited = shift_along_axis(image, mask, axis, shift)
  after = region_sweep(score, edited, mask, axis, **kwargs)
  reference_after = reference
  if reference is not None and _windows_touch(reference, mask):
    reference_after = region_sweep(score, edited, match_mask, axis, **kwargs)
  return Manipulation(image=image, edited=edited, mask=mask, axis=axis,
                      target=float(target), shift=float(shift),
                      clipped=bool(clipped), before=before, after=after,
                      match_mask=match_mask, reference=reference,
                      reference_after=reference_after)


def load_mask(path, image_shape=None):
  """A mask image file -> boolean `[H, W]`: pixels whose mean RGB > 127.

  Raises:
    FileNotFoundError / ValueError: no file, or not an image.
    ValueError: its size differs from `image_shape` `(H, W, ...)`.
  """
  mask = heatmap.load_image(path).mean(axis=-1) > 127.
  if image_shape is not None and mask.shape != tuple(image_shape[:2]):
    raise ValueError(f'{path}: the mask is {mask.shape[1]}x{mask.shape[0]} '
                     f'pixels, the image {image_shape[1]}x{image_shape[0]}: '
                     'they must be the same size.')
  return mask


def _resize_mask(mask, short_side):
  grey = heatmap.resize_short_side(
      mask.astype(np.uint8)[..., np.newaxis] * 255, short_side, 'nearest')
  return grey[..., 0] > 127


def _curve_rows(name, sweep):
  return [[name, f'{d:.6g}', f'{b:.6g}', f'{lp:.6g}', f'{w:.6g}', f'{r:.6g}']
          for d, b, lp, w, r in zip(sweep.shifts, sweep.bits_per_dim,
                                    sweep.log_prob, sweep.weights, sweep.pr)]


def write(result, out_dir, plot=True, extra=None):
  """Writes `edited.png`, `manipulation.json`, `pr_curve.csv` and (with
  `plot`) `manipulation.png` (before/after) and `pr_curve.png`.

  `extra`: entries added to the JSON summary (inputs, scorer).

  Returns:
    The paths written.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  os.makedirs(out_dir, exist_ok=True)
  paths = [os.path.join(out_dir, name) for name in
           ('edited.png', 'manipulation.json', 'pr_curve.csv')]
  Image.fromarray(result.edited).save(paths[0])
  sweep.write_json(paths[1], dict(result.summary(), **(extra or {})))
  with open(paths[2], 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['curve', 'shift', 'bits_per_dim', 'log_prob', 'weight',
                     'pr'])
    writer.writerows(_curve_rows('before', result.before))
    writer.writerows(_curve_rows('after', result.after))
    if result.reference is not None:
      writer.writerows(_curve_rows('match_before', result.reference))
      writer.writerows(_curve_rows('match_after', result.reference_after))
  if plot:
    from tfp_glow.illusions import plots  # pylint: disable=g-import-not-at-top
    paths += plots.manipulation_figures(result, out_dir)
  return paths


def run_files(score, image, mask, axis, out_dir, target=None,
              match_mask=None, resize=256, **kwargs):
  """`manipulate` on image files; writes the results into `out_dir`.

  Every input is read and checked before `out_dir` is made: a refused run
  writes nothing.

  Args:
    score: a scorer.
    image, mask, match_mask: paths; the masks the image's size, white
      (mean RGB > 127) marking the region.
    axis, target: as `manipulate`.
    out_dir: the output directory.
    resize: resize the short side of image and masks to this first (the
      paper's 256); 0 or None keeps the size.
    **kwargs: `manipulate`'s `num_steps`, `max_windows`, `method`, `sigma`.

  Returns:
    The summary dict, with the input paths and the files written.
  """
  pixels = heatmap.load_image(image)
  masks = {path: load_mask(path, pixels.shape)
           for path in (mask, match_mask) if path is not None}
  pixels = heatmap.resize_short_side(pixels, resize)
  masks = {path: _resize_mask(m, resize) if resize else m
           for path, m in masks.items()}
  # Checked here with the files' names in the messages (then again, under
  # the generic names, by `manipulate`).
  _check_request(pixels, axis, target, [(mask, masks[mask]),
                                        (match_mask, masks.get(match_mask))])
  result = manipulate(score, pixels, masks[mask], axis, target=target,
                      match_mask=masks.get(match_mask), **kwargs)
  extra = dict(image=image, mask=mask, match_mask=match_mask,
               image_shape=list(pixels.shape), resize=resize or None,
               scorer=dict(getattr(score, 'description', {}) or {}))
  paths = write(result, out_dir, extra=extra)
  return dict(result.summary(), **extra, files=paths)

"""Illusion stimuli as uint8 `[16, 16, 3]` patches, and their sweeps.

Each stimulus is one patch of the size the patch model was trained on ([1]
use 16x16x3). Every illusion has two conditions, *test* and *reference*, and
a sweep of 256 values of the centre (all else fixed):

* `brightness`: a grey centre square (`center_size` x `center_size`, centred)
  of grey `c` on a uniform grey surround, dark (test) or light (reference).
  Perceived: the centre on the dark surround looks lighter.
* `whites`: White's illusion. A square-wave grating of black and white
  stripes `stripe_width` wide; a grey test bar `bar_width` x `bar_height`
  replaces the middle of the central stripe, which is black (test) or white
  (reference; the grating inverted, so the bar sits at the same place).
  Perceived: the bar on the black stripe looks lighter (White 1979),
  although its long sides touch white stripes: the bar's lightness moves
  away from its collinear stripe ends (black) and towards its flanking
  stripes, the opposite of simultaneous contrast by area [2, 3].
* `saturation`: a centre square of hue `hue`, HSV value `value` and
  saturation `s` on a surround of the same hue and value, pale (test) or
  saturated (reference). Perceived: the centre on the pale surround looks
  more saturated.

In each, the prediction is `PR_test(c*) > PR_reference(c*)`, so the matching
value `c'` on the reference is above `c*` (see `percentile.match`).

    illusion = stimuli.brightness_illusion()
    patches = illusion.sweep('dark')          # uint8 [256, 16, 16, 3]

White's geometry. The default is the standard stimulus of computational
studies of White's effect, Robinson, Hammon & de Sa's "WE_thin" [3] (a
0.5 c/deg square-wave grating of 16 bars, 16 deg x 12 deg; the target one
bar wide and 4 deg tall, centred, so that 4 bar widths of its collinear
stripe show above and below it), drawn at one pixel per bar: stripes 1 px,
bar 1 x 4, centred, with 6 px of its collinear stripe above and below it
(at least WE_thin's 4 bar widths) and 8 stripes on either side. Two facts
fix the proportions, not the model's answer:

* [1]'s released code (VI-Glow `image_patch_graph.py`) resizes each whole
  stimulus image to the model's 16x16 input (`transforms.Resize(16)`): the
  patch holds the stimulus, not a close-up of the target.
* White's effect is driven by the contrast of the target with its
  *collinear* stripe ends; the flanking stripes pull the other way [2], and
  a target whose collinear ends are cut short behaves like simultaneous
  contrast ("inverted White effect", [2]). The previous default (stripes
  2 px, bar 2 x 8) showed only 2 stripe widths of collinear stripe at each
  end, half the target's length, with 4x more flank contact than collinear
  contact; it is a crop of WE_thin that cuts the ends, and stays available
  as `whites_illusion(stripe_width=2, bar_height=8)`.

`docs/illusions/whites_investigation.md` and `whites_study` score the
alternatives (stripe width, bar height and width, orientation, phase).

[1]: Hirsch & Tal. Color Visual Illusions: A Statistics-based Computational
     Model. NeurIPS 2020. arXiv 2005.08772.
[2]: Blakeslee & McCourt. Dissecting the influence of the collinear and
     flanking bars in White's effect. Vision Research, 2016 (0.5 c/deg
     grating, targets 1 deg wide, 0.5 or 3 deg tall).
[3]: Robinson, Hammon & de Sa. Explaining brightness illusions using spatial
     filtering and local response normalization. Vision Research 47, 2007
     (stimulus WE_thin; also stimupy's `white` stimuli).
"""

import dataclasses
from typing import Callable

import numpy as np

__all__ = [
    'Illusion',
    'brightness',
    'brightness_illusion',
    'hsv_to_uint8',
    'intensity_to_uint8',
    'saturation',
    'saturation_illusion',
    'uint8_to_hsv',
    'whites',
    'whites_illusion',
    'ILLUSIONS',
]

SIZE = 16
NUM_STEPS = 256


def intensity_to_uint8(x):
  """Display intensities in `[0, 1]` -> grey levels 0..255, `floor(255 x + .5)`.

  The stimuli's own map (255 steps, half rounded up, out-of-range values an
  error), not a model's quantization to `n_bits` bins
  (`tfp_glow.dequantization.to_uint8`).
  """
  x = np.asarray(x, np.float64)
  if np.any(x < 0) or np.any(x > 1):
    raise ValueError(f'intensities must lie in [0, 1], got range '
                     f'[{x.min()}, {x.max()}].')
  return np.floor(x * 255. + 0.5).astype(np.uint8)


def hsv_to_uint8(hue, saturation, value):
  """HSV colours, each component in `[0, 1]`, -> uint8 RGB `[..., 3]`.

  The standard hexcone map (as `colorsys.hsv_to_rgb`), then
  `intensity_to_uint8`. The components broadcast: scalars give one colour
  `[3]`, arrays `[...]` an image `[..., 3]`.
  """
  hue, saturation, value = np.broadcast_arrays(
      *(np.asarray(x, np.float64) for x in (hue, saturation, value)))
  for name, x in (('hue', hue), ('saturation', saturation), ('value', value)):
    if np.any(x < 0.) or np.any(x > 1.):
      raise ValueError(f'`{name}` must lie in [0, 1], got range '
                       f'[{x.min()}, {x.max()}].')
  h6 = (hue % 1.) * 6.
  sector = np.floor(h6).astype(np.int64) % 6
  f = h6 - np.floor(h6)
  v, s = value, saturation
  p, q, t = v * (1. - s), v * (1. - s * f), v * (1. - s * (1. - f))
  rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
  channels = [np.choose(sector, [row[c] for row in rgb]) for c in range(3)]
  return intensity_to_uint8(np.stack(channels, axis=-1))


def uint8_to_hsv(rgb):
  """uint8 RGB `[..., 3]` -> `(hue, saturation, value)`, each `[...]` in
  `[0, 1]`: the inverse of `hsv_to_uint8` (as `colorsys.rgb_to_hsv`).

  `V = max(R, G, B) / 255`, `S = (max - min) / max` (0 for black), and the
  hue is the position on the hexcone, 0 for greys (`max = min`).
  `hsv_to_uint8(*uint8_to_hsv(x)) == x` for every uint8 `x`.
  """
  rgb = np.asarray(rgb)
  if rgb.dtype != np.uint8 or rgb.shape[-1:] != (3,):
    raise ValueError(f'expected uint8 RGB [..., 3], got {rgb.dtype} of '
                     f'shape {rgb.shape}.')
  r, g, b = np.moveaxis(rgb.astype(np.float64) / 255., -1, 0)
  high = np.maximum(np.maximum(r, g), b)
  chroma = high - np.minimum(np.minimum(r, g), b)
  safe = np.where(chroma > 0, chroma, 1.)
  hue = np.where(high == r, ((g - b) / safe) % 6.,
                 np.where(high == g, (b - r) / safe + 2., (r - g) / safe + 4.))
  hue = np.where(chroma > 0, hue / 6., 0.)
  saturation = np.where(high > 0, chroma / np.where(high > 0, high, 1.), 0.)
  return hue % 1., saturation, high


def _grey(level):
  level = int(level)
  if not 0 <= level <= 255:
    raise ValueError(f'grey levels must be integers in 0..255, got {level}.')
  return np.array([level] * 3, np.uint8)


def _center_slice(size, extent):
  if not 1 <= extent <= size:
    raise ValueError(f'a centre of {extent} pixels does not fit in a '
                     f'{size}-pixel patch.')
  start = (size - extent) // 2
  return slice(start, start + extent)


def _square(center_rgb, surround_rgb, size, center_size):
  patch = np.empty([size, size, 3], np.uint8)
  patch[...] = surround_rgb
  inner = _center_slice(size, center_size)
  patch[inner, inner] = center_rgb
  return patch


def brightness(center, surround, size=SIZE, center_size=8):
  """Simultaneous brightness contrast: grey `center` square on `surround`.

  Args:
    center: grey level 0..255 of the centre square.
    surround: grey level 0..255 of the rest of the patch.
    size: the patch's height and width.
    center_size: the centre square's side, placed at rows and columns
      `(size - center_size) // 2` on.

  Returns:
    uint8 `[size, size, 3]`, every pixel grey (`R = G = B`).
  """
  return _square(_grey(center), _grey(surround), size, center_size)


def whites(center, on='black', size=SIZE, stripe_width=1, bar_height=4,
           bar_width=None, orientation='vertical', offset=0):
  """White's illusion: a grey bar replacing part of a black or white stripe.

  With vertical stripes, column `j` belongs to stripe
  `floor((j - j0) / stripe_width)`, `j0 = (size - bar_width) // 2 + offset`
  the bar's first column; even stripes have the colour named by `on`, odd
  ones the other. The bar covers rows `(size - bar_height) // 2` on and
  columns `j0 .. j0 + bar_width - 1` (all within stripe 0 when
  `bar_width <= stripe_width`). `orientation='horizontal'` is the transpose.

  Args:
    center: grey level 0..255 of the bar.
    on: `'black'` or `'white'`, the colour of the stripe the bar lies on.
    size: the patch's height and width.
    stripe_width: width of every stripe in pixels.
    bar_height: the bar's length along the stripes, in pixels.
    bar_width: the bar's width across the stripes; None: `stripe_width`.
    orientation: `'vertical'` or `'horizontal'` stripes (and bar).
    offset: shift of the grating and bar across the stripes, in pixels
      (the phase relative to the patch's pixel grid).

  Returns:
    uint8 `[size, size, 3]`.
  """
  if on not in ('black', 'white'):
    raise ValueError(f'`on` must be "black" or "white", got {on!r}.')
  if orientation not in ('vertical', 'horizontal'):
    raise ValueError('`orientation` must be "vertical" or "horizontal", got '
                     f'{orientation!r}.')
  if not 1 <= stripe_width <= size:
    raise ValueError(f'`stripe_width` must be in 1..{size}, got '
                     f'{stripe_width}.')
  bar_width = stripe_width if bar_width is None else bar_width
  bar_cols = _center_slice(size, bar_width)
  bar_cols = slice(bar_cols.start + offset, bar_cols.stop + offset)
  if bar_cols.start < 0 or bar_cols.stop > size:
    raise ValueError(f'`offset` {offset} moves the bar out of the patch.')
  bar_rows = _center_slice(size, bar_height)
  stripe = (np.arange(size) - bar_cols.start) // stripe_width
  even, odd = (0, 255) if on == 'black' else (255, 0)
  row = np.where(stripe % 2 == 0, even, odd).astype(np.uint8)
  patch = np.repeat(np.repeat(row[np.newaxis, :, np.newaxis], size, 0), 3, 2)
  patch[bar_rows, bar_cols] = _grey(center)
  if orientation == 'horizontal':
    patch = np.ascontiguousarray(patch.transpose(1, 0, 2))
  return patch


def saturation(center, surround, hue=0., value=0.8, size=SIZE,
               center_size=8):
  """Saturation contrast: an HSV centre square on a surround of its hue.

  Args:
    center: HSV saturation in `[0, 1]` of the centre square.
    surround: HSV saturation in `[0, 1]` of the surround.
    hue: the common hue in `[0, 1]` (0 red, 1/3 green, 2/3 blue).
    value: the common HSV value in `[0, 1]`.
    size: the patch's height and width.
    center_size: the centre square's side.

  Returns:
    uint8 `[size, size, 3]`, colours from `hsv_to_uint8`.
  """
  return _square(hsv_to_uint8(hue, center, value),
                 hsv_to_uint8(hue, surround, value), size, center_size)


@dataclasses.dataclass(frozen=True)
class Illusion:
  """One illusion: two conditions and a sweep of the centre.

  Attributes:
    name: short name, used in file names.
    axis: what the sweep varies, for plot labels.
    values: the 256 sweep values, increasing (grey 0..255, or saturation
      `k / 255`).
    conditions: `(test, reference)`; the test condition is the one
      perceived lighter (more saturated) at equal centre values.
    surrounds: condition -> the surround's value on the sweep's axis (for
      White's illusion, the stripe the bar lies on).
    default_test_value: `c*`, the test value used when none is given.
    render: `render(condition, value) -> uint8 [H, W, 3]`.
    parameters: the stimulus parameters, for the summary.
  """
  name: str
  axis: str
  values: np.ndarray
  conditions: tuple
  surrounds: dict
  default_test_value: float
  render: Callable
  parameters: dict

  def sweep(self, condition):
    """The uint8 stimuli `[256, H, W, 3]` of `condition`, one per value."""
    if condition not in self.conditions:
      raise ValueError(f'{self.name}: condition must be one of '
                       f'{self.conditions}, got {condition!r}.')
    return np.stack([self.render(condition, v) for v in self.values])


def brightness_illusion(dark=64, light=192, center_size=8, size=SIZE):
  """Simultaneous contrast: a grey centre on a `dark` and a `light` surround."""
  if not dark < light:
    raise ValueError(f'`dark` ({dark}) must be below `light` ({light}).')
  surrounds = {'dark': dark, 'light': light}
  return Illusion(
      name='brightness', axis='centre grey level',
      values=np.arange(NUM_STEPS, dtype=np.float64),
      conditions=('dark', 'light'), surrounds=surrounds,
      default_test_value=128.,
      render=lambda condition, v: brightness(
          v, surrounds[condition], size, center_size),
      parameters=dict(dark=dark, light=light, center_size=center_size,
                      size=size))


def whites_illusion(stripe_width=1, bar_height=4, size=SIZE, bar_width=None,
                    orientation='vertical', offset=0):
  """White's illusion: the grey bar on a black and on a white stripe."""
  whites(0, 'black', size, stripe_width, bar_height, bar_width, orientation,
         offset)  # checks the geometry once, here
  return Illusion(
      name='whites', axis='bar grey level',
      values=np.arange(NUM_STEPS, dtype=np.float64),
      conditions=('black', 'white'), surrounds={'black': 0, 'white': 255},
      default_test_value=128.,
      render=lambda condition, v: whites(
          v, condition, size, stripe_width, bar_height, bar_width,
          orientation, offset),
      parameters=dict(stripe_width=stripe_width, bar_height=bar_height,
                      bar_width=stripe_width if bar_width is None else
                      bar_width, orientation=orientation, offset=offset,
                      size=size))


def saturation_illusion(hue=0., value=0.8, pale=0.2, saturated=0.8,
                        center_size=8, size=SIZE):
  """Saturation contrast: the centre on a `pale` and a `saturated` surround."""
  if not pale < saturated:
    raise ValueError(f'`pale` ({pale}) must be below `saturated` '
                     f'({saturated}).')
  surrounds = {'pale': pale, 'saturated': saturated}
  return Illusion(
      name='saturation', axis='centre HSV saturation',
      values=np.arange(NUM_STEPS, dtype=np.float64) / (NUM_STEPS - 1),
      conditions=('pale', 'saturated'), surrounds=surrounds,
      default_test_value=0.5,
      render=lambda condition, v: saturation(
          v, surrounds[condition], hue, value, size, center_size),
      parameters=dict(hue=hue, value=value, pale=pale, saturated=saturated,
                      center_size=center_size, size=size))


ILLUSIONS = {
    'brightness': brightness_illusion,
    'whites': whites_illusion,
    'saturation': saturation_illusion,
}

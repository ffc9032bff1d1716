"""One illusion experiment: score a sweep, normalise, rank, match; write it.

    illusion = stimuli.brightness_illusion()
    result = sweep.run(score, illusion)            # score: see scoring.py
    sweep.write(result, out_dir)   # <name>.csv, <name>.json, <name>.png, ...

For each condition the 256 stimuli are scored (bits/dim), turned into
percentile-rank curves by both normalisations of `percentile`, and the test
condition's PR at `c*` is matched on the reference condition's curve.
"""

import csv
import dataclasses
import json
import os

import numpy as np

from tfp_glow.illusions import percentile

__all__ = ['SweepResult', 'run', 'write', 'write_json', 'METHODS']

METHODS = ('paper', 'exact')


@dataclasses.dataclass
class SweepResult:
  """An illusion's sweep, scored and analysed.

  Attributes:
    illusion: the `stimuli.Illusion`.
    values: the sweep values `[K]`.
    bits_per_dim: condition -> `[K]`.
    log_prob: condition -> `[K]`, nats of the discrete stimulus.
    weights: method -> condition -> `[K]`, normalised to sum 1.
    pr: method -> condition -> `[K]` percentile ranks.
    matches: method -> `percentile.match(...)` dict.
    c_star: the test value.
    sigma: the paper normalisation's smoothing, in sweep steps.
    scorer: the scorer's description.
  """
  illusion: object
  values: np.ndarray
  bits_per_dim: dict
  log_prob: dict
  weights: dict
  pr: dict
  matches: dict
  c_star: float
  sigma: float
  scorer: dict

  def summary(self):
    """A JSON-serialisable dict of the findings (no per-step curves)."""
    test, reference = self.illusion.conditions
    conditions = {}
    for condition in self.illusion.conditions:
      b = self.bits_per_dim[condition]
      conditions[condition] = dict(
          surround=self.illusion.surrounds[condition],
          peak={m: float(self.values[np.argmax(self.weights[m][condition])])
                for m in METHODS},
          bits_per_dim_min=float(b.min()), bits_per_dim_max=float(b.max()),
          bits_per_dim_at_c_star=float(np.interp(self.c_star, self.values,
                                                 b)))
    return dict(
        illusion=self.illusion.name, axis=self.illusion.axis,
        parameters=self.illusion.parameters, test_condition=test,
        reference_condition=reference, c_star=self.c_star, sigma=self.sigma,
        conditions=conditions, match=self.matches,
        agrees_with_perception={m: self.matches[m]['predicted'] ==
                                'test higher'
                                for m in METHODS},
        scorer=self.scorer)


def _check_model_fits(score, illusion, patch_shape):
  """A `ValueError` naming both shapes when `score`'s model takes other
  images than the illusion's patches (e.g. a greyscale or 32x32 model)."""
  model_shape = getattr(score, 'image_shape', None)
  if model_shape is None or tuple(model_shape) == tuple(patch_shape):
    return
  height, width, channels = patch_shape
  where = (getattr(score, 'description', None) or {}).get('model')
  model = f'the model {where}' if where and where != 'in-process' else (
      'the model')
  raise ValueError(
      f'the {illusion.name} stimuli are {height}x{width} patches with '
      f'{channels} channel{"s" if channels != 1 else ""} and {model} '
      f'scores {"x".join(map(str, model_shape))} images; the illusions need '
      f'a {height}x{width}x{channels} patch model (python -m train.main '
      '--flagfile=illusions.flags).')


def run(score, illusion, c_star=None, sigma=percentile.PAPER_SIGMA):
  """Scores both conditions' sweeps and analyses them.

  Args:
    score: a scorer, `uint8 [N, H, W, C] -> bits/dim [N]`.
    illusion: a `stimuli.Illusion`.
    c_star: the test value on the sweep's axis; None: the illusion's default.
    sigma: smoothing of the paper normalisation, in sweep steps.

  Returns:
    A `SweepResult`.
  """
  values = np.asarray(illusion.values, np.float64)
  c_star = float(illusion.default_test_value if c_star is None else c_star)
  if not values[0] <= c_star <= values[-1]:
    raise ValueError(f'c* = {c_star} lies outside the sweep of '
                     f'{illusion.name}, [{values[0]}, {values[-1]}].')
  bpd, log_prob = {}, {}
  weights = {m: {} for m in METHODS}
  pr = {m: {} for m in METHODS}
  for condition in illusion.conditions:
    patches = illusion.sweep(condition)
    _check_model_fits(score, illusion, patches.shape[1:])
    bpd[condition] = np.asarray(score(patches), np.float64)
    if bpd[condition].shape != values.shape:
      raise ValueError(f'the scorer returned shape {bpd[condition].shape} '
                       f'for {len(values)} stimuli.')
    log_prob[condition] = percentile.log_prob_from_bits_per_dim(
        bpd[condition], int(np.prod(patches.shape[1:])))
    weights['paper'][condition], pr['paper'][condition] = (
        percentile.paper_normalization(bpd[condition], sigma))
    weights['exact'][condition], pr['exact'][condition] = (
        percentile.exact_normalization(log_prob[condition]))
  test, reference = illusion.conditions
  matches = {m: percentile.match(values, pr[m][test], pr[m][reference],
                                 c_star) for m in METHODS}
  return SweepResult(illusion=illusion, values=values, bits_per_dim=bpd,
                     log_prob=log_prob, weights=weights, pr=pr,
                     matches=matches, c_star=c_star, sigma=float(sigma),
                     scorer=dict(getattr(score, 'description', {}) or {}))


def write_json(path, data):
  """Writes `data` as indented, key-sorted JSON and a final newline, the
  form of every JSON file the illusion commands write; returns `path`."""
  with open(path, 'w') as f:
    json.dump(data, f, indent=2, sort_keys=True)
    f.write('\n')
  return path


def write(result, out_dir, plot=True):
  """Writes `<name>.csv`, `<name>.json` and (with `plot`) the PNGs.

  Returns:
    The list of paths written.
  """
  os.makedirs(out_dir, exist_ok=True)
  name = result.illusion.name
  paths = [os.path.join(out_dir, f'{name}.csv'),
           os.path.join(out_dir, f'{name}.json')]
  columns = ['value']
  for condition in result.illusion.conditions:
    columns += [f'bits_per_dim_{condition}', f'log_prob_{condition}']
    for m in METHODS:
      columns += [f'likelihood_{m}_{condition}', f'pr_{m}_{condition}']
  with open(paths[0], 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    for k, value in enumerate(result.values):
      row = [value]
      for condition in result.illusion.conditions:
        row += [result.bits_per_dim[condition][k],
                result.log_prob[condition][k]]
        for m in METHODS:
          row += [result.weights[m][condition][k], result.pr[m][condition][k]]
      writer.writerow([f'{x:.10g}' for x in row])
  write_json(paths[1], result.summary())
  if plot:
    from tfp_glow.illusions import plots  # pylint: disable=g-import-not-at-top
    paths += plots.sweep_figures(result, out_dir)
  return paths

"""Illusion predictions across models: each model's sweep, and their spread.

One model's prediction can be luck of its seed or its photographs; [1]'s
claim is about the statistics of natural images, so it should hold for every
model trained on them. For N models `m = 1..N` and one illusion, `sweep.run`
gives per normalisation (paper, exact) the test and reference percentile
ranks at `c*`, `PR_m,test(c*)` and `PR_m,ref(c*)`, the matching value `c'_m`,
and `agree_m = [c'_m > c*]` (the perceived direction). For each quantity
`x_m` the aggregate is

    mean = (1/N) sum_m x_m,
    std  = sqrt((1/N) sum_m (x_m - mean)^2)   (ddof = 0: the spread of these
                                                N models, 0 for one model),
    min, max over m,

and the agreement is the count `n = sum_m agree_m` of N. The figure shows
each model's PR curve, their pointwise mean `(1/N) sum_m PR_m(v)` and the band
`[min_m PR_m(v), max_m PR_m(v)]`.

    results = ensemble.run({'a': score_a, 'b': score_b})
    summary = ensemble.write(results, out_dir)   # summary.json, summary.md,
    summary['whites']['aggregate']['paper']['agree']      # figures, per model

[1]: Hirsch & Tal. Color Visual Illusions: A Statistics-based Computational
     Model. NeurIPS 2020. arXiv 2005.08772.
"""

import os

import numpy as np

from tfp_glow.illusions import percentile
from tfp_glow.illusions import stimuli
from tfp_glow.illusions import sweep

__all__ = ['aggregate', 'markdown_table', 'model_names', 'run', 'statistics',
           'summarize', 'write']

# Per-model quantities aggregated, by their key in `percentile.match`.
_QUANTITIES = ('pr_test', 'pr_reference', 'c_match', 'shift')


def statistics(values):
  """`dict(mean, std, min, max, n)` of a sequence; std with ddof = 0."""
  x = np.asarray(values, np.float64)
  if x.ndim != 1 or not len(x):
    raise ValueError(f'expected a non-empty list of numbers, got {values!r}.')
  return dict(mean=float(x.mean()), std=float(x.std()), min=float(x.min()),
              max=float(x.max()), n=int(len(x)))


def aggregate(summaries):
  """The spread of one illusion's findings over models.

  Args:
    summaries: model name -> `SweepResult.summary()` of the same illusion.

  Returns:
    `dict(illusion, models, n_models, c_star, <method>: {...})`, for each of
    `sweep.METHODS` the `statistics` of `pr_test`, `pr_reference`, `c_match`
    and `shift`, `agree` (models predicting the perceived direction),
    `clipped` (models whose `c'` fell outside the sweep) and `n_models`.
  """
  if not summaries:
    raise ValueError('no models to aggregate.')
  names = list(summaries)
  illusions = {s['illusion'] for s in summaries.values()}
  if len(illusions) != 1:
    raise ValueError(f'summaries of different illusions: {sorted(illusions)}.')
  out = dict(illusion=illusions.pop(), models=names, n_models=len(names),
             c_star=summaries[names[0]]['c_star'])
  for method in sweep.METHODS:
    matches = [summaries[n]['match'][method] for n in names]
    entry = {q: statistics([m[q] for m in matches]) for q in _QUANTITIES}
    entry['agree'] = int(sum(bool(summaries[n]['agrees_with_perception'][method])
                             for n in names))
    entry['clipped'] = int(sum(bool(m['clipped']) for m in matches))
    entry['n_models'] = len(names)
    out[method] = entry
  return out


def model_names(paths):
  """Short unique names: the fewest trailing path components that differ.

  `['/tmp/ill_a/export', '/tmp/ill_b/export']` -> `['ill_a/export',
  'ill_b/export']`; `['.../models/seed0']` -> `['seed0']`.
  """
  parts = [os.path.normpath(os.path.abspath(p)).split(os.sep) for p in paths]
  for k in range(1, max(len(p) for p in parts) + 1):
    names = ['/'.join(p[-k:]) for p in parts]
    if len(set(names)) == len(names):
      return names
  raise ValueError(f'the same model is given twice: {paths}.')


def run(scorers, illusions=None, sigma=percentile.PAPER_SIGMA):
  """Every illusion's sweep with every model.

  Args:
    scorers: model name -> scorer (`scoring`).
    illusions: name -> `stimuli.Illusion`; None: `stimuli.ILLUSIONS`' defaults.
    sigma: the paper normalisation's smoothing, in sweep steps.

  Returns:
    illusion name -> model name -> `sweep.SweepResult`.
  """
  if illusions is None:
    illusions = {name: build() for name, build in stimuli.ILLUSIONS.items()}
  return {name: {model: sweep.run(score, illusion, sigma=sigma)
                 for model, score in scorers.items()}
          for name, illusion in illusions.items()}


def summarize(results):
  """illusion -> `dict(aggregate=aggregate(...), models={name: summary})`."""
  out = {}
  for name, by_model in results.items():
    models = {model: r.summary() for model, r in by_model.items()}
    out[name] = dict(aggregate=aggregate(models), models=models)
  return out


def _mean_spread(stats, digits):
  if stats['n'] == 1:
    return f"{stats['mean']:.{digits}f}"
  return (f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f} "
          f"({stats['min']:.{digits}f}..{stats['max']:.{digits}f})")


def markdown_table(summary):
  """A README-ready markdown table of `summarize(...)`: one row an illusion
  and normalisation, mean ± std (min..max) over models, agreement n of N."""
  lines = ['| illusion | normalisation | PR(c*) test | PR(c*) reference | '
           "c' | as perceived |", '|---|---|---|---|---|---|']
  for name, entry in summary.items():
    agg = entry['aggregate']
    first = next(iter(entry['models'].values()))
    test, reference = first['test_condition'], first['reference_condition']
    digits = 3 if agg['c_star'] <= 1 else 1  # saturation vs grey levels
    for method in sweep.METHODS:
      a = agg[method]
      lines.append(
          f'| {name}: {test} vs {reference}, c* = {agg["c_star"]:g} | {method} '
          f"| {_mean_spread(a['pr_test'], 2)} "
          f"| {_mean_spread(a['pr_reference'], 2)} "
          f"| {_mean_spread(a['c_match'], digits)} "
          f"| {a['agree']} of {a['n_models']} |")
  return '\n'.join(lines) + '\n'


def write(results, out_dir, plot=True):
  """Writes each model's sweep into `out_dir/<model>/` and the aggregate.

  `summary.json` (`summarize`), `summary.md` (`markdown_table`) and, with
  `plot`, `<illusion>_models.png` (every model's PR curves, mean and band).

  Returns:
    The `summarize(results)` dict.
  """
  os.makedirs(out_dir, exist_ok=True)
  for by_model in results.values():
    for model, result in by_model.items():
      sweep.write(result, os.path.join(out_dir, model), plot=plot)
  summary = summarize(results)
  sweep.write_json(os.path.join(out_dir, 'summary.json'), summary)
  with open(os.path.join(out_dir, 'summary.md'), 'w') as f:
    f.write(markdown_table(summary))
  if plot:
    from tfp_glow.illusions import plots  # pylint: disable=g-import-not-at-top
    for name, by_model in results.items():
      plots.ensemble_figure(by_model, summary[name]['aggregate'],
                            os.path.join(out_dir, f'{name}_models.png'))
  return summary

"""The matched pair of an illusion: the reference centre raised to look equal.

The Glow blog experiment on [1]'s saturation illusion
(`stimuli.saturation_illusion`): the same centre `c*` on a pale (test) and a
saturated (reference) surround. The model ranks the test centre higher,
`PR_test(c*) > PR_reference(c*)`; raising the reference centre's saturation
to `c'` with

    PR_reference(c') = PR_test(c*)

gives the pair the model calls equal, and `(c' - c*) / c*` is how much more
saturated the reference centre must be to look the same. `sweep.run` scores
both sweeps and `percentile.match` finds `c'`; this module draws the pair.

    result = matched_pair.run(score)               # a sweep.SweepResult
    matched_pair.write(result, out_dir)  # png, json, the sweep's files

[1]: Hirsch & Tal. Color Visual Illusions: A Statistics-based Computational
     Model. NeurIPS 2020. arXiv 2005.08772.
"""

import os

from tfp_glow.illusions import percentile
from tfp_glow.illusions import stimuli
from tfp_glow.illusions import sweep

__all__ = ['run', 'summary', 'write']


def run(score, illusion=None, c_star=None, sigma=percentile.PAPER_SIGMA):
  """`sweep.run` on `illusion` (default: the saturation illusion)."""
  return sweep.run(score, illusion or stimuli.saturation_illusion(),
                   c_star=c_star, sigma=sigma)


def summary(result, method='paper'):
  """The pair: `c*`, `c'`, the amount `c' - c*` (absolute and relative) and
  the PRs, for `method`."""
  test, reference = result.illusion.conditions
  m = result.matches[method]
  relative = m['relative_shift']
  return dict(
      illusion=result.illusion.name, axis=result.illusion.axis,
      method=method, test_condition=test, reference_condition=reference,
      c_star=m['c_star'], c_match=m['c_match'], shift=m['shift'],
      relative_shift=relative,
      amount=(f'{100 * relative:+.1f}%' if relative is not None else None),
      pr_test=m['pr_test'], pr_reference_before=m['pr_reference'],
      pr_reference_after=percentile.rank_at(
          result.values, result.pr[method][reference], m['c_match']),
      clipped=m['clipped'], predicted=m['predicted'],
      parameters=result.illusion.parameters, scorer=result.scorer)


def write(result, out_dir, method='paper'):
  """Writes `matched_pair.png`, `matched_pair.json` and the sweep's files.

  Returns:
    `summary(result, method)` and `files`, the paths written.
  """
  from tfp_glow.illusions import plots  # pylint: disable=g-import-not-at-top
  os.makedirs(out_dir, exist_ok=True)
  paths = [plots.matched_pair_figure(
      result, method, os.path.join(out_dir, 'matched_pair.png')),
           os.path.join(out_dir, 'matched_pair.json')]
  found = summary(result, method)
  sweep.write_json(paths[1], found)
  return dict(found, files=paths + sweep.write(result, out_dir))

"""Whether a finished run is a result: finite test bits/dim, few skipped steps.

A run under `--nan_policy=skip` never applies a non-finite update, so it can
reach `--train_steps` with every step after a blow-up skipped and weights that
evaluate to NaN. `divergence(...)` says why such a run is not a result (None
when it is); `train.run` then exports nothing and `train.main` exits 1.
"""

import math

__all__ = ['divergence']


def divergence(test_bpd, skipped_steps, steps, max_skipped_fraction):
  """A one-line reason the run diverged, or None.

  Args:
    test_bpd: the final test bits/dim.
    skipped_steps: steps whose non-finite loss or gradient was not applied
      (over the whole run, resumes included).
    steps: the run's global step.
    max_skipped_fraction: the largest share of skipped steps that still
      counts as a result (`--max_skipped_fraction`).
  """
  reasons = []
  if test_bpd is None or not math.isfinite(test_bpd):
    reasons.append(f'the final test bits/dim is {test_bpd}')
  if steps and skipped_steps / steps > max_skipped_fraction:
    reasons.append(
        f'{skipped_steps} of {steps} steps were skipped (non-finite loss or '
        f'gradient), more than --max_skipped_fraction={max_skipped_fraction:g}')
  if not reasons:
    return None
  return ('the run diverged: ' + ' and '.join(reasons) +
          '; nothing was exported. Lower --learning_rate, raise '
          '--warmup_steps or set --clip_grad_norm, in a new --workdir.')

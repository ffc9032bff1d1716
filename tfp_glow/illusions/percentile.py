"""Percentile ranks along a stimulus sweep, and the matching centre value.

For stimuli `k = 0..K-1` that differ only in the centre's value `v_k`, a
model's bits/dim `b_k` become weights `w_k` over the sweep, and the percentile
rank of stimulus `k` is

    PR_k = (w_0 + ... + w_k) / (w_0 + ... + w_{K-1}),

non-decreasing, in `(0, 1]`, with `PR_{K-1} = 1`. Two normalisations:

* `paper_normalization`: [1]'s released code, `w = G_sigma * exp(-b)`, a
  Gaussian smoothing (`sigma = 3` steps, scipy's `gaussian_filter1d` with its
  defaults: reflected edges, truncated at 4 sigma) of `exp(-bits/dim)`. Note
  `exp(-b)` is not the likelihood, `exp(-D b log 2)` is: the paper's curve is
  the likelihood to the power `1 / (D log 2)`, much flatter.
* `exact_normalization`: `w = softmax(log p)`, the model's discrete
  probabilities renormalised over the sweep, `log p_k = -D b_k log 2`.

`match(values, pr_test, pr_reference, c_star)` reads `PR_test(c*)` and finds
`c'`, the value at which the reference condition's PR equals it: the
reference centre that "looks like" the test centre at `c*`.

[1]: Hirsch & Tal. Color Visual Illusions: A Statistics-based Computational
     Model. NeurIPS 2020. arXiv 2005.08772.
"""

import math

import numpy as np

__all__ = [
    'exact_normalization',
    'gaussian_smooth',
    'log_prob_from_bits_per_dim',
    'match',
    'paper_normalization',
    'percentile_rank',
    'rank_at',
    'value_at_rank',
]

PAPER_SIGMA = 3.  # [1]'s image_patch_graph.py: gaussian_filter1d(sigma=3).


def gaussian_smooth(x, sigma, truncate=4.):
  """1-D Gaussian smoothing as `scipy.ndimage.gaussian_filter1d(x, sigma)`.

  Reflected edges (`d c b a | a b c d | d c b a`) and a kernel of radius
  `int(truncate * sigma + 0.5)`, normalised to sum 1. `sigma = 0` returns `x`.
  """
  x = np.asarray(x, np.float64)
  if x.ndim != 1:
    raise ValueError(f'expected a 1-D curve, got shape {x.shape}.')
  if sigma < 0:
    raise ValueError(f'`sigma` must be >= 0, got {sigma}.')
  if sigma == 0:
    return x.copy()
  radius = int(truncate * sigma + 0.5)
  offsets = np.arange(-radius, radius + 1)
  kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
  kernel /= kernel.sum()
  # scipy's 'reflect': index i -> i mod 2n, folded back into 0..n-1.
  n = len(x)
  index = np.arange(-radius, n + radius) % (2 * n)
  padded = x[np.where(index < n, index, 2 * n - 1 - index)]
  return np.convolve(padded, kernel, mode='valid')


def percentile_rank(weights):
  """`cumsum(w) / sum(w)` of non-negative weights, the last entry exactly 1."""
  weights = np.asarray(weights, np.float64)
  if weights.ndim != 1 or not len(weights):
    raise ValueError(f'expected a non-empty 1-D curve, got shape '
                     f'{weights.shape}.')
  if not np.all(np.isfinite(weights)) or np.any(weights < 0):
    raise ValueError('weights must be finite and non-negative.')
  total = np.cumsum(weights)
  if total[-1] <= 0:
    raise ValueError('weights must not all be zero.')
  return total / total[-1]


def paper_normalization(bits_per_dim, sigma=PAPER_SIGMA):
  """[1]'s weights `G_sigma * exp(-b)`, normalised to sum 1, and their PR."""
  b = np.asarray(bits_per_dim, np.float64)
  # exp(-b) with b ~ 1..10 bits/dim neither under- nor overflows; shifting by
  # the minimum keeps it so for any b and cancels in the normalisation.
  weights = gaussian_smooth(np.exp(-(b - b.min())), sigma)
  return weights / weights.sum(), percentile_rank(weights)


def log_prob_from_bits_per_dim(bits_per_dim, num_dims):
  """`log p = -D * bits/dim * log 2`, nats of the discrete image."""
  return -np.asarray(bits_per_dim, np.float64) * num_dims * math.log(2.)


def exact_normalization(log_prob):
  """`softmax(log p)` over the sweep and its PR (= cumsum of the softmax)."""
  log_prob = np.asarray(log_prob, np.float64)
  weights = np.exp(log_prob - log_prob.max())
  return weights / weights.sum(), percentile_rank(weights)


def rank_at(values, pr, value):
  """The PR at `value`, linearly interpolated between sweep steps."""
  values = np.asarray(values, np.float64)
  if not values[0] <= value <= values[-1]:
    raise ValueError(f'{value} lies outside the sweep '
                     f'[{values[0]}, {values[-1]}].')
  return float(np.interp(value, values, pr))


def value_at_rank(values, pr, rank):
  """The smallest value at which the piecewise-linear PR reaches `rank`.

  Returns:
    `(value, clipped)`: `clipped` is True when `rank` is below `pr[0]`
    (the answer would lie below the sweep; `values[0]` is returned).
  """
  values = np.asarray(values, np.float64)
  pr = np.asarray(pr, np.float64)
  if np.any(np.diff(pr) < 0):
    raise ValueError('`pr` must be non-decreasing.')
  k = int(np.searchsorted(pr, rank, side='left'))
  if k == 0:
    return float(values[0]), bool(rank < pr[0])
  if k == len(pr):  # rank above pr[-1] = 1 only by rounding
    return float(values[-1]), True
  lo, hi = pr[k - 1], pr[k]
  fraction = (rank - lo) / (hi - lo)
  return float(values[k - 1] + fraction * (values[k] - values[k - 1])), False


def match(values, pr_test, pr_reference, c_star):
  """`PR_test(c*)`, `PR_reference(c*)`, and `c'` with `PR_reference(c') =
  PR_test(c*)`.

  Returns:
    A dict: `c_star`, `pr_test` and `pr_reference` (at `c*`), `c_match`
    (`c'`), `shift` (`c' - c*`), `relative_shift` (`(c' - c*) / c*`, None at
    `c* = 0`), `clipped` (`c'` fell outside the sweep), and `predicted`:
    `'test higher'` when `c' > c*`, `'reference higher'` when `c' < c*`,
    `'equal'` when they differ by under a thousandth of a sweep step
    ("higher": perceived lighter, or more saturated).
  """
  c_star = float(c_star)
  rank_test = rank_at(values, pr_test, c_star)
  rank_reference = rank_at(values, pr_reference, c_star)
  c_match, clipped = value_at_rank(values, pr_reference, rank_test)
  shift = c_match - c_star
  # Shifts below a thousandth of a sweep step are rounding, not a prediction.
  tolerance = 1e-3 * float(np.min(np.diff(values)))
  predicted = ('test higher' if shift > tolerance else
               'reference higher' if shift < -tolerance else 'equal')
  return dict(c_star=c_star, pr_test=rank_test, pr_reference=rank_reference,
              c_match=c_match, shift=shift,
              relative_shift=shift / c_star if c_star else None,
              clipped=clipped, predicted=predicted)

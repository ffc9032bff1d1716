"""PNG figures of sweeps and heatmaps (matplotlib's Agg canvas, no display).

Figures are drawn on `matplotlib.figure.Figure` with an Agg canvas, so
importing this module leaves pyplot's backend alone.
"""

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ['ensemble_figure', 'heatmap_figure', 'manipulation_figures',
           'matched_pair_figure', 'sweep_figures']

_COLOURS = ('tab:blue', 'tab:orange')


def _save(fig, path):
  FigureCanvasAgg(fig)
  fig.savefig(path, dpi=110)
  return path


def _stimulus_strip(ax, illusion, condition, values):
  """A row of stimuli at `values`, 2-pixel white gaps, nearest-neighbour."""
  patches = [illusion.render(condition, v) for v in values]
  gap = np.full((patches[0].shape[0], 2, 3), 255, np.uint8)
  row = np.concatenate(sum(([p, gap] for p in patches), [])[:-1], axis=1)
  ax.imshow(row, interpolation='nearest')
  ax.set_xticks([(i + 0.5) * patches[0].shape[1] + 2 * i - 0.5
                 for i in range(len(values))])
  ax.set_xticklabels([f'{v:.3g}' for v in values])
  ax.set_yticks([])
  ax.set_ylabel(condition)


def sweep_figures(result, out_dir):
  """`<name>.png` (bits/dim, likelihood and PR curves) and `<name>_stimuli.png`.

  Returns:
    The paths written.
  """
  ill = result.illusion
  test, reference = ill.conditions
  values = result.values
  c_star = result.c_star
  paths = []

  fig = Figure(figsize=(11, 8.5))
  axes = fig.subplots(2, 2)
  ax = axes[0, 0]
  for condition, colour in zip(ill.conditions, _COLOURS):
    ax.plot(values, result.bits_per_dim[condition], color=colour,
            label=f'{condition} (surround {ill.surrounds[condition]:.3g})')
  ax.set(xlabel=ill.axis, ylabel='bits/dim', title='bits/dim per stimulus')
  ax.legend()
  for ax, method, title in (
      (axes[0, 1], 'paper', f'paper: smoothed exp(-bits/dim), sigma = '
       f'{result.sigma:g} steps'),
      (axes[1, 0], 'exact', 'exact: softmax(log p) over the sweep')):
    for condition, colour in zip(ill.conditions, _COLOURS):
      ax.plot(values, result.weights[method][condition], color=colour,
              label=condition)
      ax.axvline(ill.surrounds[condition], color=colour, lw=0.8, ls=':')
    ax.set(xlabel=ill.axis, ylabel='normalised likelihood', title=title)
    ax.legend()
  ax = axes[1, 1]
  for method, style in (('paper', '-'), ('exact', '--')):
    for condition, colour in zip(ill.conditions, _COLOURS):
      ax.plot(values, result.pr[method][condition], color=colour, ls=style,
              label=f'{condition}, {method}')
    m = result.matches[method]
    ax.plot([c_star, m['c_match']], [m['pr_test']] * 2, color='k', ls=style,
            lw=0.8, marker='o', ms=3)
  ax.axvline(c_star, color='k', lw=0.8, ls=':')
  m = result.matches['paper']
  ax.set(xlabel=ill.axis, ylabel='percentile rank', ylim=(-0.02, 1.02),
         title=f"c* = {c_star:.3g}: c' = {m['c_match']:.3g} (paper), "
         f"{result.matches['exact']['c_match']:.3g} (exact)")
  ax.legend(fontsize='small')
  fig.suptitle(f'{ill.name}: test "{test}" vs reference "{reference}"')
  fig.tight_layout()
  paths.append(_save(fig, os.path.join(out_dir, f'{ill.name}.png')))

  lo, hi = values[0], values[-1]
  shown = np.linspace(lo, hi, 9)
  shown = [values[np.argmin(np.abs(values - v))] for v in shown]
  fig = Figure(figsize=(11, 3.2))
  axes = fig.subplots(3, 1)
  for ax, condition in zip(axes[:2], ill.conditions):
    _stimulus_strip(ax, ill, condition, shown)
  matched = result.matches['paper']['c_match']
  # The pair the model calls equal: test at c*, reference at c' (paper).
  patches = [ill.render(test, c_star), ill.render(reference, matched)]
  gap = np.full((patches[0].shape[0], 4, 3), 255, np.uint8)
  axes[2].imshow(np.concatenate([patches[0], gap, patches[1]], axis=1),
                 interpolation='nearest')
  axes[2].set_xticks([])
  axes[2].set_yticks([])
  axes[2].set_title(f"equal PR (paper): {test} at c* = {c_star:.3g}, "
                    f"{reference} at c' = {matched:.3g}", fontsize='small')
  fig.tight_layout()
  paths.append(_save(fig, os.path.join(out_dir, f'{ill.name}_stimuli.png')))
  return paths


def heatmap_figure(image, bits_per_dim, window, stride, path, title=None):
  """The image and its window bits/dim (each value at its window's centre)."""
  rows, cols = bits_per_dim.shape
  half = window / 2.
  extent = (half - stride / 2. - 0.5, half + (cols - 0.5) * stride - 0.5,
            half + (rows - 0.5) * stride - 0.5, half - stride / 2. - 0.5)
  fig = Figure(figsize=(11, 4.6))
  axes = fig.subplots(1, 2)
  # A greyscale image [H, W, 1] in grey levels, not a colour map.
  grey = dict(cmap='gray', vmin=0, vmax=255) if image.shape[-1] == 1 else {}
  pixels = image[..., 0] if grey else image
  axes[0].imshow(pixels, **grey)
  axes[0].set_title(title or 'image')
  axes[1].imshow(pixels, **grey)
  shown = axes[1].imshow(bits_per_dim, cmap='hot_r', alpha=0.6, extent=extent,
                         interpolation='nearest')
  axes[1].set_xlim(-0.5, image.shape[1] - 0.5)
  axes[1].set_ylim(image.shape[0] - 0.5, -0.5)
  axes[1].set_title(f'bits/dim, {window}x{window} windows, stride {stride}'
                    '\n(light: likely)', fontsize='medium')
  fig.colorbar(shown, ax=axes[1], label='bits/dim')
  fig.tight_layout()
  return _save(fig, path)


def ensemble_figure(results, aggregate, path):
  """One illusion's PR curves under several models: each model (thin), the
  pointwise mean (thick) and the min..max band, one panel a normalisation.

  Args:
    results: model name -> `sweep.SweepResult` of one illusion.
    aggregate: `ensemble.aggregate` of their summaries (for the titles).
    path: the PNG to write.
  """
  first = next(iter(results.values()))
  ill, values = first.illusion, first.values
  fig = Figure(figsize=(10, 4.2))
  axes = fig.subplots(1, 2)
  for ax, method in zip(axes, ('paper', 'exact')):
    for condition, colour in zip(ill.conditions, _COLOURS):
      curves = np.stack([r.pr[method][condition] for r in results.values()])
      for curve in curves:
        ax.plot(values, curve, color=colour, lw=0.6, alpha=0.5)
      ax.fill_between(values, curves.min(0), curves.max(0), color=colour,
                      alpha=0.2, lw=0)
      ax.plot(values, curves.mean(0), color=colour, lw=2,
              label=f'{condition} (mean of {len(curves)})')
    ax.axvline(first.c_star, color='k', lw=0.8, ls=':')
    a = aggregate[method]
    ax.set(xlabel=ill.axis, ylabel='percentile rank', ylim=(-0.02, 1.02),
           title=f"{method}: c' = {a['c_match']['mean']:.3g} "
           f"(range {a['c_match']['min']:.3g}..{a['c_match']['max']:.3g}), "
           f"{a['agree']} of {a['n_models']} as perceived",
           )
    ax.title.set_fontsize('small')
    ax.legend(fontsize='small')
  fig.suptitle(f'{ill.name}: {len(results)} models, c* = {first.c_star:.3g}')
  fig.tight_layout()
  return _save(fig, path)


def _outline(ax, mask, colour):
  ax.contour(mask.astype(float), levels=[0.5], colors=[colour],
             linewidths=0.8)


def manipulation_figures(result, out_dir):
  """`manipulation.png` (before, after, with the regions outlined) and
  `pr_curve.png` (the region's PR along the axis, before and after).

  Returns:
    The paths written.
  """
  summary = result.summary()
  fig = Figure(figsize=(9, 3.7))
  axes = fig.subplots(1, 2)
  for ax, image, title in (
      (axes[0], result.image, f'before: PR {summary["pr_before"]:.3f}'),
      (axes[1], result.edited,
       f'after: {result.axis} {summary["shift"]:+.3f}, PR '
       f'{summary["pr_after"]:.3f} (target {summary["target"]:.3f})')):
    ax.imshow(image)
    _outline(ax, result.mask, 'tab:red')
    if result.match_mask is not None:
      _outline(ax, result.match_mask, 'tab:cyan')
    ax.set_title(title, fontsize='medium')
    ax.set_xticks([])
    ax.set_yticks([])
  if result.match_mask is not None:
    fig.suptitle(f'red region matched to the cyan one (PR '
                 f'{summary["match_pr_before"]:.3f})', fontsize='medium')
  fig.tight_layout()
  paths = [_save(fig, os.path.join(out_dir, 'manipulation.png'))]

  fig = Figure(figsize=(6.4, 4.4))
  ax = fig.subplots()
  ax.plot(result.before.shifts, result.before.pr, color=_COLOURS[0],
          label='region as it was')
  ax.plot(result.after.shifts + result.shift, result.after.pr,
          color=_COLOURS[1], ls='--', label='edited (shifts re-based)')
  ax.axhline(result.target, color='k', lw=0.8, ls=':', label='target PR')
  ax.plot([0.], [summary['pr_before']], 'o', color=_COLOURS[0], ms=5)
  ax.plot([result.shift], [summary['pr_after']], 'o', color=_COLOURS[1],
          ms=5)
  ax.set(xlabel=f'shift of the region\'s {result.axis}',
         ylabel='percentile rank', ylim=(-0.02, 1.02),
         title=f'{result.axis}: shift {result.shift:+.3f}, PR '
         f'{summary["pr_before"]:.3f} -> {summary["pr_after"]:.3f}')
  ax.legend(fontsize='small')
  fig.tight_layout()
  paths.append(_save(fig, os.path.join(out_dir, 'pr_curve.png')))
  return paths


def matched_pair_figure(result, method, path):
  """The test centre at `c*`, the reference at `c*` and at `c'` (matched).

  `result`: a `sweep.SweepResult`; `method`: the match shown.
  """
  ill = result.illusion
  test, reference = ill.conditions
  m = result.matches[method]
  relative = m['relative_shift']
  amount = (f'{100 * relative:+.1f}%' if relative is not None else
            f'{m["shift"]:+.3g}')
  shown = ((test, m['c_star'], f'{test} surround\ncentre {m["c_star"]:.3g}'),
           (reference, m['c_star'],
            f'{reference} surround\nsame centre {m["c_star"]:.3g}'),
           (reference, m['c_match'],
            f'{reference} surround\ncentre {m["c_match"]:.3g} ({amount})'))
  fig = Figure(figsize=(8, 3.8))
  axes = fig.subplots(1, 3)
  for ax, (condition, value, title) in zip(axes, shown):
    ax.imshow(ill.render(condition, value), interpolation='nearest')
    ax.set_title(title, fontsize='medium')
    ax.set_xticks([])
    ax.set_yticks([])
  fig.suptitle(f'{ill.name}: the {reference}-surround centre raised '
               f'{amount} ({ill.axis})\nhas the {test}-surround centre\'s '
               f'PR, {m["pr_test"]:.3f} ({method})', fontsize='medium')
  fig.tight_layout()
  return _save(fig, path)

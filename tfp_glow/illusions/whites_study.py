"""White's illusion under each stimulus geometry and model: a table.

Runs `sweep.run` on `stimuli.whites_illusion` for every configuration in
`CONFIGURATIONS` (stripe width, bar height and width, orientation, phase
offset) and every model, and tabulates, per normalisation, `PR_black(c*)`,
`PR_white(c*)`, `c'` and whether the model predicts the perceived direction
(`c' > c*`: the bar on the black stripe looks lighter). The aggregate over
models is `ensemble.aggregate`.

    python -m tfp_glow.illusions whites-study --models='/tmp/ill_*/export' \\
        --out=/tmp/whites_study

writes `whites_study.md` (the table), `whites_study.json` (every number) and
`whites_study_stimuli.png` (each configuration at `c* = 128`).
"""

import dataclasses
import os

import numpy as np

from tfp_glow.illusions import ensemble
from tfp_glow.illusions import percentile
from tfp_glow.illusions import stimuli
from tfp_glow.illusions import sweep

__all__ = ['CONFIGURATIONS', 'Configuration', 'markdown_table', 'run',
           'write']


@dataclasses.dataclass(frozen=True)
class Configuration:
  """One White's stimulus geometry (`stimuli.whites`' parameters) and why."""
  name: str
  stripe_width: int
  bar_height: int
  bar_width: int
  orientation: str = 'vertical'
  offset: int = 0
  note: str = ''

  def illusion(self):
    return stimuli.whites_illusion(
        self.stripe_width, self.bar_height, bar_width=self.bar_width,
        orientation=self.orientation, offset=self.offset)


CONFIGURATIONS = (
    Configuration('default', 1, 4, 1,
                  note='WE_thin at 1 px per bar (the default)'),
    Configuration('default-horizontal', 1, 4, 1, 'horizontal',
                  note='orientation'),
    Configuration('default-offset1', 1, 4, 1, offset=1, note='phase'),
    Configuration('s1-h2', 1, 2, 1, note='shorter bar (more collinear contact)'),
    Configuration('s1-h8', 1, 8, 1, note='longer bar'),
    Configuration('previous', 2, 8, 2,
                  note='the previous default (ends cut short)'),
    Configuration('previous-horizontal', 2, 8, 2, 'horizontal',
                  note='orientation'),
    Configuration('previous-offset1', 2, 8, 2, offset=1,
                  note='stripes on the 2x2 squeeze grid'),
    Configuration('s2-h4', 2, 4, 2, note='bar 1 x 2 stripe widths'),
    Configuration('s2-h4-offset1', 2, 4, 2, offset=1,
                  note='as s2-h4, on the squeeze grid'),
    Configuration('s2-h6', 2, 6, 2, note='bar 1 x 3 (Blakeslee & McCourt)'),
    Configuration('s2-h12', 2, 12, 2, note='long bar, ends 2 px'),
    Configuration('s2-w1', 2, 8, 1, note='bar half a stripe wide'),
    Configuration('s3-h6', 3, 6, 3, note='wider stripes'),
    Configuration('s4-h8', 4, 8, 4, note='wider stripes, 4 across'),
    Configuration('s4-h8-w2', 4, 8, 2, note='bar half a stripe wide'),
    Configuration('s4-h4', 4, 4, 4, note='square bar'),
)


def run(scorers, configurations=CONFIGURATIONS, sigma=percentile.PAPER_SIGMA):
  """Scores every configuration with every model.

  Returns:
    A list of `dict(configuration, parameters, aggregate, models)`, one per
    configuration: `models` maps model name -> `SweepResult.summary()`.
  """
  rows = []
  for config in configurations:
    illusion = config.illusion()
    models = {name: sweep.run(score, illusion, sigma=sigma).summary()
              for name, score in scorers.items()}
    rows.append(dict(configuration=config.name, note=config.note,
                     parameters=illusion.parameters,
                     aggregate=ensemble.aggregate(models), models=models))
  return rows


def _pr(summary, method):
  m = summary['match'][method]
  return f"{m['pr_test']:.2f} / {m['pr_reference']:.2f}"


def markdown_table(rows):
  """One line per configuration and model (and the aggregate over models)."""
  lines = ['| configuration | stripe | bar h x w | orientation | offset | '
           'model | PR black / white (paper) | agrees (paper) | '
           "c' (paper) | PR black / white (exact) | agrees (exact) |",
           '|---|---|---|---|---|---|---|---|---|---|---|']
  for row in rows:
    p = row['parameters']
    geometry = (f"| {row['configuration']} | {p['stripe_width']} | "
                f"{p['bar_height']} x {p['bar_width']} | {p['orientation']} | "
                f"{p['offset']} |")
    for name, s in row['models'].items():
      lines.append(
          f"{geometry} {name} | {_pr(s, 'paper')} | "
          f"{'yes' if s['agrees_with_perception']['paper'] else 'no'} | "
          f"{s['match']['paper']['c_match']:.1f} | {_pr(s, 'exact')} | "
          f"{'yes' if s['agrees_with_perception']['exact'] else 'no'} |")
    agg = row['aggregate']
    if agg['n_models'] > 1:
      lines.append(
          f"{geometry} all {agg['n_models']} | "
          f"{agg['paper']['pr_test']['mean']:.2f} / "
          f"{agg['paper']['pr_reference']['mean']:.2f} | "
          f"{agg['paper']['agree']} of {agg['n_models']} | "
          f"{agg['paper']['c_match']['mean']:.1f} | "
          f"{agg['exact']['pr_test']['mean']:.2f} / "
          f"{agg['exact']['pr_reference']['mean']:.2f} | "
          f"{agg['exact']['agree']} of {agg['n_models']} |")
  return '\n'.join(lines) + '\n'


def write(rows, out_dir, configurations=CONFIGURATIONS, plot=True):
  """`whites_study.md`, `whites_study.json` and (with `plot`) the stimuli."""
  os.makedirs(out_dir, exist_ok=True)
  paths = [os.path.join(out_dir, 'whites_study.md'),
           os.path.join(out_dir, 'whites_study.json')]
  with open(paths[0], 'w') as f:
    f.write(markdown_table(rows))
  sweep.write_json(paths[1], rows)
  if plot:
    paths.append(_stimuli_figure(configurations, os.path.join(
        out_dir, 'whites_study_stimuli.png')))
  return paths


def _stimuli_figure(configurations, path):
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  n = len(configurations)
  fig = Figure(figsize=(1.1 * n, 2.6))
  axes = fig.subplots(2, n, squeeze=False)
  for j, config in enumerate(configurations):
    illusion = config.illusion()
    for i, condition in enumerate(illusion.conditions):
      ax = axes[i, j]
      ax.imshow(illusion.render(condition, 128.), interpolation='nearest')
      ax.set_xticks([])
      ax.set_yticks([])
      if i == 0:
        ax.set_title(config.name, fontsize=6)
      if j == 0:
        ax.set_ylabel(condition, fontsize=7)
  fig.tight_layout()
  FigureCanvasAgg(fig)
  fig.savefig(path, dpi=90)
  return path

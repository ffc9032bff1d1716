"""Visual illusions from a Glow patch model's exact likelihood.

Hirsch & Tal [1] explain brightness and colour illusions by the likelihood of
natural-image patches: a stimulus's centre value is perceived by its
percentile rank among the values it could take in that context. This package
renders the stimuli (`stimuli`), scores them with any model through a scorer
(`scoring`: an in-process `tfp_glow.glow` or a SavedModel export), turns the
sweep's bits/dim into percentile ranks and matches them (`percentile`,
`sweep`, `matched_pair`), scores every window of an image (`heatmap`), moves
a photograph's region to a target percentile rank (`manipulate`), and draws
the results (`plots`). `python -m tfp_glow.illusions brightness --out=DIR`
runs it on the embedded patch model (see `cli`).

    score = illusions.scorer_from_distribution(dist, n_bits=5, draws=4)
    result = illusions.run(score, illusions.brightness_illusion())
    result.matches['paper']['c_match']     # c', where the light surround's
                                           # PR equals the dark one's at c*

[1]: Hirsch & Tal. Color Visual Illusions: A Statistics-based Computational
     Model. NeurIPS 2020. arXiv 2005.08772.
"""

from tfp_glow.illusions import ensemble
from tfp_glow.illusions import heatmap
from tfp_glow.illusions import manipulate
from tfp_glow.illusions import matched_pair
from tfp_glow.illusions import percentile
from tfp_glow.illusions import scoring
from tfp_glow.illusions import stimuli
from tfp_glow.illusions import sweep
from tfp_glow.illusions.heatmap import window_bits_per_dim
from tfp_glow.illusions.scoring import Scorer
from tfp_glow.illusions.scoring import scorer_from_distribution
from tfp_glow.illusions.scoring import scorer_from_saved_model
from tfp_glow.illusions.stimuli import brightness_illusion
from tfp_glow.illusions.stimuli import saturation_illusion
from tfp_glow.illusions.stimuli import whites_illusion
from tfp_glow.illusions.sweep import run
from tfp_glow.illusions.sweep import write

__all__ = [
    'Scorer',
    'brightness_illusion',
    'ensemble',
    'heatmap',
    'manipulate',
    'matched_pair',
    'percentile',
    'run',
    'saturation_illusion',
    'scorer_from_distribution',
    'scorer_from_saved_model',
    'scoring',
    'stimuli',
    'sweep',
    'whites_illusion',
    'window_bits_per_dim',
    'write',
]

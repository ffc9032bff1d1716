"""Diagnostics of a trained Glow: numerical invertibility (see
`tfp_glow.diagnostics.measures`) and its command line,
`python -m tfp_glow.diagnostics`."""

from tfp_glow.diagnostics.measures import float64_copy
from tfp_glow.diagnostics.measures import image_sets
from tfp_glow.diagnostics.measures import invertibility
from tfp_glow.diagnostics.measures import load_saved_model
from tfp_glow.diagnostics.measures import report

__all__ = ['float64_copy', 'image_sets', 'invertibility', 'load_saved_model',
           'report']

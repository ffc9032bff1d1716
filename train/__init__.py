"""The training program: `python -m train.main --flagfile=demo.flags`.

`train.run` and `train.build_flow` are imported on first use, so that
`python -m train.main` can quiet TensorFlow before anything imports it.
"""

import importlib

__all__ = ['build_flow', 'run']

_LAZY = {'build_flow': 'train.flow', 'run': 'train.loop'}


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module(_LAZY[name]), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

"""The training program: `python -m train.main --flagfile=demo.flags`."""

from train.flow import build_flow
from train.loop import run

__all__ = ['build_flow', 'run']

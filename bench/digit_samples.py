r"""How many of a digit model's samples are recognisable digits, measured.

    PYTHONPATH=. python bench/digit_samples.py /tmp/glow_demo [more ...]
    PYTHONPATH=. python bench/digit_samples.py /tmp/glow_demo \
        --temperatures=0.5,0.7,1

For each export (a workdir, an `export/` folder or a version; the newest
version is used) it draws `--n` samples at each temperature with the
SavedModel's `sample` signature and classifies their 28x28 centres (the
embedded digits are 28x28 padded to 32x32) with two classifiers fitted to
the demo's 4,500 training digits (`embedded_mnist_split(0.1)`, the split
`demo.flags` trains on): a scikit-learn MLP (784-256-10, early stopping)
and the 10 nearest training digits in pixel space. A sample is
*recognisable* when both name the same digit, the MLP with probability >=
`--threshold` (0.9) and at least 8 of the 10 neighbours. Either alone is
fooled by blobs (the MLP calls 40% of the blurred noise below a digit at
0.9; the neighbours agree on 30% of it); together they pass 1% of it and
73% of the held-out real digits.

The same test reads three references, printed first:

  test digits   the 500 held-out real digits: the ceiling;
  blurred noise Gaussian noise smoothed and thresholded to digit-like
                strokes at the digits' ink density: blobs, the floor;
  shuffled      held-out digits with their pixels permuted.

A good measure puts the test digits high and the two blob references near
0; the script reports them so that the reader can judge the measure as well
as the models, and each model's fraction also as a share of the test
digits'. It also prints how the recognisable samples spread over the
ten digits (a model that only draws ones would score high otherwise), and a
last line of JSON. A class-conditional model is asked for each digit in
turn, and a sample counts only if it is recognised as the digit asked for.
"""

import argparse
import json
import os
import sys

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
  sys.path.insert(0, _REPO)


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('models', nargs='+', help='workdirs or exports')
  parser.add_argument('--temperatures', default='0.7')
  parser.add_argument('--n', type=int, default=256)
  parser.add_argument('--threshold', type=float, default=0.9)
  parser.add_argument('--seed', type=int, default=0)
  return parser.parse_args(argv)


def centre(images):
  """`[N, 32, 32, 1]` uint8 -> `[N, 784]` in [0, 1]: the 28x28 centres."""
  return images[:, 2:30, 2:30, 0].reshape(len(images), -1) / 255.


def digit_classifiers(seed=0):
  """`(MLP, 10 nearest neighbours)` fitted to the 4,500 embedded training
  digits."""
  from sklearn import neighbors  # pylint: disable=g-import-not-at-top
  from sklearn import neural_network  # pylint: disable=g-import-not-at-top
  from tfp_glow import embedded_data  # pylint: disable=g-import-not-at-top
  (images, labels), _ = embedded_data.embedded_mnist_split(0.1)
  x = centre(images)
  mlp = neural_network.MLPClassifier(
      hidden_layer_sizes=(256,), early_stopping=True, max_iter=200,
      random_state=seed).fit(x, labels)
  return mlp, neighbors.KNeighborsClassifier(10).fit(x, labels)


def recognisable(classifiers, x, threshold, labels=None):
  """`(fraction recognisable, count of recognisable per digit)`; with
  `labels` (the classes a conditional model was asked for), only samples
  recognised as their label count."""
  mlp, neighbours = (c.predict_proba(x) for c in classifiers)
  digit = mlp.argmax(axis=1)
  sure = ((mlp.max(axis=1) >= threshold) & (neighbours.max(axis=1) >= 0.8) &
          (neighbours.argmax(axis=1) == digit))
  if labels is not None:
    sure &= digit == labels
  counts = np.bincount(digit[sure], minlength=10)
  return float(sure.mean()), counts.tolist()


def references(n, seed):
  """`{name: [n, 784]}` the test digits, blurred noise and shuffled digits."""
  from scipy import ndimage  # pylint: disable=g-import-not-at-top
  from tfp_glow import embedded_data  # pylint: disable=g-import-not-at-top
  _, (test, _) = embedded_data.embedded_mnist_split(0.1)
  test = centre(test)[:n]
  rng = np.random.default_rng(seed)
  ink = float((test > 0.5).mean())
  noise = ndimage.gaussian_filter(rng.normal(size=(len(test), 28, 28)),
                                  sigma=(0, 1.5, 1.5))
  cut = np.quantile(noise, 1 - ink, axis=(1, 2), keepdims=True)
  blobs = (noise > cut).reshape(len(test), -1).astype(float)
  shuffled = np.array([row[rng.permutation(784)] for row in test])
  return {'test digits': test, 'blurred noise': blobs, 'shuffled': shuffled}


def samples(path, n, temperature, seed):
  """`([n, 784] samples, labels)` of the export at `path` (a workdir, export
  dir or version); a class-conditional model is asked for digit `i mod 10`
  in sample `i` (`labels`; None for an unconditional model)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tfp_glow import export  # pylint: disable=g-import-not-at-top
  found = export.find_saved_model(path)
  if found is None:
    raise SystemExit(f'digit_samples: no SavedModel in {path}')
  loaded = export.load(found)
  labels = np.arange(n) % 10 if hasattr(loaded, 'classify') else None
  kwargs = {} if labels is None else {'labels': tf.constant(labels, tf.int32)}
  images = loaded.sample(n=tf.constant(n), temperature=tf.constant(
      temperature, tf.float32), seed=tf.constant(seed, tf.int64),
                         **kwargs)['images']
  return centre(images.numpy()), labels


def main(argv=None):
  args = parse_args(argv)
  temperatures = [float(t) for t in args.temperatures.split(',')]
  classifiers = digit_classifiers(args.seed)
  result = {'threshold': args.threshold, 'n': args.n, 'references': {},
            'models': {}}
  print(f'recognisable = an MLP (probability >= {args.threshold}) and 8 of '
        'the 10 nearest training digits name the same digit')
  for name, x in references(args.n, args.seed).items():
    fraction, counts = recognisable(classifiers, x, args.threshold)
    result['references'][name] = fraction
    print(f'  {name:>14}: {fraction:.2f}')
  ceiling = result['references']['test digits']
  for path in args.models:
    result['models'][path] = {}
    for temperature in temperatures:
      x, labels = samples(path, args.n, temperature, args.seed)
      fraction, counts = recognisable(classifiers, x, args.threshold, labels)
      result['models'][path][str(temperature)] = dict(
          fraction=fraction, of_test_digits=fraction / ceiling,
          per_digit=counts)
      print(f'{path} T={temperature}: {fraction:.2f} recognisable '
            f'({fraction / ceiling:.2f} of the test digits\' rate); '
            f'per digit {counts}')
  print(json.dumps(result))


if __name__ == '__main__':
  main()

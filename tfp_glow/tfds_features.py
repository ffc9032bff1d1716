"""Finding features in tfds datasets: the image, and nested `a/b` features."""

__all__ = ['feature', 'feature_names', 'image_key']


def image_key(features):
  """The key of the image feature of a tfds `FeaturesDict`.

  `'image'` when there is one, else the first `tfds.features.Image`.

  Raises:
    ValueError: the dataset has no image feature.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  if 'image' in features:
    return 'image'
  for key, value in features.items():
    if isinstance(value, tfds.features.Image):
      return key
  raise ValueError(f'the dataset has no image feature: {features}')


def feature(features, key):
  """`features['a/b']` as `features['a']['b']` (tfds nested features).

  Works on a `FeaturesDict` and on an example's dict of tensors alike.

  Raises:
    KeyError: no such feature.
  """
  for part in key.split('/'):
    features = features[part]
  return features


def feature_names(features, prefix=''):
  """Every leaf feature's `a/b` name, in order."""
  names = []
  for key, value in features.items():
    if hasattr(value, 'items') and not hasattr(value, 'num_classes'):
      names += feature_names(value, f'{prefix}{key}/')
    else:
      names.append(prefix + key)
  return names

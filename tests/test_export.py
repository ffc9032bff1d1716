"""The SavedModel export: TensorFlow alone reproduces the in-process numbers."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tests import checks
from tfp_glow import export

N_BITS = 5


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  dist = tfp_glow.glow((8, 8, 3), num_levels=2, num_steps=2,
                       hidden_channels=16, seed=0)
  # Random weights: with fresh (zero) coupling outputs, a comparison of the
  # export with the model could not see the coupling networks.
  checks.randomize(dist, seed=3)
  base = str(tmp_path_factory.mktemp('export'))
  path = export.save(dist, base, n_bits=N_BITS, step=7,
                     config=dict(dataset='unit-test'))
  return dist, base, path


def _images(n=3, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), np.uint8)


def test_layout_config_and_no_overwrite(exported):
  dist, base, path = exported
  assert path == os.path.join(base, '7')
  assert export.latest_version(base) == path
  config = export.load_config(path)
  assert config['image_shape'] == [8, 8, 3] and config['n_bits'] == N_BITS
  assert config['step'] == 7 and config['num_levels'] == 2
  assert config['num_steps'] == 2 and config['dataset'] == 'unit-test'
  before = os.listdir(path)
  with pytest.raises(FileExistsError, match='never overwritten'):
    export.save(dist, base, n_bits=N_BITS, step=7)
  assert os.listdir(path) == before
  assert not [d for d in os.listdir(base) if d.startswith('.tmp')]


def test_loads_with_tensorflow_alone_and_matches(exported, tmp_path):
  dist, _, path = exported
  images = _images()
  floats = np.random.default_rng(1).uniform(size=(2, 8, 8, 3)).astype(
      np.float32)
  np.save(tmp_path / 'images.npy', images)
  np.save(tmp_path / 'floats.npy', floats)
  script = textwrap.dedent(f"""
      import json, sys
      import numpy as np
      import tensorflow as tf
      m = tf.saved_model.load({path!r})
      images = np.load({str(tmp_path / 'images.npy')!r})
      floats = np.load({str(tmp_path / 'floats.npy')!r})
      out = m.signatures['serving_default'](images=tf.constant(images))
      lp = m.signatures['log_prob'](images=tf.constant(floats))['log_prob']
      enc = m.signatures['encode'](images=tf.constant(floats))
      dec = m.signatures['decode'](z=enc['z'])['images']
      s1 = m.signatures['sample'](n=tf.constant(4), temperature=tf.constant(
          0.8), seed=tf.constant(11, tf.int64))['images']
      s2 = m.signatures['sample'](n=tf.constant(4), temperature=tf.constant(
          0.8), seed=tf.constant(11, tf.int64))['images']
      assert not any(k.startswith(('tfp_glow', 'tensorflow_probability',
                                   'bijectors')) for k in sys.modules)
      print(json.dumps(dict(
          bpd=out['bits_per_dim'].numpy().tolist(),
          log_prob=lp.numpy().tolist(), z=enc['z'].numpy().tolist(),
          levels=[enc[f'level_{{i}}'].shape.as_list() for i in (1, 2)],
          roundtrip=float(np.abs(dec.numpy() - floats).max()),
          same_samples=bool(np.array_equal(s1, s2)),
          sample_dtype=s1.dtype.name, sample_shape=s1.shape.as_list())))
  """)
  result = subprocess.run([sys.executable, '-c', script], capture_output=True,
                          text=True, check=True, timeout=300)
  out = json.loads(result.stdout.strip().splitlines()[-1])
  expected_bpd = tfp_glow.bits_per_dim(dist, images, N_BITS, seed='midpoint')
  np.testing.assert_allclose(out['bpd'], expected_bpd, rtol=1e-5)
  np.testing.assert_allclose(out['log_prob'], dist.log_prob(floats),
                             rtol=1e-5)
  z, _ = tfp_glow.encode(dist, floats)
  np.testing.assert_allclose(out['z'], z, rtol=1e-5, atol=1e-5)
  assert out['levels'] == [[2, 4, 4, 6], [2, 2, 2, 24]]
  assert out['roundtrip'] < 1e-4
  assert out['same_samples']
  assert out['sample_dtype'] == 'uint8' and out['sample_shape'] == [4, 8, 8, 3]


def test_bad_inputs_are_rejected_with_clear_errors(exported):
  _, _, path = exported
  m = tf.saved_model.load(path)
  serve = m.signatures['serving_default']
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'expected images of shape \[N, 8, 8, 3\], got '
                     r'shape \[2 8 4 3\]'):
    serve(images=tf.zeros([2, 8, 4, 3], tf.uint8))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'expected images of shape \[N, 8, 8, 3\]'):
    m.signatures['log_prob'](images=tf.zeros([1, 8, 8, 1]))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'expected latents of shape \[N, 192\]'):
    m.signatures['decode'](z=tf.zeros([1, 10]))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='expected to be a uint8 tensor but is a float'):
    serve(images=tf.zeros([2, 8, 8, 3], tf.float32))


def test_every_signature_takes_an_empty_batch(exported):
  _, _, path = exported
  m = tf.saved_model.load(path)
  signatures = m.signatures
  none_uint8 = tf.zeros([0, 8, 8, 3], tf.uint8)
  none_float = tf.zeros([0, 8, 8, 3])
  shapes = lambda out: {k: v.shape.as_list() for k, v in out.items()}
  assert shapes(signatures['serving_default'](images=none_uint8)) == {
      'bits_per_dim': [0], 'log_prob': [0]}
  assert shapes(signatures['log_prob'](images=none_float)) == {
      'log_prob': [0]}
  assert shapes(signatures['encode'](images=none_float)) == {
      'z': [0, 192], 'level_1': [0, 4, 4, 6], 'level_2': [0, 2, 2, 24]}
  assert shapes(signatures['decode'](z=tf.zeros([0, 192]))) == {
      'images': [0, 8, 8, 3]}
  sample = signatures['sample'](n=tf.constant(0), temperature=tf.constant(
      1.), seed=tf.constant(1, tf.int64))['images']
  assert sample.shape == [0, 8, 8, 3] and sample.dtype == tf.uint8


def test_rank_3_images_and_bad_temperatures_are_named(exported):
  _, _, path = exported
  m = tf.saved_model.load(path)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'expected images of shape \[N, 8, 8, 3\], got '
                     r'shape \[8 8 3\]'):
    m.signatures['serving_default'](images=tf.zeros([8, 8, 3], tf.uint8))
  for name in ('log_prob', 'encode'):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r'expected images of shape \[N, 8, 8, 3\]'):
      m.signatures[name](images=tf.zeros([8, 8, 3]))
  for temperature in (np.inf, np.nan, -1.):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match='`temperature` must be finite and >= 0'):
      m.signatures['sample'](n=tf.constant(2), temperature=tf.constant(
          temperature, tf.float32), seed=tf.constant(1, tf.int64))


def test_saved_model_cli_runs_it(exported, tmp_path):
  _, _, path = exported
  cli = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')
  if not os.path.exists(cli):
    pytest.skip('saved_model_cli not installed beside this python')
  np.save(tmp_path / 'grey.npy', np.full((2, 8, 8, 3), 128, np.uint8))
  out = subprocess.run(
      [cli, 'run', '--dir', path, '--tag_set', 'serve', '--signature_def',
       'serving_default', '--inputs', f'images={tmp_path / "grey.npy"}'],
      capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'bits_per_dim' in out.stdout


def test_class_conditional_export_takes_labels(tmp_path):
  dist = tfp_glow.glow((4, 4, 1), num_levels=1, num_steps=1,
                       hidden_channels=4, num_classes=3)
  for v in dist.trainable_variables:
    v.assign(v + 0.1 * np.random.default_rng(0).standard_normal(v.shape))
  images = np.random.default_rng(2).integers(0, 256, (3, 4, 4, 1), np.uint8)
  labels = np.array([0, 2, 1], np.int32)
  tfp_glow.initialize(dist, tfp_glow.dequantize(images, 5, seed=[0, 0]),
                      labels=labels)
  path = export.save(dist, str(tmp_path), n_bits=5)
  m = tf.saved_model.load(path)
  out = m.signatures['serving_default'](images=tf.constant(images),
                                        labels=tf.constant(labels))
  np.testing.assert_allclose(
      out['log_prob'],
      dist.log_prob(tfp_glow.dequantize(images, 5, seed='midpoint'),
                    bijector_kwargs=dict(conditional_input=labels)) -
      16 * np.log(32.), rtol=1e-5)
  sample = m.signatures['sample'](n=tf.constant(3), temperature=tf.constant(
      0.5), seed=tf.constant(1, tf.int64), labels=tf.constant(labels))
  assert sample['images'].shape == [3, 4, 4, 1]
  np.testing.assert_allclose(
      m.signatures['classify'](images=tf.constant(
          images / 255., tf.float32))['logits'],
      tfp_glow.classifier.class_logits(dist, images / 255.), rtol=1e-5,
      atol=1e-6)

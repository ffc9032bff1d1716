"""tfp_glow.diagnostics: invertibility measured in float32 against float64."""

import json

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tfp_glow import diagnostics
from tfp_glow.diagnostics import cli

SHAPE = (8, 8, 1)


@pytest.fixture(scope='module')
def digit_glow(digits8):
  """A float32 Glow on 8x8x1 digits, ActNorm initialized on them."""
  images, _ = digits8
  dist = tfp_glow.glow(SHAPE, num_levels=2, num_steps=2, hidden_channels=8,
                       seed=0)
  tfp_glow.initialize(dist, (images[:64].astype(np.float32) + .5) / 256.)
  return dist


def test_the_float64_copy_has_the_same_weights(digit_glow):
  wide = diagnostics.float64_copy(digit_glow)
  assert wide.dtype == tf.float64
  assert len(wide.trainable_variables) == len(digit_glow.trainable_variables)
  for a, b in zip(digit_glow.trainable_variables, wide.trainable_variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_invertibility_on_data_noise_and_another_dataset(digit_glow,
                                                         digits8):
  images, _ = digits8
  other = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[:, None, None,
                                                           None], (1, *SHAPE))
  sets = diagnostics.image_sets(SHAPE, images[:32], other, n=32)
  assert sorted(sets) == ['noise', 'other', 'train']
  assert all(s.dtype == np.float32 and 0 < s.min() and s.max() < 1
             for s in sets.values())
  report = diagnostics.report(digit_glow, sets)
  for name, measures in report.items():
    assert measures['images'] == 32
    # float32 round trips to a few ulps of [0, 1]; float64 to ~1e-15.
    assert measures['reconstruction_max'] < 1e-3, (name, measures)
    assert measures['float64_reconstruction_max'] < 1e-9, (name, measures)
    assert measures['reconstruction_mean'] <= measures['reconstruction_max']
    # Both directions' log-dets agree, and float32 is near float64.
    assert measures['log_det_gap_max'] < 1e-2 * max(
        1., abs(measures['log_det_mean'])), (name, measures)
    assert measures['latent_vs_float64_max'] < 1e-2, (name, measures)
    assert measures['log_det_vs_float64_max'] < 1e-2 * max(
        1., abs(measures['log_det_mean'])), (name, measures)
    # Not the identity: the model moves the images and has a log-det.
    assert measures['log_det_mean'] != 0.


def test_an_ill_conditioned_inverse_is_reported(digit_glow, digits8):
  images, _ = digits8
  x = (images[:4].astype(np.float32) + .5) / 256.
  broken = tfp_glow.convert(digit_glow, dtype=tf.float32)
  # The 1x1 convolutions' LU factors with large off-diagonal entries: the
  # same log-det, a condition number float32 cannot invert accurately.
  for v in broken.trainable_variables:
    if v.name.split('/')[-1].startswith(('lower', 'upper')):
      v.assign(v + tf.ones_like(v))
  measures = diagnostics.invertibility(
      broken, x, reference=diagnostics.float64_copy(broken))
  healthy = diagnostics.invertibility(digit_glow, x)
  assert measures['reconstruction_max'] > 100 * healthy[
      'reconstruction_max'], (measures, healthy)
  # float64 still inverts it: the error is float32's, not the model's.
  assert measures['float64_reconstruction_max'] < 1e-6, measures


def test_the_command_line_reports_a_saved_model(digit_glow, tmp_path,
                                                capsys):
  from tfp_glow import export  # pylint: disable=g-import-not-at-top
  path = export.save(digit_glow, str(tmp_path / 'export'), 8, step=1,
                     config=dict(dataset='embedded_mnist'))
  out = tmp_path / 'reports' / 'report.json'  # Its folder is made.
  assert cli.console_main([f'--model={path}', '--n=8', f'--out={out}']) == 0
  report = json.loads(out.read_text())
  assert sorted(report['sets']) == ['noise', 'other', 'train']
  assert report['other_images'] == 'stimuli'
  assert report['sets']['train']['reconstruction_max'] < 1e-3
  capsys.readouterr()
  assert cli.console_main([f'--model={tmp_path / "none"}']) == 2
  err = capsys.readouterr().err
  assert err.startswith('error: no SavedModel at') and err.count('\n') == 1
  # A bad --out is named before any model is looked for, and nothing is made.
  (tmp_path / 'afile').write_text('')
  for out, message in [(tmp_path, 'Is a directory'),
                       (tmp_path / 'afile' / 'r.json',
                        'afile is a file, where a folder was to be made'),
                       (tmp_path / 'afile' / 'new' / 'r.json',
                        'afile/new: Not a directory')]:
    assert cli.console_main([f'--model={tmp_path / "none"}',
                             f'--out={out}']) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err, err
  assert not (tmp_path / 'none').exists()

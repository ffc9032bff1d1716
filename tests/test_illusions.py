"""tfp_glow.illusions: exact stimuli, percentile-rank properties, pipeline."""

import colorsys
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tests import checks
from tfp_glow import export
from tfp_glow import illusions
from tfp_glow.illusions import cli
from tfp_glow.illusions import heatmap
from tfp_glow.illusions import percentile
from tfp_glow.illusions import scoring
from tfp_glow.illusions import stimuli

N_BITS = 5
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def tiny_patch_glow():
  """A 16x16x3 Glow, L=1, K=1, width 8, ActNorm initialized, random weights."""
  dist = tfp_glow.glow((16, 16, 3), num_levels=1, num_steps=1,
                       hidden_channels=8, seed=3)
  images = np.random.default_rng(0).integers(0, 256, (32, 16, 16, 3),
                                             np.uint8)
  tfp_glow.initialize(dist, tfp_glow.dequantize(images, N_BITS, seed=[0, 1]))
  rng = np.random.default_rng(1)
  for v in dist.trainable_variables:  # make the coupling nets bite
    v.assign(v + 0.05 * rng.standard_normal(v.shape).astype(np.float32))
  return dist


@pytest.fixture(scope='module')
def midpoint_scorer(tiny_patch_glow):
  return illusions.scorer_from_distribution(tiny_patch_glow, N_BITS, draws=0)


@pytest.fixture(scope='module')
def saved_model_base(tiny_patch_glow, tmp_path_factory):
  """A base directory holding the tiny model as version 3."""
  base = tmp_path_factory.mktemp('model')
  module = checks.PatchServing(tiny_patch_glow, N_BITS)
  tf.saved_model.save(module, str(base / '3'),
                      signatures={'serving_default': module.serve})
  return str(base)


# Stimuli ----------------------------------------------------------------


def test_brightness_pixels_exact():
  patch = stimuli.brightness(100, 30, center_size=6)
  assert patch.dtype == np.uint8 and patch.shape == (16, 16, 3)
  expected = np.full((16, 16, 3), 30, np.uint8)
  expected[5:11, 5:11] = 100
  np.testing.assert_array_equal(patch, expected)
  patch = stimuli.brightness(255, 0)  # default centre 8x8 at rows/cols 4..11
  assert (patch[4:12, 4:12] == 255).all()
  assert patch.sum() == 8 * 8 * 3 * 255


def _whites_black(center):
  return stimuli.whites(center, 'black', stripe_width=2, bar_height=8)


def test_whites_pixels_exact():
  black = stimuli.whites(128, 'black', stripe_width=2, bar_height=8)
  stripes = np.array([0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255,
                      255, 0], np.uint8)
  expected = np.repeat(np.tile(stripes, (16, 1))[..., None], 3, axis=-1)
  expected[4:12, 7:9] = 128
  np.testing.assert_array_equal(black, expected)
  white = stimuli.whites(128, 'white', stripe_width=2, bar_height=8)
  inverted = 255 - expected
  inverted[4:12, 7:9] = 128
  np.testing.assert_array_equal(white, inverted)
  # The bar replaces the middle of the central stripe: above and below it
  # the stripe keeps its colour.
  assert (black[:4, 7:9] == 0).all() and (white[12:, 7:9] == 255).all()
  # The default (WE_thin at one pixel per bar): 1-px stripes, bar 1 x 4.
  default = stimuli.whites(128, 'black')[..., 0]
  assert (default[6:10, 7] == 128).all() and (default[:6, 7] == 0).all()
  assert (default[10:, 7] == 0).all() and (default[:, 6] == 255).all()
  assert (default == 128).sum() == 4
  # Horizontal is the transpose; offset shifts grating and bar together.
  np.testing.assert_array_equal(
      stimuli.whites(9, 'white', orientation='horizontal'),
      stimuli.whites(9, 'white').transpose(1, 0, 2))
  np.testing.assert_array_equal(
      stimuli.whites(9, 'black', stripe_width=2, bar_height=8, offset=1)[:, 1:],
      _whites_black(9)[:, :-1])


def test_saturation_pixels_exact():
  assert stimuli.hsv_to_uint8(0., 0.5, 1.).tolist() == [255, 128, 128]
  assert stimuli.hsv_to_uint8(1 / 3, 1., 0.8).tolist() == [0, 204, 0]
  for h in np.linspace(0, 1, 13):
    for s in (0., 0.3, 1.):
      rgb = colorsys.hsv_to_rgb(h, s, 0.7)
      assert stimuli.hsv_to_uint8(h, s, 0.7).tolist() == [
          int(np.floor(c * 255 + 0.5)) for c in rgb]
  patch = stimuli.saturation(0.5, 0.2, hue=0., value=0.8)
  assert patch[8, 8].tolist() == [204, 102, 102]  # 0.8 * (1 - 0.5) * 255
  assert patch[0, 0].tolist() == [204, 163, 163]  # 0.8 * (1 - 0.2) * 255
  assert (patch[4:12, 4:12] == patch[8, 8]).all()
  assert (patch[:4] == patch[0, 0]).all() and (patch[:, 12:] == [204, 163,
                                                                 163]).all()


def test_sweeps_vary_only_the_centre():
  for illusion in (illusions.brightness_illusion(),
                   illusions.whites_illusion(),
                   illusions.saturation_illusion()):
    assert len(illusion.values) == 256 and np.all(np.diff(illusion.values) > 0)
    for condition in illusion.conditions:
      patches = illusion.sweep(condition)
      assert patches.shape == (256, 16, 16, 3) and patches.dtype == np.uint8
      changes = (patches != patches[:1]).any(axis=(0, 3))
      assert changes[7:9, 7:9].any() and not changes[0, 0] and not changes[15, 15]
  grey = illusions.brightness_illusion(dark=10).sweep('dark')
  np.testing.assert_array_equal(grey[:, 8, 8, 0], np.arange(256))
  assert (grey[:, 0, 0] == 10).all()
  sat = illusions.saturation_illusion().values
  assert sat[0] == 0 and sat[-1] == 1


def test_bad_stimulus_parameters_raise():
  with pytest.raises(ValueError, match='0..255'):
    stimuli.brightness(256, 0)
  with pytest.raises(ValueError, match='does not fit'):
    stimuli.brightness(0, 0, center_size=17)
  with pytest.raises(ValueError, match='"black" or "white"'):
    stimuli.whites(0, 'grey')
  with pytest.raises(ValueError, match='saturation'):
    stimuli.hsv_to_uint8(0., 1.5, 1.)
  with pytest.raises(ValueError, match='must be below'):
    illusions.brightness_illusion(dark=200, light=100)
  with pytest.raises(ValueError, match='condition must be one of'):
    illusions.brightness_illusion().sweep('black')


# Percentile ranks -------------------------------------------------------


@pytest.mark.parametrize('seed', range(3))
def test_percentile_rank_is_monotone_in_unit_interval_ending_at_one(seed):
  rng = np.random.default_rng(seed)
  bpd = 3. + rng.standard_normal(256).cumsum() * 0.05
  curves = [percentile.paper_normalization(bpd)[1],
            percentile.paper_normalization(bpd, sigma=0)[1],
            percentile.exact_normalization(
                percentile.log_prob_from_bits_per_dim(bpd, 768))[1]]
  for pr in curves:
    assert np.all(np.diff(pr) >= 0)
    assert pr[0] > 0 and np.all(pr <= 1) and pr[-1] == 1.


def test_exact_normalization_is_softmax_cumsum():
  log_prob = np.random.default_rng(0).normal(-4000., 30., 256)
  weights, pr = percentile.exact_normalization(log_prob)
  softmax = tf.nn.softmax(tf.constant(log_prob)).numpy()
  np.testing.assert_allclose(weights, softmax, rtol=1e-10, atol=1e-300)
  np.testing.assert_allclose(pr, np.cumsum(softmax), rtol=1e-10, atol=1e-12)
  np.testing.assert_allclose(
      percentile.log_prob_from_bits_per_dim(1., 768), -768 * np.log(2.))


def test_paper_normalization_matches_released_code():
  """exp(-bpd), scipy's gaussian_filter1d(sigma=3), cumsum / max."""
  scipy_ndimage = pytest.importorskip('scipy.ndimage')
  bpd = np.random.default_rng(0).uniform(2., 6., 256)
  smoothed = scipy_ndimage.gaussian_filter1d(np.exp(-bpd), sigma=3)
  weights, pr = percentile.paper_normalization(bpd)
  np.testing.assert_allclose(weights, smoothed / smoothed.sum(), rtol=1e-12)
  np.testing.assert_allclose(pr, np.cumsum(smoothed) / np.cumsum(
      smoothed).max(), rtol=1e-12)
  for n, sigma in ((5, 3.), (40, 0.7)):  # short curves reflect repeatedly
    x = np.random.default_rng(n).random(n)
    np.testing.assert_allclose(percentile.gaussian_smooth(x, sigma),
                               scipy_ndimage.gaussian_filter1d(x, sigma),
                               rtol=1e-12)
  uniform = percentile.paper_normalization(np.full(256, 4.))[1]
  np.testing.assert_allclose(uniform, np.arange(1, 257) / 256)


@pytest.mark.parametrize('c_star', [100., 97.5])
def test_match_recovers_a_known_shift(c_star):
  values = np.arange(256.)
  test = np.exp(-0.5 * ((values - 90.) / 15.) ** 2)
  reference = np.zeros(256)
  reference[20:] = test[:-20]  # the same curve, 20 steps higher
  pr_test = percentile.percentile_rank(test)
  pr_reference = percentile.percentile_rank(reference)
  m = percentile.match(values, pr_test, pr_reference, c_star)
  assert m['c_match'] == pytest.approx(c_star + 20., abs=1e-9)
  assert m['shift'] == pytest.approx(20., abs=1e-9)
  assert m['relative_shift'] == pytest.approx(20. / c_star)
  assert m['pr_test'] > m['pr_reference']
  assert m['predicted'] == 'test higher' and not m['clipped']
  back = percentile.match(values, pr_reference, pr_test, c_star + 20.)
  assert back['c_match'] == pytest.approx(c_star, abs=1e-9)
  assert back['predicted'] == 'reference higher'


def test_match_clips_and_rejects():
  values = np.arange(10.)
  pr = percentile.percentile_rank(np.ones(10))
  late = percentile.percentile_rank(np.r_[np.zeros(5), np.ones(5)] + 1e-3)
  assert percentile.value_at_rank(values, pr, 0.01) == (0., True)
  m = percentile.match(values, pr, late, 0.)  # late reaches PR 0.1 in (4, 5)
  assert m['c_match'] > 4 and not m['clipped']
  with pytest.raises(ValueError, match='outside the sweep'):
    percentile.match(values, pr, pr, 10.5)
  with pytest.raises(ValueError, match='non-decreasing'):
    percentile.value_at_rank(values, pr[::-1], 0.5)
  with pytest.raises(ValueError, match='non-negative'):
    percentile.percentile_rank([1., -1.])


# Scorers and heatmap ----------------------------------------------------


def test_scorer_from_distribution(tiny_patch_glow, midpoint_scorer):
  images = np.random.default_rng(2).integers(0, 256, (5, 16, 16, 3), np.uint8)
  np.testing.assert_allclose(
      midpoint_scorer(images),
      tfp_glow.bits_per_dim(tiny_patch_glow, images, N_BITS, seed='midpoint'),
      rtol=1e-6)
  drawn = illusions.scorer_from_distribution(tiny_patch_glow, N_BITS, draws=3,
                                             seed=7, batch_size=2)
  repeated = np.concatenate([images, images[::-1]])
  bpd = drawn(repeated)
  # Common random numbers: an image's score does not depend on its batch
  # position; seeded draws are reproducible and differ from the midpoint.
  np.testing.assert_allclose(bpd[:5], bpd[5:][::-1], rtol=1e-6)
  np.testing.assert_array_equal(bpd, drawn(repeated))
  assert not np.allclose(bpd[:5], midpoint_scorer(images), rtol=1e-6)
  with pytest.raises(TypeError, match='uint8'):
    drawn(images.astype(np.float32))
  with pytest.raises(ValueError, match=r'\[N, 16, 16, 3\]'):
    drawn(images[:, :8])
  with pytest.raises(ValueError, match='draws'):
    illusions.scorer_from_distribution(tiny_patch_glow, N_BITS, draws=-1)


def test_heatmap_scores_every_window(midpoint_scorer):
  image = np.random.default_rng(3).integers(0, 256, (21, 26, 3), np.uint8)
  bpd = illusions.window_bits_per_dim(midpoint_scorer, image, stride=1,
                                      batch_size=7)
  assert bpd.shape == (6, 11)
  corners = np.stack([image[0:16, 0:16], image[5:21, 10:26],
                      image[2:18, 3:19]])
  np.testing.assert_allclose([bpd[0, 0], bpd[5, 10], bpd[2, 3]],
                             midpoint_scorer(corners), rtol=1e-6)
  strided = illusions.window_bits_per_dim(midpoint_scorer, image, stride=5)
  assert strided.shape == (2, 3)
  np.testing.assert_allclose(strided, bpd[::5, ::5], rtol=1e-6)
  with pytest.raises(ValueError, match='smaller than one 16x16 window'):
    heatmap.windows(image[:10], 16)


# The pipeline and the CLI -----------------------------------------------


def _read_csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_full_pipeline_writes_plots_csv_and_json(midpoint_scorer, tmp_path):
  out = tmp_path / 'out'
  summary = cli.main(['all', f'--out={out}'], score=midpoint_scorer)
  assert set(summary) == {'brightness', 'whites', 'saturation'}
  for name, (test, reference) in (('brightness', ('dark', 'light')),
                                  ('whites', ('black', 'white')),
                                  ('saturation', ('pale', 'saturated'))):
    for suffix in ('.png', '_stimuli.png'):
      with open(out / f'{name}{suffix}', 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    rows = _read_csv(out / f'{name}.csv')
    assert len(rows) == 256
    for column in (f'pr_paper_{test}', f'pr_exact_{reference}'):
      pr = np.array([float(r[column]) for r in rows])
      assert np.all(np.diff(pr) >= 0) and pr[-1] == 1.
    with open(out / f'{name}.json') as f:
      saved = json.load(f)
    assert saved == json.loads(json.dumps(summary[name]))
    assert saved['test_condition'] == test
    for method in ('paper', 'exact'):
      m = saved['match'][method]
      assert 0 <= m['pr_test'] <= 1 and m['c_star'] == (
          0.5 if name == 'saturation' else 128.)
      assert saved['agrees_with_perception'][method] == (m['shift'] > 0)
  assert (out / 'summary.json').exists()
  bpd = np.array([float(r['bits_per_dim_dark']) for r in _read_csv(
      out / 'brightness.csv')])
  np.testing.assert_allclose(
      bpd, midpoint_scorer(illusions.brightness_illusion().sweep('dark')),
      rtol=1e-6)

  image = np.random.default_rng(4).integers(0, 256, (24, 40, 3), np.uint8)
  from PIL import Image  # pylint: disable=g-import-not-at-top
  Image.fromarray(image).save(tmp_path / 'photo.png')
  result = cli.main(['heatmap', f'--out={out}', '--stride=4', '--resize=0',
                     f'--image={tmp_path / "photo.png"}'],
                    score=midpoint_scorer)
  assert result['photo']['windows'] == [3, 7]
  with open(out / 'heatmap_photo.png', 'rb') as f:
    assert f.read(8) == PNG_MAGIC
  assert np.loadtxt(out / 'heatmap_photo.csv', delimiter=',').shape == (3, 7)


def test_cli_with_a_greyscale_model(tmp_path):
  """A 1-channel model scores photographs in grey levels; the RGB
  stimuli are refused in one error naming both shapes, before --out is
  made."""
  seen = []

  def fn(images):  # Brighter windows score lower, so the values vary.
    seen.append(images.shape)
    return 8. - images.mean(axis=(1, 2, 3)) / 255.

  grey = scoring.Scorer(fn, (16, 16, 1), description=dict(model='/m/grey'))
  from PIL import Image  # pylint: disable=g-import-not-at-top
  rgb = np.random.default_rng(2).integers(0, 256, (32, 48, 3), np.uint8)
  Image.fromarray(rgb).save(tmp_path / 'photo.png')
  out = tmp_path / 'out'
  result = cli.main(['bpd', f'--out={out}', '--resize=0',
                     f'--image={tmp_path / "photo.png"}'], score=grey)
  assert result['windows'] == 6 and seen[-1] == (6, 16, 16, 1)
  # Pillow's luminance of the photograph, window by window.
  luma = np.asarray(Image.fromarray(rgb).convert('L'), np.float64)
  expected = 8. - luma.reshape(2, 16, 3, 16).mean(axis=(1, 3)) / 255.
  np.testing.assert_allclose(result['mean'], expected.mean(), rtol=1e-6)
  result = cli.main(['heatmap', f'--out={out}', '--stride=8', '--resize=0',
                     f'--image={tmp_path / "photo.png"}'], score=grey)
  assert result['photo']['windows'] == [3, 5]
  for command in ('brightness', 'all'):
    refused = tmp_path / command
    with pytest.raises(ValueError, match=r'16x16 patches with 3 channels and '
                       r'the model /m/grey scores 16x16x1 images'):
      cli.main([command, f'--out={refused}'], score=grey)
    assert not refused.exists()


def test_cli_on_a_saved_model(saved_model_base, midpoint_scorer, tmp_path):
  """`python -m tfp_glow.illusions` on an export with serving_default only."""
  out = tmp_path / 'out'
  result = subprocess.run(
      [sys.executable, '-m', 'tfp_glow.illusions', 'brightness',
       f'--model={saved_model_base}', f'--out={out}', '--test-value=100'],
      capture_output=True, text=True, timeout=300,
      env=dict(os.environ, PYTHONPATH=os.pathsep.join(
          filter(None, [_REPO, os.environ.get('PYTHONPATH')]))))
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads(result.stdout)
  assert summary['c_star'] == 100.
  assert summary['scorer']['model'] == os.path.join(saved_model_base, '3')
  for name in ('brightness.png', 'brightness_stimuli.png', 'brightness.csv',
               'brightness.json'):
    assert (out / name).exists()
  rows = _read_csv(out / 'brightness.csv')
  np.testing.assert_allclose(
      [float(r['bits_per_dim_light']) for r in rows],
      midpoint_scorer(illusions.brightness_illusion().sweep('light')),
      rtol=1e-5)


def test_saved_model_scorer_and_missing_model(saved_model_base, tmp_path,
                                              capsys):
  score = scoring.scorer_from_saved_model(saved_model_base)
  assert score.image_shape == (16, 16, 3)
  # A training workdir names its newest export, as for the latent tools.
  workdir = tmp_path / 'workdir'
  workdir.mkdir()
  os.symlink(saved_model_base, workdir / 'export')
  assert scoring.resolve_saved_model(str(workdir)) == os.path.join(
      str(workdir), 'export', '3')
  assert scoring.scorer_from_saved_model(str(workdir)).image_shape == (
      16, 16, 3)
  with pytest.raises(ValueError, match='log_prob and config signatures'):
    scoring.scorer_from_saved_model(saved_model_base, draws=2)
  missing = str(tmp_path / 'nothing')
  with pytest.raises(FileNotFoundError, match='no SavedModel'):
    scoring.scorer_from_saved_model(missing)
  assert cli.console_main(['brightness', f'--model={missing}',
                           f'--out={tmp_path}']) == 2
  assert 'no SavedModel' in capsys.readouterr().err
  assert cli.DEFAULT_MODEL == os.path.join(
      os.path.dirname(illusions.__file__), 'models', 'seed0')


def test_saved_model_scorer_on_the_project_export(tiny_patch_glow, tmp_path):
  """`tfp_glow.export` output: midpoint and averaged draws match in-process."""
  base = str(tmp_path / 'export')
  export.save(tiny_patch_glow, base, n_bits=N_BITS, step=1)
  images = np.random.default_rng(5).integers(0, 256, (6, 16, 16, 3),
                                             np.uint8)
  for draws in (0, 2):
    loaded = scoring.scorer_from_saved_model(base, draws=draws, seed=7)
    in_process = illusions.scorer_from_distribution(
        tiny_patch_glow, N_BITS, draws=draws, seed=7)
    np.testing.assert_allclose(loaded(images), in_process(images), rtol=1e-5)
    assert loaded.description['n_bits'] == N_BITS


def test_cli_on_the_shipped_model(tmp_path):
  """`python -m tfp_glow.illusions brightness` on the committed model."""
  from tfp_glow.illusions import cli  # pylint: disable=g-import-not-at-top
  cli.main(['brightness', f'--out={tmp_path}'])
  summary = json.loads((tmp_path / 'brightness.json').read_text())
  for condition in summary['conditions'].values():
    # Each likelihood curve peaks near its surround's grey.
    assert abs(condition['peak']['paper'] - condition['surround']) <= 16
  assert (tmp_path / 'brightness.png').stat().st_size > 0
  assert (tmp_path / 'brightness.csv').stat().st_size > 0

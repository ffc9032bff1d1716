"""illusions.manipulate and matched_pair: edits, PR targets, refusals."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tfp_glow import console
from tfp_glow.illusions import cli
from tfp_glow.illusions import manipulate
from tfp_glow.illusions import stimuli
# The tiny random patch model and its scorer, shared with test_illusions.
# pylint: disable=unused-import
from tests.test_illusions import midpoint_scorer
from tests.test_illusions import tiny_patch_glow
# pylint: enable=unused-import

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = dict(num_steps=24, max_windows=24)  # 576 windows a sweep


def _photo(size=64, seed=0):
  """A smooth colourful image (mid values) and two far-apart 10x10 regions."""
  y, x = np.mgrid[:size, :size] / (size - 1.)
  hue = (0.15 + 0.5 * x + 0.1 * y) % 1.
  image = stimuli.hsv_to_uint8(hue, 0.3 + 0.3 * y, 0.35 + 0.3 * x)
  noise = np.random.default_rng(seed).integers(-6, 7, image.shape)
  image = np.clip(image + noise, 0, 255).astype(np.uint8)
  first = np.zeros((size, size), bool)
  first[10:20, 12:22] = True
  second = np.zeros((size, size), bool)
  second[44:54, 40:50] = True
  return image, first, second


@pytest.mark.parametrize('axis', manipulate.AXES)
def test_edit_moves_masked_pixels_along_the_axis_only(axis):
  image, mask, _ = _photo()
  np.testing.assert_array_equal(
      manipulate.shift_along_axis(image, mask, axis, 0.), image)
  edited = manipulate.shift_along_axis(image, mask, axis, 0.1)
  np.testing.assert_array_equal(edited[~mask], image[~mask])
  before = np.stack(stimuli.uint8_to_hsv(image[mask]))
  after = np.stack(stimuli.uint8_to_hsv(edited[mask]))
  k = {'hue': 0, 'saturation': 1, 'brightness': 2}[axis]
  change = after - before
  change[0] = (change[0] + 0.5) % 1. - 0.5  # hue: the signed circular step
  # The axis moves by +0.1 (up to uint8 rounding), the others stay.
  np.testing.assert_allclose(change[k], 0.1, atol=0.03)
  others = [c for c in range(3) if c != k]
  assert np.abs(change[others]).max() < 0.03


@pytest.mark.parametrize('axis,target', [('brightness', 0.85),
                                         ('brightness', 0.2),
                                         ('saturation', 0.7),
                                         ('hue', 0.7)])
def test_manipulation_reaches_the_target(midpoint_scorer, axis, target):
  image, mask, _ = _photo()
  edit = manipulate.manipulate(midpoint_scorer, image, mask, axis,
                               target=target, **SMALL)
  assert not edit.clipped
  assert edit.pr_predicted == pytest.approx(target, abs=1e-9)
  assert edit.pr_after == pytest.approx(target, abs=0.03)
  assert abs(edit.pr_before - target) > 0.05  # the edit had work to do
  # The PR is non-decreasing in the shift: a higher target, a larger shift.
  assert np.sign(edit.shift) == np.sign(target - edit.pr_before)
  np.testing.assert_array_equal(edit.edited[~mask], image[~mask])
  assert np.any(edit.edited[mask] != image[mask])
  assert len(edit.before.corners) <= SMALL['max_windows']
  assert np.all(np.diff(edit.before.pr) >= 0) and edit.before.pr[-1] == 1.


def test_matching_two_regions_equalises_their_prs(midpoint_scorer):
  image, first, second = _photo()
  for axis in ('brightness', 'saturation'):
    edit = manipulate.manipulate(midpoint_scorer, image, first, axis,
                                 match_mask=second, **SMALL)
    assert abs(edit.reference.rank - edit.pr_before) > 0.05
    assert edit.pr_after == pytest.approx(edit.reference_after.rank,
                                          abs=0.03)
    np.testing.assert_array_equal(edit.edited[second], image[second])
    np.testing.assert_array_equal(edit.edited[~first], image[~first])


def _save(path, array):
  Image.fromarray(array).save(path)
  return str(path)


def test_manipulate_command_writes_its_files(midpoint_scorer, tmp_path):
  image, first, second = _photo()
  photo = _save(tmp_path / 'photo.png', image)
  mask = _save(tmp_path / 'mask.png', first.astype(np.uint8) * 255)
  other = _save(tmp_path / 'other.png', second.astype(np.uint8) * 255)
  out = tmp_path / 'out'
  summary = cli.main(['manipulate', f'--image={photo}', f'--mask={mask}',
                      f'--match-mask={other}', '--axis=saturation',
                      '--resize=0', '--steps=24', '--max-windows=24',
                      f'--out={out}'], score=midpoint_scorer)
  saved = json.loads((out / 'manipulation.json').read_text())
  assert saved['pr_after'] == pytest.approx(summary['pr_after'])
  assert saved['pr_after'] == pytest.approx(saved['match_pr_after'], abs=0.03)
  edited = np.asarray(Image.open(out / 'edited.png'))
  np.testing.assert_array_equal(edited[~first], image[~first])
  assert saved['changed_pixels'] == int(np.any(edited != image, -1).sum())
  for name in ('manipulation.png', 'pr_curve.png', 'pr_curve.csv'):
    assert (out / name).stat().st_size > 0


def test_match_command_raises_the_reference_to_the_test_pr(midpoint_scorer,
                                                            tmp_path):
  summary = cli.main(['match', f'--out={tmp_path}'], score=midpoint_scorer)
  saved = json.loads((tmp_path / 'matched_pair.json').read_text())
  assert saved['c_match'] == pytest.approx(summary['c_match'])
  assert saved['pr_reference_after'] == pytest.approx(saved['pr_test'],
                                                      abs=1e-6)
  assert saved['relative_shift'] == pytest.approx(
      (saved['c_match'] - saved['c_star']) / saved['c_star'])
  assert saved['amount'] == f'{100 * saved["relative_shift"]:+.1f}%'
  assert (tmp_path / 'matched_pair.png').stat().st_size > 0


def _refusals(tmp_path):
  image, first, second = _photo()
  photo = _save(tmp_path / 'photo.png', image)
  empty = _save(tmp_path / 'empty.png', np.zeros((64, 64), np.uint8))
  small = _save(tmp_path / 'small.png', np.full((32, 64), 255, np.uint8))
  mask = _save(tmp_path / 'mask.png', first.astype(np.uint8) * 255)
  (tmp_path / 'text.png').write_text('not an image')
  base = ['manipulate', f'--image={photo}', '--axis=brightness',
          '--resize=0']
  return {
      'empty': (base + [f'--mask={empty}', '--target=0.5'], 'empty'),
      'size': (base + [f'--mask={small}', '--target=0.5'], 'same size'),
      'unreadable': (base + [f'--mask={tmp_path / "text.png"}',
                             '--target=0.5'], 'not a readable image'),
      'missing': (base + [f'--mask={tmp_path / "none.png"}', '--target=0.5'],
                  'No such file'),
      'target': (base + [f'--mask={mask}', '--target=1.5'], 'between 0 and 1'),
      'target0': (base + [f'--mask={mask}', '--target=0'], 'between 0 and 1'),
      'overlap': (base + [f'--mask={mask}', f'--match-mask={mask}'],
                  'overlap'),
  }


def test_refused_runs_say_why_in_one_line_and_write_nothing(
    midpoint_scorer, tmp_path, capsys):
  for name, (argv, expected) in _refusals(tmp_path).items():
    out = tmp_path / f'out_{name}'
    status = console.run(lambda a=argv, o=out: cli.main(
        a + [f'--out={o}'], score=midpoint_scorer))
    err = capsys.readouterr().err
    assert status != 0, name
    assert err.count('\n') == 1 and err.startswith('error: '), (name, err)
    assert expected in err, (name, err)
    assert not out.exists(), name
  with pytest.raises(SystemExit) as exit_info:  # an unknown axis: usage error
    cli.main(['manipulate', '--image=x.png', '--mask=x.png', '--axis=tint',
              '--target=0.5', f'--out={tmp_path / "out_axis"}'],
             score=midpoint_scorer)
  assert exit_info.value.code == 2
  err = capsys.readouterr().err
  assert err.count('\n') == 1 and "invalid choice: 'tint'" in err
  assert not (tmp_path / 'out_axis').exists()


def test_refusal_from_the_command_line(tmp_path):
  """The entry point itself: exit status 1, one line, no --out."""
  argv, _ = _refusals(tmp_path)['empty']
  out = tmp_path / 'out'
  result = subprocess.run(
      [sys.executable, '-m', 'tfp_glow.illusions', *argv, f'--out={out}'],
      capture_output=True, text=True, timeout=300,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=os.pathsep.join(
          filter(None, [_REPO, os.environ.get('PYTHONPATH')]))))
  assert result.returncode == 1, result.stderr[-2000:]
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('error:')]
  assert len(errors) == 1 and 'the mask is empty' in errors[0], result.stderr
  assert not out.exists()

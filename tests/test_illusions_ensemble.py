"""tfp_glow.illusions.ensemble: aggregate statistics and `all --models`."""

import json

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tests import checks
from tfp_glow.illusions import cli
from tfp_glow.illusions import ensemble
from tfp_glow.illusions import scoring
from tfp_glow.illusions import whites_study

N_BITS = 5


def _summary(pr_test, pr_reference, c_match, agrees, illusion='whites'):
  """A hand-made `SweepResult.summary()`: only what `aggregate` reads."""
  match = dict(pr_test=pr_test, pr_reference=pr_reference, c_match=c_match,
               shift=c_match - 128., clipped=c_match in (0., 255.))
  return dict(illusion=illusion, c_star=128.,
              match={'paper': match, 'exact': dict(match, c_match=0.,
                                                   shift=-128., clipped=True)},
              agrees_with_perception={'paper': agrees, 'exact': False})


def test_aggregate_statistics_on_hand_made_results():
  summaries = {'a': _summary(0.6, 0.4, 150., True),
               'b': _summary(0.4, 0.5, 100., False),
               'c': _summary(0.8, 0.3, 170., True)}
  agg = ensemble.aggregate(summaries)
  assert agg['models'] == ['a', 'b', 'c'] and agg['n_models'] == 3
  paper = agg['paper']
  assert paper['agree'] == 2 and agg['exact']['agree'] == 0
  assert agg['exact']['clipped'] == 3 and paper['clipped'] == 0
  np.testing.assert_allclose(paper['pr_test']['mean'], 0.6)
  # ddof = 0: sqrt(((0)^2 + 0.2^2 + 0.2^2) / 3).
  np.testing.assert_allclose(paper['pr_test']['std'], np.sqrt(0.08 / 3))
  assert (paper['pr_test']['min'], paper['pr_test']['max']) == (0.4, 0.8)
  np.testing.assert_allclose(paper['c_match']['mean'], 140.)
  np.testing.assert_allclose(paper['shift']['mean'], 12.)
  np.testing.assert_allclose(paper['pr_reference']['std'],
                             np.std([0.4, 0.5, 0.3]))
  one = ensemble.aggregate({'a': summaries['a']})
  assert one['paper']['pr_test']['std'] == 0 and one['paper']['agree'] == 1
  with pytest.raises(ValueError, match='different illusions'):
    ensemble.aggregate({'a': summaries['a'],
                        'x': _summary(0.5, 0.5, 128., False, 'brightness')})
  with pytest.raises(ValueError, match='no models'):
    ensemble.aggregate({})


def test_markdown_table_and_names():
  summary = {'whites': dict(
      aggregate=ensemble.aggregate({'a': _summary(0.6, 0.4, 150., True),
                                    'b': _summary(0.4, 0.5, 100., False)}),
      models={'a': dict(test_condition='black', reference_condition='white')})}
  table = ensemble.markdown_table(summary).splitlines()
  assert len(table) == 2 + 2  # header, rule, paper, exact
  assert '| paper | 0.50 ± 0.10 (0.40..0.60) |' in table[2]
  assert table[2].endswith('| 1 of 2 |') and table[3].endswith('| 0 of 2 |')
  assert ensemble.model_names(['/t/ill_a/export', '/t/ill_b/export']) == [
      'ill_a/export', 'ill_b/export']
  assert ensemble.model_names(['/x/models/seed0']) == ['seed0']
  with pytest.raises(ValueError, match='twice'):
    ensemble.model_names(['/x/m', '/x/m'])


def _save_tiny_model(path, seed):
  """A 16x16x3 Glow (L=1, K=1, width 8), perturbed weights, as version 1."""
  dist = tfp_glow.glow((16, 16, 3), num_levels=1, num_steps=1,
                       hidden_channels=8, seed=seed)
  images = np.random.default_rng(seed).integers(0, 256, (32, 16, 16, 3),
                                                np.uint8)
  tfp_glow.initialize(dist, tfp_glow.dequantize(images, N_BITS, seed=[0, 1]))
  rng = np.random.default_rng(seed + 1)
  for v in dist.trainable_variables:
    v.assign(v + 0.05 * rng.standard_normal(v.shape).astype(np.float32))
  module = checks.PatchServing(dist, N_BITS)
  tf.saved_model.save(module, str(path / '1'),
                      signatures={'serving_default': module.serve})
  return str(path)


@pytest.fixture(scope='module')
def two_models(tmp_path_factory):
  root = tmp_path_factory.mktemp('models')
  return [_save_tiny_model(root / f'ill_{name}' / 'export', seed)
          for name, seed in (('a', 3), ('b', 11))]


def test_all_models_end_to_end(two_models, tmp_path):
  a, b = two_models
  out = tmp_path / 'out'
  aggregate = cli.main(['all', f'--out={out}', f'--models={a},{b}'])
  assert set(aggregate) == {'brightness', 'whites', 'saturation'}
  summary = json.loads((out / 'summary.json').read_text())
  names = ['ill_a/export', 'ill_b/export']
  for name in aggregate:
    models = summary[name]['models']
    assert list(models) == names
    # Different models, different numbers; the aggregate is their mean.
    pr = [models[n]['match']['paper']['pr_test'] for n in names]
    assert pr[0] != pr[1]
    np.testing.assert_allclose(
        summary[name]['aggregate']['paper']['pr_test']['mean'], np.mean(pr))
    agree = sum(models[n]['agrees_with_perception']['exact'] for n in names)
    assert summary[name]['aggregate']['exact']['agree'] == agree
    for n in names:
      assert (out / n / f'{name}.json').exists()
    assert (out / f'{name}_models.png').stat().st_size > 0
  assert (out / 'summary.md').read_text().count('\n') == 2 + 3 * 2
  # A glob gives the same models in the same order; one model twice (two
  # copies) aggregates with zero spread.
  assert scoring.model_paths(a.replace('ill_a', 'ill_*')) == [a, b]
  copies = tmp_path / 'copies'
  cli.main(['all', f'--out={copies}', f'--models={a},{a}/1'])
  one = json.loads((copies / 'summary.json').read_text())
  assert one['whites']['aggregate']['paper']['pr_test']['std'] == 0
  np.testing.assert_allclose(
      one['whites']['aggregate']['paper']['pr_test']['mean'],
      summary['whites']['models']['ill_a/export']['match']['paper']['pr_test'])


def test_model_paths_and_shipped_models(tmp_path):
  with pytest.raises(FileNotFoundError, match='no model at'):
    scoring.model_paths(str(tmp_path / 'nothing_*'))
  shipped = scoring.shipped_models()
  assert shipped and shipped[0] == cli.DEFAULT_MODEL
  assert all(p.startswith(scoring.SHIPPED_MODELS) for p in shipped)
  with pytest.raises(ValueError, match='not both'):
    cli.main(['all', f'--out={tmp_path}', f'--model={shipped[0]}',
              f'--models={shipped[0]}'])


def test_whites_study_table(tmp_path):
  """Two toy scorers (bits/dim = a multiple of the mean grey): one row a
  model per configuration, the aggregate row, and the stimuli figure."""
  def scorer(scale):
    return lambda images: scale * images.mean(axis=(1, 2, 3)) / 255. + 1.
  configurations = whites_study.CONFIGURATIONS[:2]
  rows = whites_study.run({'a': scorer(1.), 'b': scorer(3.)}, configurations)
  assert [r['configuration'] for r in rows] == ['default',
                                                'default-horizontal']
  models = rows[0]['models']
  assert models['a']['match']['paper']['pr_test'] != (
      models['b']['match']['paper']['pr_test'])
  assert rows[0]['aggregate']['n_models'] == 2
  paths = whites_study.write(rows, tmp_path, configurations)
  table = (tmp_path / 'whites_study.md').read_text().splitlines()
  assert len(table) == 2 + 2 * 3
  assert table[4].startswith('| default | 1 | 4 x 1 | vertical | 0 | all 2 |')
  assert len(paths) == 3 and (tmp_path / 'whites_study_stimuli.png').exists()

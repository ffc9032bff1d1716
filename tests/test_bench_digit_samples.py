"""bench/digit_samples.py: the recognisable-digit measure of sample grids."""

import json

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from bench import digit_samples
from tfp_glow import embedded_data
from tfp_glow import export


@pytest.fixture(scope='module')
def classifiers():
  return digit_samples.digit_classifiers(seed=0)


def test_the_measure_passes_real_digits_and_rejects_blobs(classifiers):
  references = digit_samples.references(300, seed=0)
  fractions = {name: digit_samples.recognisable(classifiers, x, 0.9)[0]
               for name, x in references.items()}
  assert fractions['test digits'] > 0.6
  assert fractions['blurred noise'] < 0.1
  assert fractions['shuffled'] < 0.1


def test_a_conditional_sample_counts_only_as_the_digit_asked_for(
    classifiers):
  _, (images, labels) = embedded_data.embedded_mnist_split(0.1)
  x = digit_samples.centre(images[:200])
  asked = digit_samples.recognisable(classifiers, x, 0.9, labels[:200])[0]
  wrong = digit_samples.recognisable(classifiers, x, 0.9,
                                     (labels[:200] + 1) % 10)[0]
  assert asked > 0.6 and wrong == 0.


def test_main_samples_an_export_at_each_temperature(tmp_path, capsys):
  dist = tfp_glow.glow(image_shape=(32, 32, 1), num_levels=1, num_steps=1,
                       hidden_channels=4, seed=0)
  export.save(dist, str(tmp_path / 'export'), n_bits=8, step=1)
  digit_samples.main([str(tmp_path), '--n=16', '--temperatures=0.5,1'])
  result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  fractions = result['models'][str(tmp_path)]
  assert sorted(fractions) == ['0.5', '1.0']
  # An untrained flow draws noise, not digits.
  assert all(f['fraction'] < 0.2 for f in fractions.values())
  assert result['references']['test digits'] > 0.6

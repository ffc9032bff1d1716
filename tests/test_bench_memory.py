"""bench/memory.py's --repeats: the runs it launches and how it summarizes them."""

import pytest

from bench import memory


def _record(k, peak, first_step_s, repeat):
  return dict(flow='tfp_glow', memory='invertible', num_steps=k,
              peak_rss_mb=peak, first_step_s=first_step_s, state_mb=k * 10.,
              step_increment_mb=peak - 800., repeat=repeat)


def test_repeats_and_sizes_must_be_positive():
  for bad in ('--repeats=0', '--batch=0', '--image_shape=0,32,3',
              '--hidden_channels=-4'):
    with pytest.raises(SystemExit):
      memory.parse_args([bad])


def test_repeats_interleave_and_summarize_by_medians():
  args = memory.parse_args(['--memories=invertible', '--no_baseline',
                            '--repeats=3'])
  configs = [('tfp_glow', 'invertible', 8), ('tfp_glow', 'invertible', 32)]
  assert memory._runs(args) == [(r, c) for r in range(3) for c in configs]
  peaks = {8: [1000., 1010., 1100.], 32: [1300., 1400., 1320.]}
  records = [_record(k, peaks[k][r], 4. + r, r)
             for r in range(3) for k in (8, 32)]
  records.append(dict(flow='tfp_glow', memory='invertible', num_steps=32,
                      error='timed out', repeat=3))  # Failed: left out.
  summary = memory.summarize_run(args, records, wall_s=1.)
  assert summary['rss_k32_over_k8'] == pytest.approx(1320. / 1010.)
  assert summary['first_step_s_k8'] == 5.
  assert summary['rss_k32_over_k8_repeats'] == pytest.approx(
      [1.3, 1400. / 1010., 1320. / 1100.])
  assert 'tfp_glow/invertible/K=32#3' in summary['errors']
  merged = memory._merged(args, records)
  assert [(r['num_steps'], r['peak_rss_mb'], r['repeats']) for r in merged] == [
      (8, 1010., 3), (32, 1320., 3)]
  assert 'rss_k32_over_k8 per repeat: 1.300, 1.386, 1.200' in memory.table(
      args, summary)

"""bench/throughput.py and bench/common.py: the FLOP model, flags, the summary.

No TensorFlow here: the summary is computed from hand-made child results.
"""

import pytest

from bench import common
from bench import throughput


def test_conv_layers_count_the_glow_convolutions_by_hand():
  # 8x8x3, L=2, K=2, width 16, affine: level 0 is 4x4x12 (couplings on
  # 6 channels, networks 6 -> 16 -> 16 -> 12, split prior 6 -> 12);
  # level 1 squeezes the 6 kept channels to 2x2x24 (12 -> 16 -> 16 -> 24).
  layers = common.conv_layers((8, 8, 3), 2, 2, 16)
  macs = {(l['level'], l['name']): l['pixels'] * l['kh'] * l['kw'] *
          l['cin'] * l['cout'] * l['count'] for l in layers}
  assert macs == {
      (0, 'mix'): 16 * 12 * 12 * 2,
      (0, 'conv_in'): 16 * 9 * 6 * 16 * 2,
      (0, 'conv_hidden'): 16 * 16 * 16 * 2,
      (0, 'conv_out'): 16 * 9 * 16 * 12 * 2,
      (0, 'split_prior'): 16 * 9 * 6 * 12,
      (1, 'mix'): 4 * 24 * 24 * 2,
      (1, 'conv_in'): 4 * 9 * 12 * 16 * 2,
      (1, 'conv_hidden'): 4 * 16 * 16 * 2,
      (1, 'conv_out'): 4 * 9 * 16 * 24 * 2,
  }
  assert common.forward_flops_per_image(layers) == 2 * sum(macs.values())
  assert common.conv_kernel_params(layers) == (
      (9 * 6 * 16 + 16 * 16 + 9 * 16 * 12) * 2 + 9 * 6 * 12 +
      (9 * 12 * 16 + 16 * 16 + 9 * 16 * 24) * 2)
  additive = common.conv_layers((8, 8, 3), 2, 2, 16, coupling='additive')
  assert [l['cout'] for l in additive if l['name'] == 'conv_out'] == [6, 12]


def test_parse_args_defaults_quick_and_bad_values():
  args = throughput.parse_args([])
  assert (args.image_shape, args.num_levels, args.num_steps,
          args.hidden_channels, args.batch) == ((32, 32, 3), 3, 8, 400, 16)
  quick = throughput.parse_args(['--quick', '--num_steps=3'])
  assert (quick.image_shape, quick.num_steps) == ((8, 8, 3), 3)  # Flag wins.
  with pytest.raises(SystemExit):
    throughput.parse_args(['--measures=train,backward'])
  with pytest.raises(SystemExit):
    throughput.parse_args(['--modes=eager'])
  for bad in ('--batch=0', '--image_shape=32,0,3', '--seconds=-1',
              '--num_levels=0', '--threads=0'):
    with pytest.raises(SystemExit):
      throughput.parse_args([bad])


def _cell(images_per_s, first_call_s=1., conv_ops=None):
  return dict(images_per_s=images_per_s, s_per_iter_min=16. / images_per_s,
              first_call_s=first_call_s, conv_ops=conv_ops)


def _results(args):
  layers = common.conv_layers(args.image_shape, args.num_levels,
                              args.num_steps, args.hidden_channels)
  ours = dict(params=10, peak_rss_mb=900., load_average=[0.5, 1.0],
              conv_kernel_params=common.conv_kernel_params(layers),
              cells=dict(train_xla=_cell(15., 60.),
                         train_nonxla=_cell(20., 4.),
                         train_store_xla=_cell(22., 40.),
                         train_store_nonxla=_cell(28., 5.),
                         log_prob_xla=_cell(75.),
                         log_prob_nonxla=_cell(80., conv_ops=24),
                         inverse_nonxla=_cell(80., conv_ops=24),
                         sample_nonxla=dict(error='ValueError: boom')))
  theirs = dict(params=12, peak_rss_mb=1500., load_average=[1.0, 3.5],
                conv_kernel_params=1,
                cells=dict(train_xla=_cell(10.), train_nonxla=_cell(8.),
                           log_prob_xla=_cell(60.),
                           log_prob_nonxla=_cell(40., conv_ops=48),
                           inverse_nonxla=_cell(80., conv_ops=24)))
  matmul = dict(flow='matmul', gflops=100.,
                gflops_by_mode=dict(xla=100., nonxla=80.))
  return dict(matmul=matmul, tfp_glow=ours,
              tfb_glow=theirs)


def test_summary_ratios_peak_fractions_and_errors():
  args = throughput.parse_args([])
  results = _results(args)
  summary = throughput.summarize_run(args, results, wall_s=1.)
  # Unsuffixed ratios are under XLA, `_nonxla` under plain tf.function.
  assert summary['train_ratio_vs_tfb'] == pytest.approx(1.5)
  assert summary['train_ratio_vs_tfb_nonxla'] == pytest.approx(2.5)
  assert summary['logprob_ratio_vs_tfb'] == pytest.approx(1.25)
  assert summary['logprob_ratio_vs_tfb_nonxla'] == pytest.approx(2.)
  assert summary['sample_ratio_vs_tfb_nonxla'] is None  # Failed: no ratio.
  assert summary['inverse_ratio_vs_tfb'] is None  # Not measured.
  # Training FLOPs are credited as 3x the analytic forward FLOPs.
  train_gflop = 3 * common.forward_flops_per_image(common.conv_layers(
      (32, 32, 3), 3, 8, 400)) / 1e9
  assert summary['train_gflop_per_image'] == pytest.approx(train_gflop)
  assert summary['train_peak_fraction_nonxla'] == pytest.approx(
      20. * train_gflop / 100.)
  assert summary['train_peak_fraction_tfb'] == pytest.approx(
      10. * train_gflop / 100.)
  assert summary['logprob_over_inverse']['tfb_glow']['nonxla'] == 0.5
  assert summary['conv_ops_logprob_over_inverse'] == dict(tfp_glow=1.,
                                                          tfb_glow=2.)
  assert summary['first_step_s'] == dict(tfp_glow=60., tfb_glow=1.)
  assert summary['first_step_s_nonxla']['tfp_glow'] == 4.
  # memory='store' against tfb.Glow's only (storing) training step.
  assert summary['train_store_ratio_vs_tfb'] == pytest.approx(2.2)
  assert summary['train_store_ratio_vs_tfb_nonxla'] == pytest.approx(3.5)
  assert summary['train_store_peak_fraction_nonxla'] == pytest.approx(
      28. * train_gflop / 100.)
  assert summary['first_step_s_store'] == dict(xla=40., nonxla=5.)
  assert summary['conv_kernel_params_match'] == dict(tfp_glow=True,
                                                     tfb_glow=False)
  assert summary['images_per_s_best']['tfp_glow']['train_nonxla'] == (
      pytest.approx(20.))
  assert summary['errors'] == {'tfp_glow/sample_nonxla': 'ValueError: boom'}

  assert summary['matmul_peak_gflops_by_mode'] == dict(xla=100., nonxla=80.)
  text = throughput.table(args, results, summary)
  assert 'matmul peak 100.0 GFLOP/s' in text
  assert 'the faster of xla 100.0 and nonxla 80.0' in text
  assert 'WARNING: 1-min load average reached 3.5' in text
  assert 'ERRORS: ' in text and 'boom' in text
  assert 'train step, auto (nonxla)' in text
  store_row = next(line for line in text.splitlines()
                   if 'train step, store (nonxla)' in line)
  assert store_row.split()[-5:] == ['28.00', '8.00', '3.50', '5.0', '1.0']
  assert 'train peak fraction, store (xla)' in text


def test_a_failed_child_is_an_error_and_its_ratios_are_null():
  args = throughput.parse_args([])
  results = _results(args)
  results['tfb_glow'] = dict(flow='tfb_glow', error='exit status 1')
  summary = throughput.summarize_run(args, results, wall_s=1.)
  assert summary['errors']['tfb_glow'] == 'exit status 1'
  assert summary['train_ratio_vs_tfb_nonxla'] is None
  assert summary['train_peak_fraction_nonxla'] is not None  # Ours still.
  assert 'ERRORS' in throughput.table(args, results, summary)


def test_repeats_merge_to_medians_and_keep_each_repeats_ratios():
  args = throughput.parse_args(['--repeats=3'])
  assert args.repeats == 3
  with pytest.raises(SystemExit):
    throughput.parse_args(['--repeats=0'])
  runs = {flow: [] for flow in ('matmul', 'tfp_glow', 'tfb_glow')}
  for ours, peak in ((20., 100.), (25., 140.), (18., 120.)):
    results = _results(args)
    results['tfp_glow']['cells']['train_nonxla']['images_per_s'] = ours
    results['matmul']['gflops'] = peak
    for flow, result in results.items():
      runs[flow].append(result)
  runs['tfb_glow'][2] = dict(flow='tfb_glow', error='exit status 1')
  summary, results = throughput.summarize_repeats(args, runs, wall_s=1.)
  merged = results['tfp_glow']
  assert merged == throughput.merge_repeats(runs['tfp_glow'])
  assert merged['repeats'] == 3
  assert merged['cells']['train_nonxla']['images_per_s'] == 20.  # Median.
  assert merged['cells']['train_nonxla']['repeats'] == 3
  assert merged['cells']['sample_nonxla']['error']  # Failed in every repeat.
  assert throughput.merge_repeats(runs['tfb_glow'])['repeats'] == 2
  assert summary['matmul_peak_gflops'] == 120.
  # tfb.Glow trains at 8 images/s in the two repeats that ran.
  assert summary['train_ratio_vs_tfb_nonxla'] == pytest.approx(20. / 8.)
  each = summary['ratio_repeats']['train_ratio_vs_tfb_nonxla']
  assert each[:2] == pytest.approx([20. / 8., 25. / 8.]) and each[2] is None
  assert summary['ratio_repeats']['train_store_ratio_vs_tfb_nonxla'][:2] == (
      pytest.approx([28. / 8.] * 2))
  assert summary['errors']['tfb_glow#2'] == 'exit status 1'
  # Equal in every repeat (two for tfb.Glow): kept as is, an int.
  assert results['tfb_glow']['params'] == 12
  assert isinstance(results['tfb_glow']['params'], int)
  assert '3 repeats, each number the median' in throughput.table(
      args, results, summary)


def test_flows_add_torch_only_when_asked_or_installed():
  args = throughput.parse_args(['--flows=tfp_glow,torch_glow'])
  assert args.flows == ('tfp_glow', 'tfb_glow', 'torch_glow')
  assert throughput.parse_args(['--flows=tfb_glow']).flows == (
      'tfp_glow', 'tfb_glow')
  with pytest.raises(SystemExit):
    throughput.parse_args(['--flows=jax_glow'])


def test_torch_ratios_compare_each_flow_with_torch():
  args = throughput.parse_args(['--flows=torch_glow'])
  results = _results(args)
  results['torch_glow'] = dict(
      params=9, peak_rss_mb=600., torch_version='2.13.0', torch_threads=2,
      cells=dict(train_eager=_cell(10.), log_prob_eager=_cell(40.)))
  summary = throughput.summarize_run(args, results, wall_s=1.)
  assert summary['train_ratio_vs_torch_nonxla'] == pytest.approx(2.)
  assert summary['train_store_ratio_vs_torch_nonxla'] == pytest.approx(2.8)
  assert summary['logprob_ratio_vs_torch_nonxla'] == pytest.approx(2.)
  assert summary['tfb_train_ratio_vs_torch_nonxla'] == pytest.approx(0.8)
  assert summary['tfb_logprob_ratio_vs_torch'] == pytest.approx(1.5)
  assert summary['torch']['peak_rss_mb'] == 600.
  text = throughput.table(args, results, summary)
  assert 'torch (eager)' in text and 'torch 2.13.0, 2 threads' in text

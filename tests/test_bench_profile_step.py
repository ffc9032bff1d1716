"""bench/profile_step.py: the products bound's GEMMs are the model's."""

import tensorflow as tf

from bench import common
from bench import profile_step


def test_gemm_shapes_are_the_models_products_in_convs_layouts():
  args = profile_step.parse_args([])
  shapes = profile_step.gemm_shapes(tf, args)
  layers = common.conv_layers(args.image_shape, args.num_levels,
                              args.num_steps, args.hidden_channels)
  # One GEMM per layer, each with its layer's FLOPs.
  assert len(shapes) == len(layers)
  assert sum(2 * rows * inner * out * count
             for _, rows, inner, out, count in shapes) == (
                 args.batch * common.forward_flops_per_image(layers))
  by_layer = {(l['level'], l['name']): s for l, s in zip(layers, shapes)}
  # Level 0 is 16x16x12: the thin input 6 -> 400 as [9 C, O], the thin
  # output 400 -> 12 as [C, 9 O]; level 2's 400 -> 48 is not thin (im2col).
  assert by_layer[0, 'conv_in'] == (0, 16 * 16 * 16, 54, 400, 8)
  assert by_layer[0, 'conv_hidden'] == (0, 4096, 400, 400, 8)
  assert by_layer[0, 'conv_out'] == (0, 4096, 400, 108, 8)
  assert by_layer[0, 'split_prior'] == (0, 4096, 54, 12, 1)
  assert by_layer[2, 'conv_out'] == (2, 256, 9 * 400, 48, 8)


def test_time_products_runs_every_product_of_a_step():
  args = profile_step.parse_args(['--quick'])
  args.seconds = 0.05
  result = profile_step.time_products(tf, args)
  layers = common.conv_layers(args.image_shape, args.num_levels,
                              args.num_steps, args.hidden_channels)
  assert result['products'] == 3 * sum(l['count'] for l in layers)
  assert abs(result['gflop'] * 1e9 - 3 * args.batch *
             common.forward_flops_per_image(layers)) < 1
  assert result['s'] > 0 and result['gflops'] > 0

"""GPU throughput at the paper's CIFAR-10 configuration, float32 and bf16.

    python bench/gpu.py                 # K=32, L=3, width 512, batch 64
    python bench/gpu.py --quick         # a tiny smoke run (works on a CPU)

For each precision (`float32`; `bfloat16`, i.e. `--precision=bfloat16`, the
coupling networks in bf16 with log-dets, priors and the loss in float32) it
times `log_prob` and one Adam training step (XLA off and on), and reports
images/s and the fraction of the GPU's peak: analytic FLOPs of the
convolutions (`bench/common.py`; a training step counted as 3 passes) over
the peak given by `--peak_tflops_float32` / `--peak_tflops_bfloat16`
(defaults: an H200 SXM's dense 67 TFLOP/s FP32 and 989 TFLOP/s BF16). Prints
a table and, last, one line of JSON.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import common  # pylint: disable=g-import-not-at-top


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--quick', action='store_true')
  p.add_argument('--num_steps', type=int, default=32)
  p.add_argument('--num_levels', type=int, default=3)
  p.add_argument('--hidden_channels', type=int, default=512)
  p.add_argument('--batch', type=int, default=64)
  p.add_argument('--seconds', type=float, default=10.)
  p.add_argument('--memory', default='store', choices=('store', 'invertible'))
  p.add_argument('--precisions', default='float32,bfloat16')
  p.add_argument('--peak_tflops_float32', type=float, default=67.)
  p.add_argument('--peak_tflops_bfloat16', type=float, default=989.)
  args = p.parse_args(argv)
  if args.quick:
    args.num_steps, args.num_levels, args.hidden_channels = 2, 2, 16
    args.batch, args.seconds = 4, 0.5
  return args


def measure(args, precision, jit):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  import tfp_glow  # pylint: disable=g-import-not-at-top
  image_shape = (32, 32, 3)
  dist = tfp_glow.glow(
      image_shape, args.num_levels, args.num_steps,
      hidden_channels=args.hidden_channels, memory=args.memory,
      compute_dtype=None if precision == 'float32' else precision)
  images = tf.random.uniform([args.batch, *image_shape], seed=0)
  tfp_glow.initialize(dist, images)
  optimizer = tf_keras.optimizers.Adam(1e-4)
  optimizer.build(dist.trainable_variables)

  @tf.function(jit_compile=jit)
  def log_prob(x):
    return tf.reduce_mean(dist.log_prob(x))

  @tf.function(jit_compile=jit)
  def train_step(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(x))
    grads = tape.gradient(loss, dist.trainable_variables)
    optimizer.apply_gradients(zip(grads, dist.trainable_variables))
    return loss

  layers = common.conv_layers(image_shape, args.num_levels, args.num_steps,
                              args.hidden_channels)
  flops = common.forward_flops_per_image(layers)
  peak = getattr(args, f'peak_tflops_{precision}') * 1e12
  out = {}
  for name, fn, passes in (('log_prob', log_prob, 1),
                           ('train', train_step, 3)):
    first, times = common.time_calls(lambda: fn(images).numpy(), args.seconds)
    stats = common.summarize(times, args.batch)
    out[name] = dict(first_s=first, images_per_s=stats['images_per_s'],
                     peak_fraction=stats['images_per_s'] * passes * flops /
                     peak)
  return out


def main(argv=None):
  args = parse_args(argv)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  device = [d.physical_device_desc if hasattr(d, 'physical_device_desc') else
            d.name for d in tf.config.list_physical_devices('GPU')]
  results = {}
  for precision in args.precisions.split(','):
    for jit in (False, True):
      key = f'{precision}{"_xla" if jit else ""}'
      start = time.time()
      try:
        results[key] = measure(args, precision, jit)
      except Exception as e:  # pylint: disable=broad-except
        results[key] = dict(error=f'{type(e).__name__}: {str(e)[:200]}')
      results[key]['wall_s'] = time.time() - start
  rows = []
  for key, r in results.items():
    if 'error' in r:
      rows.append([key, 'error', r['error'][:60], '', '', ''])
      continue
    rows.append([key, f'{r["log_prob"]["images_per_s"]:.1f}',
                 f'{r["log_prob"]["peak_fraction"]:.1%}',
                 f'{r["train"]["images_per_s"]:.1f}',
                 f'{r["train"]["peak_fraction"]:.1%}',
                 f'{r["train"]["first_s"]:.1f}'])
  print(f'GPUs: {device or "none"}; K={args.num_steps} L={args.num_levels} '
        f'width={args.hidden_channels} batch={args.batch} '
        f'memory={args.memory}')
  print(common.format_table(
      ['precision', 'log_prob img/s', 'of peak', 'train img/s', 'of peak',
       'first train step s'], rows))
  print(json.dumps(dict(config=vars(args), gpus=device, results=results)))


if __name__ == '__main__':
  main()

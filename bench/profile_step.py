r"""Where a tfp_glow training step spends its time, by component (CPU).

    cd /work/main && PYTHONPATH=. python bench/profile_step.py
    PYTHONPATH=. python bench/profile_step.py --quick          # smoke

At the benchmark's config (`tfp_glow.glow` defaults at 32x32x3, L=3, K=8,
width 400, batch 16, 2 threads, plain `tf.function`) it times the whole
training step (Adam on `-mean(log_prob)`) for `memory='invertible'` and
`memory='store'`, and each component of it in isolation at the exact shapes
of each level, with the project's own functions:

  conv3x3_in     `bijectors.conv.conv3x3`, C/2 -> width, bias + ReLU
  conv1x1_hidden `bijectors.conv.conv1x1`, width -> width, bias + ReLU
  conv_out       the zero-initialised `conv3x3`, width -> C (its
                 `exp(3 logs)` folded into the kernel, as `apply_network`)
  mix            the invertible 1x1 convolution, `conv1x1` by a C x C matrix
  coupling       the affine map `y_b = (x_b + t) sigmoid(r + 2)` and its
                 log-det (`bijectors.couplings`)
  actnorm        `bijectors.actnorm.actnorm_forward`
  optimizer      Keras' Adam (`train.optim`) on the model's variables
  other          the step's time minus the components: squeezes, splits,
                 priors, concatenations, the loop and the runtime

Each component is timed forward + backward (`tape.gradient` to its input
and parameters: `FB`), and forward alone (`F`). One step runs each `K`
times per level; with `memory='store'` a component costs `FB`, with
`memory='invertible'` `FB + F` (the backward pass recomputes the step's
input, one more forward-sized pass: [1] Section 1). The split priors run
once per level and count under `other`. Isolated kernels miss the fusion
and cache effects of the whole program, so the components need not add up
to the step; `other` absorbs the difference (it can be negative).

For the convolution groups it prints the achieved GFLOP/s (`2 MACs` per
multiply-add; training counts forward, input gradient and weight gradient,
`3x` forward, plus `1x` for the recompute under 'invertible') and the
fraction of this machine's float32 matmul peak
(`bench/throughput.py --flow=matmul`, measured here at the same threads).
It prints a table per memory mode and, as its LAST line, one JSON object.

`products` is a bound rather than a component: every matrix product of a
`'store'` training step at its GEMM shape (forward, input gradient and
weight gradient of each layer of `common.conv_layers`, in the layouts
`bijectors.conv` multiplies in: `prepare3x3` decides the thin layers'),
nothing else, in one `tf.function`, the steps in order and each product on
operands of its own (so that no optimizer pass merges or prunes any). Its
time is what the step would take if every other operation were free: no
float32 implementation of these products on this machine can train faster
(`--products_only` measures just this, in about a minute).

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import argparse
import json
import os
import statistics
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
  sys.path.insert(0, _REPO)

from bench import common  # pylint: disable=g-import-not-at-top
from bench import throughput  # pylint: disable=g-import-not-at-top

MEMORIES = ('invertible', 'store')
CONV_GROUPS = ('conv3x3_in', 'conv1x1_hidden', 'conv_out', 'mix')
GROUPS = CONV_GROUPS + ('coupling', 'actnorm', 'optimizer')


def parse_args(argv=None):
  p = argparse.ArgumentParser(
      description=__doc__.split('\n\n')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument('--quick', action='store_true',
                 help='8x8x3, L=2, K=2, width 16, batch 4, 0.3 s')
  p.add_argument('--threads', type=int, default=2)
  p.add_argument('--seconds', type=float, default=None,
                 help='timed seconds per measurement (3)')
  p.add_argument('--memories', default=','.join(MEMORIES))
  p.add_argument('--json_out', default=None, help='also write the JSON here')
  p.add_argument('--products_only', action='store_true',
                 help='measure only the matmul peak and the products bound')
  args = p.parse_args(argv)
  config = dict(image_shape=(32, 32, 3), num_levels=3, num_steps=8,
                hidden_channels=400, batch=16, seconds=3., matmul_size=2048,
                matmul_seconds=2.)
  if args.quick:
    config.update(throughput.QUICK, seconds=0.3)
  for name, value in config.items():
    if getattr(args, name, None) is None:
      setattr(args, name, value)
  args.memories = [m for m in args.memories.split(',') if m]
  args.learning_rate, args.seed, args.memory = 1e-4, 0, 'invertible'
  args.precision = 'float32'
  return args


def _median_s(tf, fn, inputs, seconds):
  fn = tf.function(fn)
  _, times = common.time_calls(
      lambda: tf.nest.map_structure(lambda t: t.numpy(), fn(*inputs)),
      seconds, min_iters=3)
  return statistics.median(times)


def _component_fns(tf, args):
  """`{group: [(level, forward_fn, inputs, forward_flops)]}` per level, at
  the shapes and FLOPs of `common.conv_layers` (one step per level)."""
  from bijectors import actnorm  # pylint: disable=g-import-not-at-top
  from bijectors import conv  # pylint: disable=g-import-not-at-top
  from bijectors import couplings  # pylint: disable=g-import-not-at-top
  n, width = args.batch, args.hidden_channels
  rnd = lambda *shape: tf.random.normal(shape, stddev=0.05, seed=1)
  affine = couplings.get_coupling('affine')
  parts = {g: [] for g in GROUPS if g != 'optimizer'}
  levels = {}
  for layer in common.conv_layers(args.image_shape, args.num_levels, 1,
                                  width):
    levels.setdefault(layer['level'], {})[layer['name']] = layer
  flops = lambda layer: (2 * n * layer['pixels'] * layer['kh'] * layer['kw'] *
                         layer['cin'] * layer['cout'])
  for level, layers in sorted(levels.items()):
    h, w = (d // 2 ** (level + 1) for d in args.image_shape[:2])
    c = layers['mix']['cin']
    kept, out = layers['conv_in']['cin'], layers['conv_out']['cout']
    x = rnd(n, h, w, c)
    a, b = rnd(n, h, w, kept), rnd(n, h, w, c - kept)
    hid = tf.nn.relu(rnd(n, h, w, width))
    parts['conv3x3_in'].append((level, lambda x, k, bias: conv.conv3x3(
        x, k, bias, relu=True), [a, rnd(3, 3, kept, width), rnd(width)],
                                flops(layers['conv_in'])))
    parts['conv1x1_hidden'].append((level, lambda x, k, bias: conv.conv1x1(
        x, k, bias, relu=True), [hid, rnd(1, 1, width, width), rnd(width)],
                                    flops(layers['conv_hidden'])))
    parts['conv_out'].append((level, lambda x, k, bias, logs: conv.conv3x3(
        x, *actnorm.fold_into_linear(k, bias, 3. * logs)),
                              [hid, rnd(3, 3, width, out), rnd(out),
                               rnd(out)], flops(layers['conv_out'])))
    parts['mix'].append((level, lambda x, m: conv.conv1x1(
        x, m[tf.newaxis, tf.newaxis]), [x, tf.eye(c) + rnd(c, c)],
                         flops(layers['mix'])))
    parts['coupling'].append((level, affine.forward, [b, rnd(n, h, w, out)],
                              0))
    parts['actnorm'].append((level, actnorm.actnorm_forward,
                             [x, rnd(c), rnd(c)], 0))
  return parts


def time_components(tf, args):
  """`{group: {forward_s, forward_backward_s, forward_flops}}` per step
  (summed over the levels, times K)."""
  results = {}
  for group, parts in _component_fns(tf, args).items():
    total = dict(forward_s=0., forward_backward_s=0., forward_flops=0)
    for _, forward, inputs, flops in parts:

      def forward_backward(*inputs, forward=forward):
        with tf.GradientTape() as tape:
          tape.watch(inputs)
          out = tf.nest.flatten(forward(*inputs))
          loss = tf.add_n([tf.reduce_sum(o * o) for o in out])
        return tape.gradient(loss, inputs)

      total['forward_s'] += args.num_steps * _median_s(
          tf, forward, inputs, args.seconds)
      total['forward_backward_s'] += args.num_steps * _median_s(
          tf, forward_backward, inputs, args.seconds)
      total['forward_flops'] += args.num_steps * flops * 1.
    results[group] = total
    common.log(f'{group}: F {total["forward_s"] * 1e3:.1f} ms, FB '
         f'{total["forward_backward_s"] * 1e3:.1f} ms per step')
  return results


def gemm_shapes(tf, args):
  """The GEMMs of one training step's forward pass, one per layer of
  `common.conv_layers` (in its order): `[(level, rows, inner, out, count)]`,
  `X [rows, inner] @ K [inner, out]` run `count` times (`K` for the steps'
  layers, 1 for the split priors).

  A 1x1 convolution is `[N H W, C] @ [C, O]`; a 3x3 one takes the layout
  `bijectors.conv.prepare3x3` gives its kernel (thin output `[C, 9 O]`,
  thin input `[9 C, O]`), or else its `im2col` GEMM `[9 C, O]` (same FLOPs).
  """
  from bijectors import conv  # pylint: disable=g-import-not-at-top
  shapes = []
  for layer in common.conv_layers(args.image_shape, args.num_levels,
                                  args.num_steps, args.hidden_channels):
    rows = args.batch * layer['pixels']
    cin, cout = layer['cin'], layer['cout']
    if layer['kh'] == 1:
      inner, out = cin, cout
    else:
      kernel = conv.prepare3x3(tf.zeros([3, 3, cin, cout]))
      inner, out = ((kernel.shape[0], kernel.shape[1])
                    if kernel.shape.rank == 2 else (9 * cin, cout))
    shapes.append((layer['level'], rows, inner, out, layer['count']))
  return shapes


def time_products(tf, args):
  """The products bound (module docstring): `{s, gflop, gflops, products}`.

  For each layer instance, distinct random operands `X` and `K` (N(0, 1)
  scaled by `1 / sqrt(fan-in)`, so no value under- or overflows) and the
  three products `Y = X K`, `dX = dY K^T`, `dK = X^T dY`, with `dY = Y` (so
  that `Y` is used). Each forward product waits for the one before it, in
  the step's order, and the backward products run after all forward ones,
  in reverse, as in the training step; a weight gradient may overlap the
  next input gradient, as there. Every `dK` is returned, and one entry of
  every `dX`, so no product is pruned and each `dX` is freed once read, as
  in the step (returning them whole keeps 100+ MB alive and makes the
  products 20% slower, by fresh allocations; returning none lets the
  runtime prune some).
  """
  operands, flops = [], 0
  seed = iter(range(1, 1 << 20))
  normal = lambda *shape: tf.random.normal(shape, seed=next(seed)) / (
      shape[0] ** 0.5)
  # In the step's order: level by level, the K steps' layers in turn, then
  # the level's split prior (the layers that run once).
  shapes = gemm_shapes(tf, args)
  for level in sorted({shape[0] for shape in shapes}):
    layers = [shape for shape in shapes if shape[0] == level]
    steps = max(count for *_, count in layers)
    for k in range(steps):
      for _, rows, inner, out, count in layers:
        if count == steps or (count == 1 and k == steps - 1):
          operands.append((normal(rows, inner), normal(inner, out)))
          flops += 3 * 2 * rows * inner * out

  def products(operands):
    outputs, ready = [], []
    for x, kernel in operands:
      with tf.control_dependencies(ready):
        ready = [tf.matmul(x, kernel)]
      outputs.append(ready[0])
    weight_grads, corners = [], []
    for (x, kernel), y in reversed(list(zip(operands, outputs))):
      with tf.control_dependencies(ready):
        ready = [tf.matmul(y, kernel, transpose_b=True)]
      weight_grads.append(tf.matmul(x, y, transpose_a=True))
      corners.append(ready[0][0, 0])
    return weight_grads, tf.stack(corners)

  seconds = _median_s(tf, products, [operands], args.seconds)
  common.log(f'products alone: {seconds * 1e3:.0f} ms, {len(operands)} '
             f'layers x 3, {flops / 1e9:.1f} GFLOP')
  return dict(s=seconds, gflop=flops / 1e9, gflops=flops / seconds / 1e9,
              products=3 * len(operands))


def time_steps(tf, args, images):
  """`({memory: step_s}, {memory: optimizer_s})` for the whole step."""
  import tfp_glow  # pylint: disable=g-import-not-at-top
  steps, optimizer_s = {}, {}
  for memory in args.memories:
    dist = throughput.build_flow(tf, 'tfp_glow', args, memory=memory)
    tfp_glow.initialize(dist, images)
    fns = throughput._functions(tf, 'tfp_glow', dist, args)  # pylint: disable=protected-access
    steps[memory] = _median_s(tf, fns['train'], [images], args.seconds)
    variables = list(dist.trainable_variables)
    from train import optim  # pylint: disable=g-import-not-at-top
    optimizer = optim.make_optimizer('adam', args.learning_rate, 0)
    optimizer.build(variables)
    grads = [tf.random.normal(v.shape, stddev=1e-3) for v in variables]

    def apply(*grads, optimizer=optimizer, variables=variables):
      optimizer.apply_gradients(zip(grads, variables))
      return tf.constant(0.)

    optimizer_s[memory] = _median_s(tf, apply, grads, args.seconds)
    common.log(f'step, memory={memory}: {steps[memory] * 1e3:.0f} ms; Adam '
         f'{optimizer_s[memory] * 1e3:.1f} ms')
  return steps, optimizer_s


def breakdown(components, step_s, optimizer_s, memory, peak_gflops):
  """Rows `{group: {s, fraction, gflops, peak_fraction}}` for one mode."""
  recompute = memory == 'invertible'
  rows = {}
  for group, c in components.items():
    seconds = c['forward_backward_s'] + (c['forward_s'] if recompute else 0.)
    flops = c['forward_flops'] * (4 if recompute else 3)
    gflops = flops / seconds / 1e9 if group in CONV_GROUPS else None
    rows[group] = dict(s=seconds, gflops=gflops,
                       peak_fraction=(gflops / peak_gflops
                                      if gflops and peak_gflops else None))
  rows['optimizer'] = dict(s=optimizer_s, gflops=None, peak_fraction=None)
  rows['other'] = dict(s=step_s - sum(r['s'] for r in rows.values()),
                       gflops=None, peak_fraction=None)
  for row in rows.values():
    row['fraction'] = row['s'] / step_s
  return rows


def table(memory, step_s, rows, batch):
  body = [[group, f'{r["s"] * 1e3:.1f}', f'{100 * r["fraction"]:.1f}',
           '-' if r['gflops'] is None else f'{r["gflops"]:.1f}',
           '-' if r['peak_fraction'] is None
           else f'{r["peak_fraction"]:.2f}'] for group, r in rows.items()]
  return (f'memory={memory}: step {step_s * 1e3:.0f} ms '
          f'({batch / step_s:.1f} images/s)\n' + common.format_table(
              ['component', 'ms/step', '% step', 'GFLOP/s', 'of peak'],
              body))


def main(argv=None):
  args = parse_args(argv)
  import numpy as np  # pylint: disable=g-import-not-at-top
  tf = throughput._import_tf(args.threads)  # pylint: disable=protected-access
  load_start = common.load_average()
  peak = throughput.run_matmul(args)
  common.log(f'matmul peak {peak["gflops"]:.1f} GFLOP/s')
  products = time_products(tf, args)
  products['peak_fraction'] = products['gflops'] / peak['gflops']
  products_line = (
      f'products alone: {products["s"] * 1e3:.0f} ms per step '
      f'({args.batch / products["s"]:.1f} images/s at most), '
      f'{products["gflop"]:.1f} GFLOP at {products["gflops"]:.1f} GFLOP/s, '
      f'{products["peak_fraction"]:.2f} of the matmul peak '
      f'{peak["gflops"]:.1f} GFLOP/s')
  if args.products_only:
    print(products_line)
    result = dict(config=_config(args), products=products,
                  matmul_peak_gflops=peak['gflops'],
                  load_average=[load_start, common.load_average()],
                  tf_version=tf.__version__)
    _write(result, args.json_out)
    return 0
  rng = np.random.default_rng(0)
  pixels = rng.integers(0, 256, size=(args.batch,) + tuple(args.image_shape))
  images = tf.constant(((pixels + rng.uniform(size=pixels.shape)) / 256.)
                       .astype(np.float32))
  steps, optimizer_s = time_steps(tf, args, images)
  components = time_components(tf, args)
  modes = {m: breakdown(components, steps[m], optimizer_s[m], m,
                        peak['gflops']) for m in args.memories}
  for memory, rows in modes.items():
    print(table(memory, steps[memory], rows, args.batch) + '\n')
  print(products_line)
  print(f'matmul peak {peak["gflops"]:.1f} GFLOP/s ({args.matmul_size}^2, '
        f'{args.threads} threads); load average {load_start} -> '
        f'{common.load_average()}')
  result = dict(
      config=_config(args), step_s=steps, components=components,
      breakdown=modes, products=products, matmul_peak_gflops=peak['gflops'],
      load_average=[load_start, common.load_average()],
      tf_version=tf.__version__)
  _write(result, args.json_out)
  return 0


def _config(args):
  return dict(image_shape=list(args.image_shape), num_levels=args.num_levels,
              num_steps=args.num_steps, hidden_channels=args.hidden_channels,
              batch=args.batch, threads=args.threads, seconds=args.seconds)


def _write(result, json_out):
  """Prints `result` as the last line, and writes it to `json_out` if set."""
  if json_out:
    with open(json_out, 'w') as f:
      json.dump(result, f, indent=1, sort_keys=True)
  print(json.dumps(result, sort_keys=True))


if __name__ == '__main__':
  sys.exit(main())

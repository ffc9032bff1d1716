r"""Throughput of tfp_glow against `tfp.bijectors.Glow` at a matched config.

    cd /work/main && PYTHONPATH=. python bench/throughput.py          # full
    PYTHONPATH=. python bench/throughput.py --quick                   # smoke

One run measures, for each flow in its own subprocess (so that each peak RSS
is that flow's alone) and under XLA (`jit_compile=True`) and plain
`tf.function`:

  inverse   images -> latent only (`dist.bijector.inverse`), no log-det
  log_prob  `dist.log_prob(images)`: the same pass plus the log-det
  train     one Adam step on `-mean(log_prob)`, tfp_glow with `--memory`
            (default 'auto', the library's default: 'store' when the batch's
            activations fit the 1 GiB default budget, as at the default
            size; 'invertible' recomputes each step's input from its output,
            memory constant in depth, one more network pass)
  train_store  the same step with tfp_glow's `memory='store'` (autodiff
            keeps the activations, as it does in tfb.Glow, which has no such
            switch: its ratio is against tfb.Glow's `train`)
  sample    `batch` samples (latent -> images)

plus parameter count and peak RSS, and in a third subprocess the float32
matmul peak of this machine at the same thread count (the faster of plain
`tf.function` and XLA). It prints a table and,
as its LAST line, one JSON object (fields: bench/README.md).

`log_prob / inverse` shows whether the coupling networks run once per
`log_prob`: TFP asks a bijector for `inverse` and `inverse_log_det_jacobian`
separately and `tfb.Glow`'s RealNVP couplings run their network for each, so
its ratio is about 0.5; tfp_glow computes the log-det in the same pass (ratio
about 1).

Matched config (default): 32x32x3 images, L=3 levels, K=8 steps, 400 hidden
channels, affine coupling, LU 1x1 convolutions, ActNorm, batch 16, 2 threads.
`tfb.Glow(output_shape, num_glow_blocks=L, num_steps_per_block=K,
coupling_bijector_fn=GlowDefaultNetwork(shape, num_hidden=400),
exit_bijector_fn=GlowDefaultExitNetwork, grab_after_block=(0.5,)*(L-1)+(0,),
use_actnorm=True)` maps latents to images in its forward direction; it is
wrapped as `TransformedDistribution(Sample(Normal(0, 1), [D]),
Chain([Shift(0.5), glow]))` so that both flows model images in [0, 1]
centred on 0 (tfp_glow shifts by -0.5 internally), and both get the same
dequantized random images.
"""

import argparse
import json
import os
import subprocess
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
  sys.path.insert(0, _REPO)

from bench import common  # pylint: disable=g-import-not-at-top

FLOWS = ('tfp_glow', 'tfb_glow')  # The TensorFlow flows, always measured.
TORCH = 'torch_glow'  # bench/torch_glow.py, with --flows (torch installed).
TORCH_MEASURES = ('log_prob', 'train')  # Its cells, under mode 'eager'.
MEASURES = ('inverse', 'log_prob', 'train', 'train_store', 'sample')
MODES = ('xla', 'nonxla')

QUICK = dict(image_shape=(8, 8, 3), num_levels=2, num_steps=2,
             hidden_channels=16, batch=4, seconds=0.3, matmul_size=256,
             matmul_seconds=0.3)


def parse_args(argv=None):
  p = argparse.ArgumentParser(
      description=__doc__.split('\n\n')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument('--flow', default='all',
                 choices=('all',) + FLOWS + (TORCH, 'matmul'),
                 help='all: launch one subprocess per flow (and one for the '
                 'matmul peak), print the table and the JSON line. Otherwise '
                 'measure just that one and print its JSON line.')
  p.add_argument('--flows', default='auto',
                 help='with --flow=all: comma-separated flows to run, '
                 f'tfp_glow and tfb_glow always, plus {TORCH} (PyTorch, '
                 'bench/torch_glow.py: log_prob and train in eager mode at '
                 'the same config and --threads); auto: torch_glow when '
                 'torch is installed')
  p.add_argument('--quick', action='store_true',
                 help='tiny smoke config (8x8x3, L=2, K=2, hidden 16, '
                 'batch 4, 0.3 s per measurement); explicit flags win.')
  p.add_argument('--image_shape', default=None, help='H,W,C (32,32,3)')
  p.add_argument('--num_levels', type=int, default=None, help='L (3)')
  p.add_argument('--num_steps', type=int, default=None, help='K (8)')
  p.add_argument('--hidden_channels', type=int, default=None, help='(400)')
  p.add_argument('--batch', type=int, default=None, help='(16)')
  p.add_argument('--seconds', type=float, default=None,
                 help='timed seconds per measurement, after the warm-up '
                 'call (5)')
  p.add_argument('--min_iters', type=int, default=2,
                 help='at least this many timed calls per measurement, '
                 'unless one call alone takes longer than --seconds')
  p.add_argument('--threads', type=int, default=2,
                 help='TF intra- and inter-op threads')
  p.add_argument('--memory', default='auto',
                 choices=('auto', 'invertible', 'store'),
                 help="tfp_glow's gradient memory mode")
  p.add_argument('--precision', default='float32',
                 choices=('float32', 'bfloat16'),
                 help="tfp_glow's coupling-network compute dtype (the "
                 "training program's --precision; log-dets stay float32); "
                 'tfb_glow and torch_glow always run float32')
  p.add_argument('--learning_rate', type=float, default=1e-4,
                 help='Adam learning rate (tfb.Glow diverges at 1e-3)')
  p.add_argument('--measures', default=','.join(MEASURES),
                 help=f'comma-separated subset of {",".join(MEASURES)}')
  p.add_argument('--modes', default=','.join(MODES),
                 help='comma-separated subset of xla,nonxla')
  p.add_argument('--matmul_size', type=int, default=None,
                 help='n of the n x n float32 matmul peak (2048)')
  p.add_argument('--matmul_seconds', type=float, default=None, help='(3)')
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--repeats', type=int, default=1,
                 help='run the subprocesses this many times, interleaved '
                 '(matmul, tfp_glow, tfb_glow, matmul, ...): the table and '
                 "the JSON use each measurement's median over the repeats, "
                 'and `ratio_repeats` lists each repeat\'s ratios (1)')
  args = p.parse_args(argv)
  if args.repeats < 1:
    p.error(f'--repeats must be >= 1, got {args.repeats}')

  defaults = dict(image_shape=(32, 32, 3), num_levels=3, num_steps=8,
                  hidden_channels=400, batch=16, seconds=5.,
                  matmul_size=2048, matmul_seconds=3.)
  if args.quick:
    defaults.update(QUICK)
  if isinstance(args.image_shape, str):
    args.image_shape = tuple(int(d) for d in args.image_shape.split(','))
  for name, value in defaults.items():
    if getattr(args, name) is None:
      setattr(args, name, value)
  common.require_positive(p, args, (
      'image_shape', 'num_levels', 'num_steps', 'hidden_channels', 'batch',
      'seconds', 'min_iters', 'threads', 'matmul_size', 'matmul_seconds'))
  args.measures = [m for m in args.measures.split(',') if m]
  if args.flows == 'auto':
    import importlib.util  # pylint: disable=g-import-not-at-top
    has_torch = importlib.util.find_spec('torch') is not None
    args.flows = FLOWS + ((TORCH,) if has_torch else ())
  else:
    flows = [f for f in args.flows.split(',') if f]
    for f in flows:
      if f not in FLOWS + (TORCH,):
        p.error(f'--flows: unknown {f!r}; choose from {FLOWS + (TORCH,)}')
    args.flows = FLOWS + ((TORCH,) if TORCH in flows else ())
  args.modes = [m for m in args.modes.split(',') if m]
  for m in args.measures:
    if m not in MEASURES:
      p.error(f'--measures: unknown {m!r}; choose from {MEASURES}')
  for m in args.modes:
    if m not in MODES:
      p.error(f'--modes: unknown {m!r}; choose from {MODES}')
  return args


def _config(args):
  return dict(image_shape=list(args.image_shape), num_levels=args.num_levels,
              num_steps=args.num_steps, hidden_channels=args.hidden_channels,
              batch=args.batch, threads=args.threads, memory=args.memory,
              precision=args.precision, learning_rate=args.learning_rate,
              seconds=args.seconds, coupling='affine', permutation='lu',
              repeats=args.repeats)


# --- Child: one flow (or the matmul peak) in this process ---------------------


def _import_tf(threads):
  """Imports TensorFlow with `threads` intra/inter-op threads, before any op."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.config.threading.set_inter_op_parallelism_threads(threads)
  return tf


def build_flow(tf, name, args, unroll=False, memory=None):
  """The distribution over `[0, 1]` images for flow `name`.

  `unroll`: tfp_glow's `unroll_steps` (the training program's choice under
  `--jit_compile`: XLA on CPU runs convolution gradients inside while loops
  slowly). `memory`: tfp_glow's gradient memory mode (`args.memory`).
  """
  if name == 'tfp_glow':
    import tfp_glow  # pylint: disable=g-import-not-at-top
    return tfp_glow.glow(
        image_shape=args.image_shape, num_levels=args.num_levels,
        num_steps=args.num_steps, hidden_channels=args.hidden_channels,
        coupling='affine', permutation='lu', memory=memory or args.memory,
        compute_dtype=(None if args.precision == 'float32'
                       else args.precision),
        unroll_steps=unroll, seed=args.seed)
  # tfb.Glow at the same L, K and width, over [0, 1] images: the training
  # program's --flow=tfb_glow.
  from train import baseline  # pylint: disable=g-import-not-at-top
  tf.random.set_seed(args.seed)  # Keras' he_normal and the 1x1 convs.
  return baseline.tfb_glow(args.image_shape, args.num_levels, args.num_steps,
                           args.hidden_channels, seed=args.seed)


def _cells(tf, name, dists, args, store_dists=None):
  """`{(measure, mode): function}` for the requested cells.

  `dists`: the flow to measure in each mode; `store_dists`: tfp_glow with
  `memory='store'` in each mode, for `train_store` (None: not measured).
  """
  cells = {}
  for mode in args.modes:
    fns = _functions(tf, name, dists[mode], args)
    if store_dists:
      fns['train_store'] = _functions(tf, name, store_dists[mode],
                                      args)['train']
    for measure in args.measures:
      if measure in fns:
        cells[measure, mode] = tf.function(fns[measure],
                                           jit_compile=(mode == 'xla'))
  return cells


def _functions(tf, name, dist, args):
  """The measured computations on `dist`, by measure."""
  variables = list(dist.trainable_variables)
  # The training program's Adam (train/optim.py: Keras' Adam as one fused
  # kernel per variable), for both flows.
  from train import optim  # pylint: disable=g-import-not-at-top
  optimizer = optim.make_optimizer('adam', args.learning_rate, 0)
  optimizer.build(variables)

  def inverse(x):
    return dist.bijector.inverse(tf.identity(x))  # Fresh: no cache hit.

  def log_prob(x):
    return dist.log_prob(tf.identity(x))

  def train(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(tf.identity(x)))
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return loss

  def sample(seed):
    if name == 'tfp_glow':
      import tfp_glow  # pylint: disable=g-import-not-at-top
      return tfp_glow.sample(dist, args.batch, temperature=1.0, seed=seed)
    return dist.sample(args.batch, seed=seed)

  return dict(inverse=inverse, log_prob=log_prob, train=train, sample=sample)


def count_ops(concrete, op_types=('Conv2D',)):
  """Ops of `op_types` in a traced function, nested functions included.

  Each `tf.while_loop` body and `tf.cond` branch is counted once, however
  often it runs: the count says how many convolutions the program has, so
  `log_prob` with as many as `inverse` runs each network once per step.
  """
  graph_def = concrete.graph.as_graph_def()
  count = sum(node.op in op_types for node in graph_def.node)
  for function in graph_def.library.function:
    count += sum(node.op in op_types for node in function.node_def)
  return count


def run_flow(args):
  """Measures one flow; returns its result dict (the child's JSON line)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  tf = _import_tf(args.threads)
  from tfp_glow import dequantization  # pylint: disable=g-import-not-at-top
  load_start = common.load_average()
  rng = np.random.default_rng(args.seed)
  pixels = rng.integers(0, 256, size=(args.batch,) + tuple(args.image_shape))
  # Uniformly dequantized 8-bit images in [0, 1], the same for both flows.
  images = tf.constant(((pixels + rng.uniform(size=pixels.shape)) / 256.)
                       .astype(np.float32))

  start = time.perf_counter()
  dist = build_flow(tf, args.flow, args)
  build_s = time.perf_counter() - start
  start = time.perf_counter()
  initial_log_prob = dist.log_prob(images).numpy()  # ActNorm data init.
  init_s = time.perf_counter() - start
  variables = dist.trainable_variables
  params = int(sum(np.prod(v.shape) for v in variables))
  conv_params = int(sum(np.prod(v.shape) for v in variables
                        if len(v.shape) >= 4))
  common.log(f'{args.flow}: built in {build_s:.1f} s, ActNorm init '
       f'{init_s:.1f} s, {params:,} parameters')

  built = {('nonxla', args.memory): dist}

  def variant(mode, memory):
    """tfp_glow for `mode` and `memory`, built once: the same model (seed,
    init batch), its steps unrolled for XLA."""
    if (mode, memory) not in built:
      other = build_flow(tf, args.flow, args, unroll=(mode == 'xla'),
                         memory=memory)
      other.log_prob(images).numpy()
      built[mode, memory] = other
    return built[mode, memory]

  dists = {mode: dist for mode in args.modes}
  store_dists = None
  if args.flow == 'tfp_glow':
    dists = {mode: variant(mode, args.memory) for mode in args.modes}
    if 'train_store' in args.measures:
      store_dists = {mode: variant(mode, 'store') for mode in args.modes}
  cells = _cells(tf, args.flow, dists, args, store_dists)
  results = {}
  for (measure, mode), fn in cells.items():
    key = f'{measure}_{mode}'
    if measure == 'sample':
      seeds = iter(range(1, 1 << 30))
      call = lambda fn=fn, seeds=seeds: fn(
          tf.constant([next(seeds), args.seed])).numpy()
    else:
      call = lambda fn=fn: fn(images).numpy()
    outputs = []
    try:
      first, times = common.time_calls(
          lambda call=call: outputs.append(call()), args.seconds,
          min_iters=args.min_iters)
    except Exception as e:  # pylint: disable=broad-except
      common.log(f'{args.flow} {key}: FAILED {type(e).__name__}: {e}')
      results[key] = dict(error=f'{type(e).__name__}: {str(e)[:500]}')
      continue
    argument = (tf.constant([0, 0]) if measure == 'sample' else images)
    results[key] = dict(
        common.summarize(times, args.batch), first_call_s=first,
        conv_ops=count_ops(fn.get_concrete_function(argument)),
        finite=bool(np.all(np.isfinite(outputs[-1]))),
        rss_mb_after=common.peak_rss_mb())
    del outputs[:]
    common.log(f'{args.flow} {key}: {results[key]["images_per_s"]:.2f} img/s '
         f'({results[key]["iters"]} iters), first call {first:.1f} s')

  return dict(
      flow=args.flow, config=_config(args), params=params,
      conv_kernel_params=conv_params, build_s=build_s, init_s=init_s,
      initial_bits_per_dim=float(dequantization.log_prob_to_bits_per_dim(
          np.mean(initial_log_prob), np.prod(args.image_shape), n_bits=8)),
      cells=results, peak_rss_mb=common.peak_rss_mb(),
      load_average=[load_start, common.load_average()],
      tf_version=tf.__version__)


def run_torch_flow(args):
  """Measures bench/torch_glow.py's Glow; returns the child's result dict.

  The same images as `run_flow` (NCHW), `torch.set_num_threads(threads)`,
  eager PyTorch: `log_prob` under `torch.no_grad()`, and `train`, one
  `torch.optim.Adam` step on `-mean(log_prob)`; cells `{measure}_eager`.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(args.threads)
  torch.set_num_interop_threads(args.threads)
  from bench import torch_glow  # pylint: disable=g-import-not-at-top
  load_start = common.load_average()
  rng = np.random.default_rng(args.seed)
  pixels = rng.integers(0, 256, size=(args.batch,) + tuple(args.image_shape))
  images = torch_glow.images_nchw(
      (pixels + rng.uniform(size=pixels.shape)) / 256.)
  h, w, c = args.image_shape
  start = time.perf_counter()
  model = torch_glow.TorchGlow((c, h, w), args.num_levels, args.num_steps,
                               args.hidden_channels, seed=args.seed)
  build_s = time.perf_counter() - start
  start = time.perf_counter()
  initial_log_prob = model.initialize(images).numpy()
  init_s = time.perf_counter() - start
  params = int(sum(p.numel() for p in model.parameters()))
  conv_params = int(sum(p.numel() for p in model.parameters()
                        if p.dim() >= 4))
  optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)

  def log_prob():
    with torch.no_grad():
      return model.log_prob(images).numpy()

  functions = dict(
      log_prob=log_prob,
      train=lambda: torch_glow.train_step(model, optimizer, images).numpy())
  results = {}
  for measure in TORCH_MEASURES:
    if measure not in args.measures:
      continue
    key = f'{measure}_eager'
    outputs = []
    first, times = common.time_calls(
        lambda fn=functions[measure]: outputs.append(fn()), args.seconds,
        min_iters=args.min_iters)
    results[key] = dict(common.summarize(times, args.batch),
                        first_call_s=first,
                        finite=bool(np.all(np.isfinite(outputs[-1]))),
                        rss_mb_after=common.peak_rss_mb())
    common.log(f'{TORCH} {key}: {results[key]["images_per_s"]:.2f} img/s '
         f'({results[key]["iters"]} iters), first call {first:.1f} s')
  return dict(
      flow=TORCH, config=_config(args), params=params,
      conv_kernel_params=conv_params, build_s=build_s, init_s=init_s,
      initial_bits_per_dim=float(torch_glow.bits_per_dim(
          np.mean(initial_log_prob), h * w * c, n_bits=8)),
      cells=results, peak_rss_mb=common.peak_rss_mb(),
      load_average=[load_start, common.load_average()],
      torch_version=torch.__version__, torch_threads=torch.get_num_threads())


def run_matmul(args):
  """The float32 matmul throughput of this machine at `args.threads`.

  Measured in both modes, plain `tf.function` (TensorFlow's own kernel) and
  XLA (its dot emitter), which differ by 20-30% on some CPUs; the peak is the
  faster of the two, so that a peak fraction is against the best matrix
  product this machine was seen to do.
  """
  tf = _import_tf(args.threads)
  n, reps = args.matmul_size, 4
  a = tf.random.normal([n, n], seed=1)
  b = tf.random.normal([n, n], seed=2) / n ** 0.5  # Keeps the chain bounded.
  by_mode, best, first_call_s = {}, {}, {}
  for mode in MODES:

    @tf.function(jit_compile=(mode == 'xla'))
    def chain(a):
      for _ in range(reps):
        a = tf.matmul(a, b)
      return tf.reduce_sum(a)

    first, times = common.time_calls(lambda chain=chain: chain(a).numpy(),
                                     args.matmul_seconds, min_iters=3)
    median = sorted(times)[len(times) // 2]
    by_mode[mode] = reps * 2 * n ** 3 / median / 1e9
    best[mode] = reps * 2 * n ** 3 / min(times) / 1e9
    first_call_s[mode] = first
  return dict(flow='matmul', n=n, threads=args.threads,
              gflops=max(by_mode.values()), gflops_by_mode=by_mode,
              gflops_best=max(best.values()), first_call_s=first_call_s,
              peak_rss_mb=common.peak_rss_mb())


# --- Parent: one subprocess per flow, then the table and the JSON line --------


def _child_argv(args, flow):
  return [
      sys.executable, os.path.abspath(__file__), f'--flow={flow}',
      '--image_shape=' + ','.join(map(str, args.image_shape)),
      f'--num_levels={args.num_levels}', f'--num_steps={args.num_steps}',
      f'--hidden_channels={args.hidden_channels}', f'--batch={args.batch}',
      f'--seconds={args.seconds}', f'--min_iters={args.min_iters}',
      f'--threads={args.threads}', f'--memory={args.memory}',
      f'--precision={args.precision}',
      f'--learning_rate={args.learning_rate}',
      '--measures=' + ','.join(args.measures),
      '--modes=' + ','.join(args.modes),
      f'--matmul_size={args.matmul_size}',
      f'--matmul_seconds={args.matmul_seconds}', f'--seed={args.seed}']


def _run_child(args, flow):
  """Runs one child; returns its JSON dict, or `{'error': ...}`."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  env['PYTHONPATH'] = os.pathsep.join(
      [_REPO] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
  common.log(f'starting {flow} subprocess')
  proc = subprocess.run(_child_argv(args, flow), stdout=subprocess.PIPE,
                        env=env, text=True, check=False)
  result = common.last_json_line(proc.stdout)
  if proc.returncode or result is None:
    return dict(flow=flow, error=f'exit status {proc.returncode}; stdout '
                f'tail: {proc.stdout[-500:]!r}')
  return result


def _get(result, key, field='images_per_s'):
  cell = (result.get('cells') or {}).get(key) or {}
  return cell.get(field)


def _ratio(a, b):
  return a / b if a is not None and b else None


# Summary field names: `{name}_ratio_vs_tfb{suffix}`, unsuffixed under XLA.
_FIELD_NAMES = dict(inverse='inverse', log_prob='logprob', train='train',
                    train_store='train_store', sample='sample')
_SUFFIX = dict(xla='', nonxla='_nonxla')


def _theirs(measure):
  """tfb.Glow's measure to compare ours with: it always stores activations,
  so `train_store` is against its `train`."""
  return 'train' if measure == 'train_store' else measure


def summarize_run(args, results, wall_s):
  """The JSON summary of a full run from the children's results."""
  ours, theirs, matmul = (results['tfp_glow'], results['tfb_glow'],
                          results['matmul'])
  layers = common.conv_layers(args.image_shape, args.num_levels,
                              args.num_steps, args.hidden_channels)
  forward_flops = common.forward_flops_per_image(layers)
  train_flops = 3 * forward_flops  # Forward + backward ~ 3x forward.
  peak = matmul.get('gflops')

  def peak_fraction(result, mode, measure='train'):
    rate = _get(result, f'{measure}_{mode}')
    if rate is None or not peak:
      return None
    return rate * train_flops / (peak * 1e9)

  summary = dict(
      {f'{_FIELD_NAMES[measure]}_ratio_vs_tfb{_SUFFIX[mode]}': _ratio(
          _get(ours, f'{measure}_{mode}'),
          _get(theirs, f'{_theirs(measure)}_{mode}'))
       for measure in MEASURES for mode in MODES},
      **{f'{_FIELD_NAMES[measure]}_peak_fraction{_SUFFIX[mode]}':
         peak_fraction(ours, mode, measure)
         for measure in ('train', 'train_store') for mode in MODES},
      train_peak_fraction_tfb=peak_fraction(theirs, 'xla'),
      train_peak_fraction_tfb_nonxla=peak_fraction(theirs, 'nonxla'),
      logprob_over_inverse={
          flow: {mode: _ratio(_get(results[flow], f'log_prob_{mode}'),
                              _get(results[flow], f'inverse_{mode}'))
                 for mode in MODES} for flow in FLOWS},
      conv_ops={flow: {k: v.get('conv_ops') for k, v in
                       (results[flow].get('cells') or {}).items()}
                for flow in FLOWS},
      conv_ops_logprob_over_inverse={
          flow: _ratio(_get(results[flow], 'log_prob_nonxla', 'conv_ops'),
                       _get(results[flow], 'inverse_nonxla', 'conv_ops'))
          for flow in FLOWS},
      first_step_s={flow: _get(results[flow], 'train_xla', 'first_call_s')
                    for flow in FLOWS},
      first_step_s_nonxla={
          flow: _get(results[flow], 'train_nonxla', 'first_call_s')
          for flow in FLOWS},
      first_step_s_store={
          mode: _get(ours, f'train_store_{mode}', 'first_call_s')
          for mode in MODES},
      params={flow: results[flow].get('params') for flow in FLOWS},
      peak_rss_mb={flow: results[flow].get('peak_rss_mb') for flow in FLOWS},
      images_per_s={flow: {k: v.get('images_per_s') for k, v in
                           (results[flow].get('cells') or {}).items()}
                    for flow in FLOWS},
      images_per_s_best={flow: {k: args.batch / v['s_per_iter_min']
                                for k, v in
                                (results[flow].get('cells') or {}).items()
                                if v.get('s_per_iter_min')}
                         for flow in FLOWS},
      first_call_s={flow: {k: v.get('first_call_s') for k, v in
                           (results[flow].get('cells') or {}).items()}
                    for flow in FLOWS},
      matmul_peak_gflops=peak,
      matmul_peak_gflops_by_mode=matmul.get('gflops_by_mode'),
      forward_gflop_per_image=forward_flops / 1e9,
      train_gflop_per_image=train_flops / 1e9,
      conv_kernel_params_match={
          flow: results[flow].get('conv_kernel_params') ==
          common.conv_kernel_params(layers) for flow in FLOWS},
      config=_config(args),
      load_average={flow: results[flow].get('load_average')
                    for flow in FLOWS},
      wall_s=wall_s,
      errors={flow: r['error'] for flow, r in results.items()
              if r.get('error')} | {
                  f'{flow}/{k}': v['error'] for flow in FLOWS
                  for k, v in (results[flow].get('cells') or {}).items()
                  if v.get('error')},
  )
  if TORCH in results:
    summary.update(torch_summary(results, layers))
  return summary


def torch_summary(results, layers):
  """The fields comparing each TensorFlow flow with the PyTorch peer.

  `train_ratio_vs_torch{suffix}` is tfp_glow's `train_{mode}` over
  torch_glow's (eager) `train`, likewise `train_store_` and `logprob_`;
  `tfb_*_ratio_vs_torch{suffix}` the same for tfb.Glow.
  """
  torch_result = results[TORCH]
  fields = {}
  for mode in MODES:
    suffix = _SUFFIX[mode]
    for flow, prefix in (('tfp_glow', ''), ('tfb_glow', 'tfb_')):
      for measure in ('train', 'train_store', 'log_prob'):
        if flow == 'tfb_glow' and measure == 'train_store':
          continue
        theirs = 'log_prob' if measure == 'log_prob' else 'train'
        fields[f'{prefix}{_FIELD_NAMES[measure]}_ratio_vs_torch{suffix}'] = (
            _ratio(_get(results[flow], f'{measure}_{mode}'),
                   _get(torch_result, f'{theirs}_eager')))
  cells = torch_result.get('cells') or {}
  fields['torch'] = dict(
      images_per_s={k: v.get('images_per_s') for k, v in cells.items()},
      first_call_s={k: v.get('first_call_s') for k, v in cells.items()},
      params=torch_result.get('params'),
      peak_rss_mb=torch_result.get('peak_rss_mb'),
      conv_kernel_params_match=torch_result.get('conv_kernel_params') ==
      common.conv_kernel_params(layers),
      load_average=torch_result.get('load_average'),
      version=torch_result.get('torch_version'),
      threads=torch_result.get('torch_threads'),
      error=torch_result.get('error'))
  return fields


def torch_table(args, results, summary):
  """Lines comparing each flow with the PyTorch peer (eager)."""
  theirs = results[TORCH]
  names = dict(log_prob='log_prob', train='train step')
  rows = []
  for measure in TORCH_MEASURES:
    if measure not in args.measures:
      continue
    torch_rate = _get(theirs, f'{measure}_eager')
    for mode in args.modes:
      rows.append([f'{names[measure]} ({mode})', _fmt(torch_rate),
                   _fmt(_get(results['tfp_glow'], f'{measure}_{mode}')),
                   _fmt(_ratio(_get(results['tfp_glow'],
                                    f'{measure}_{mode}'), torch_rate)),
                   _fmt(_get(results['tfb_glow'], f'{measure}_{mode}')),
                   _fmt(_ratio(_get(results['tfb_glow'],
                                    f'{measure}_{mode}'), torch_rate))])
  if 'train_store' in args.measures:
    for mode in args.modes:
      rate = _get(results['tfp_glow'], f'train_store_{mode}')
      rows.append([f'train step, store ({mode})',
                   _fmt(_get(theirs, 'train_eager')), _fmt(rate),
                   _fmt(_ratio(rate, _get(theirs, 'train_eager'))), '', ''])
  rows.append(['peak RSS (MiB)', _fmt(theirs.get('peak_rss_mb'), '.0f'),
               _fmt(results['tfp_glow'].get('peak_rss_mb'), '.0f'),
               _fmt(_ratio(results['tfp_glow'].get('peak_rss_mb'),
                           theirs.get('peak_rss_mb'))),
               _fmt(results['tfb_glow'].get('peak_rss_mb'), '.0f'),
               _fmt(_ratio(results['tfb_glow'].get('peak_rss_mb'),
                           theirs.get('peak_rss_mb')))])
  rows.append(['params', _fmt(theirs.get('params'), ','),
               _fmt(results['tfp_glow'].get('params'), ','), '',
               _fmt(results['tfb_glow'].get('params'), ','), ''])
  header = ['vs PyTorch, images/s', 'torch (eager)', 'tfp_glow', 'ratio',
            'tfb.Glow', 'ratio']
  return [common.format_table(header, rows),
          f'ratio = flow / {TORCH} images/s; {TORCH}: bench/torch_glow.py, '
          f'torch {summary["torch"].get("version")}, '
          f'{summary["torch"].get("threads")} threads, eager.']


def _fmt(value, spec='.2f'):
  return '-' if value is None else format(value, spec)


def table(args, results, summary):
  """The human-readable table."""
  ours, theirs = results['tfp_glow'], results['tfb_glow']
  memory = dict(train=args.memory, train_store='store')
  names = dict(inverse='inverse only', log_prob='log_prob',
               train=f'train step, {memory["train"]}',
               train_store=f'train step, {memory["train_store"]}',
               sample='sample')
  rows = []
  for mode in args.modes:
    for measure in args.measures:
      key = f'{measure}_{mode}'
      their_key = f'{_theirs(measure)}_{mode}'
      rows.append([
          f'{names[measure]} ({mode})', _fmt(_get(ours, key)),
          _fmt(_get(theirs, their_key)),
          _fmt(_ratio(_get(ours, key), _get(theirs, their_key))),
          _fmt(_get(ours, key, 'first_call_s'), '.1f'),
          _fmt(_get(theirs, their_key, 'first_call_s'), '.1f')])
  for mode in args.modes:
    ratio = summary['logprob_over_inverse']
    rows.append([f'log_prob / inverse ({mode})',
                 _fmt(ratio['tfp_glow'][mode]), _fmt(ratio['tfb_glow'][mode]),
                 '', '', ''])
  ratio = summary['conv_ops_logprob_over_inverse']
  rows.append(['Conv2D ops log_prob / inverse', _fmt(ratio['tfp_glow']),
               _fmt(ratio['tfb_glow']), '', '', ''])
  for mode in args.modes:
    suffix = _SUFFIX[mode]
    for measure in ('train', 'train_store'):
      rows.append([
          f'train peak fraction, {memory[measure]} ({mode})',
          _fmt(summary[f'{measure}_peak_fraction{suffix}'], '.3f'),
          _fmt(summary['train_peak_fraction_tfb' + suffix], '.3f'),
          '', '', ''])
  rows.append(['params', _fmt(ours.get('params'), ','),
               _fmt(theirs.get('params'), ','), '', '', ''])
  rows.append(['peak RSS (MiB)', _fmt(ours.get('peak_rss_mb'), '.0f'),
               _fmt(theirs.get('peak_rss_mb'), '.0f'),
               _fmt(_ratio(ours.get('peak_rss_mb'),
                           theirs.get('peak_rss_mb'))), '', ''])
  header = ['images/s', 'tfp_glow', 'tfb.Glow', 'ratio', 'first s (ours)',
            'first s (tfb)']
  c = summary['config']
  lines = [
      f'Glow throughput: {"x".join(map(str, c["image_shape"]))}, '
      f'L={c["num_levels"]}, K={c["num_steps"]}, hidden '
      f'{c["hidden_channels"]}, batch {c["batch"]}, {c["threads"]} threads, '
      f'{c["seconds"]:g} s per measurement (median), tfp_glow memory='
      f'{c["memory"]} (train) and store (train_store)'
      + ('' if c.get('precision', 'float32') == 'float32' else
         f', tfp_glow networks in {c["precision"]} (the others float32)'),
      common.format_table(header, rows),
      'ratio = tfp_glow / tfb.Glow images/s; first s = the warm-up call '
      '(trace + compile + run).',
      f'model: {summary["forward_gflop_per_image"]:.2f} GFLOP/image forward, '
      f'{summary["train_gflop_per_image"]:.2f} training (3x); matmul peak '
      f'{_fmt(summary["matmul_peak_gflops"], ".1f")} GFLOP/s '
      f'({args.matmul_size}x{args.matmul_size}, {args.threads} threads, the '
      f'faster of {_peak_modes(summary)}).',
  ]
  if TORCH in results:
    lines += torch_table(args, results, summary)
  if summary.get('ratio_repeats'):
    each = summary['ratio_repeats']
    lines.append(
        f'{len(each["train_ratio_vs_tfb_nonxla"])} repeats, each number the '
        'median over them; per repeat: ' + '; '.join(
            f'{field} ' + ', '.join(_fmt(v) for v in each[field])
            for field in ('train_ratio_vs_tfb_nonxla',
                          'train_store_ratio_vs_tfb_nonxla',
                          'logprob_ratio_vs_tfb_nonxla',
                          'train_ratio_vs_tfb', 'train_store_ratio_vs_tfb',
                          'logprob_ratio_vs_tfb')))
  loads = [v for flow in FLOWS for v in (summary['load_average'][flow] or [])
           if v is not None]
  if loads and max(loads) > args.threads + 0.5:
    lines.append(f'WARNING: 1-min load average reached {max(loads):.1f} on '
                 f'this machine during the run; other processes share the '
                 'CPUs and the timings are noisy.')
  if summary['errors']:
    lines.append(f'ERRORS: {json.dumps(summary["errors"])}')
  return '\n'.join(lines)


def _peak_modes(summary):
  by_mode = summary.get('matmul_peak_gflops_by_mode') or {}
  return ' and '.join(f'{mode} {_fmt(value, ".1f")}'
                      for mode, value in by_mode.items()) or '-'


def _git_state():
  """`(commit, dirty)` of the repository, or `(None, None)` without git."""
  try:
    run = lambda *cmd: subprocess.run(
        ['git', '-C', _REPO] + list(cmd), capture_output=True, text=True,
        check=True).stdout.strip()
    return run('rev-parse', 'HEAD'), bool(run('status', '--porcelain',
                                              '--untracked-files=no'))
  except (OSError, subprocess.CalledProcessError):
    return None, None


RATIO_FIELDS = (
    'train_ratio_vs_tfb', 'train_ratio_vs_tfb_nonxla', 'logprob_ratio_vs_tfb',
    'logprob_ratio_vs_tfb_nonxla', 'sample_ratio_vs_tfb',
    'sample_ratio_vs_tfb_nonxla', 'train_peak_fraction',
    'train_peak_fraction_nonxla', 'train_store_ratio_vs_tfb',
    'train_store_ratio_vs_tfb_nonxla', 'train_store_peak_fraction',
    'train_store_peak_fraction_nonxla')
TORCH_RATIO_FIELDS = (
    'train_ratio_vs_torch', 'train_ratio_vs_torch_nonxla',
    'train_store_ratio_vs_torch', 'train_store_ratio_vs_torch_nonxla',
    'logprob_ratio_vs_torch', 'logprob_ratio_vs_torch_nonxla',
    'tfb_train_ratio_vs_torch', 'tfb_train_ratio_vs_torch_nonxla',
    'tfb_logprob_ratio_vs_torch', 'tfb_logprob_ratio_vs_torch_nonxla')


def merge_repeats(results):
  """One child's result from its repeats: every numeric field (of the result,
  of each measurement in `cells`, of the matmul's `gflops_by_mode`) is the
  median over the repeats in which it did not fail; `repeats` counts them."""
  good = [r for r in results if not r.get('error')]
  if not good:
    return results[0]
  merged = dict(common.median_fields(good), repeats=len(good))
  if good[0].get('gflops_by_mode'):
    merged['gflops_by_mode'] = common.median_fields(
        [r['gflops_by_mode'] for r in good if r.get('gflops_by_mode')])
  cells = {}
  for key, first in (good[0].get('cells') or {}).items():
    ok = [r['cells'][key] for r in good
          if key in (r.get('cells') or {}) and not r['cells'][key].get('error')]
    cells[key] = (dict(common.median_fields(ok), repeats=len(ok)) if ok
                  else first)
  merged['cells'] = cells
  loads = [r.get('load_average') or [None, None] for r in good]
  starts = [a for a, _ in loads if a is not None]
  ends = [b for _, b in loads if b is not None]
  merged['load_average'] = [min(starts) if starts else None,
                            max(ends) if ends else None]
  return merged


def summarize_repeats(args, runs, wall_s):
  """`(summary, merged)` of `runs` (`{flow: [result of each repeat]}`):
  `merged` the results merged over the repeats (`merge_repeats`), `summary`
  theirs plus each repeat's ratios and any repeat's errors."""
  merged = {flow: merge_repeats(results) for flow, results in runs.items()}
  summary = summarize_run(args, merged, wall_s)
  repeats = len(next(iter(runs.values())))
  if repeats > 1:
    each = [summarize_run(args, {flow: results[r]
                                 for flow, results in runs.items()}, wall_s)
            for r in range(repeats)]
    fields = RATIO_FIELDS + (TORCH_RATIO_FIELDS if TORCH in runs else ())
    summary['ratio_repeats'] = {field: [e[field] for e in each]
                                for field in fields}
    for r, e in enumerate(each):
      summary['errors'].update({f'{k}#{r}': v for k, v in e['errors'].items()})
  return summary, merged


def run_all(args):
  start = time.perf_counter()
  git_commit, git_dirty = _git_state()
  runs = {flow: [] for flow in ('matmul',) + tuple(args.flows)}
  for _ in range(args.repeats):
    for flow, results in runs.items():
      results.append(_run_child(args, flow))
  summary, results = summarize_repeats(args, runs,
                                       time.perf_counter() - start)
  summary.update(git_commit=git_commit, git_dirty=git_dirty)
  print(table(args, results, summary))
  print(json.dumps(summary, sort_keys=True))
  return 1 if summary['errors'] else 0


def main(argv=None):
  args = parse_args(argv)
  if args.flow == 'all':
    return run_all(args)
  if args.flow == 'matmul':
    result = run_matmul(args)
  elif args.flow == TORCH:
    result = run_torch_flow(args)
  else:
    result = run_flow(args)
  print(json.dumps(result, sort_keys=True))
  return 0


if __name__ == '__main__':
  sys.exit(main())

r"""Peak memory of a Glow training step against depth K ("constant memory").

    cd /work/main && PYTHONPATH=. python bench/memory.py           # full
    PYTHONPATH=. python bench/memory.py --quick                    # smoke
    PYTHONPATH=. python bench/memory.py --no_baseline              # no tfb
    PYTHONPATH=. python bench/memory.py --memories=invertible \
        --no_baseline --repeats=5                                  # medians

Glow's reversible steps let the backward pass recompute each step's input
from its output instead of storing it ([1] Section 1: "a constant memory cost
with respect to depth"). tfp_glow does that with `memory='invertible'`
(`bijectors/glow_steps.py`); `memory='store'` lets autodiff keep every
activation (memory linear in K). This script measures both, and optionally
`tfp.bijectors.Glow` (`--baseline`, autodiff stores its activations), at
every depth in `--depths` (default 8 and 32) at the matched config of
`bench/throughput.py`: 32x32x3 images, L=3 levels, 400 hidden channels,
affine coupling, LU 1x1 convolutions, batch 16, 2 threads.

Each (flow, memory, K) runs in its own subprocess, one after the other, so
that each peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is that
run's alone. The subprocess sets `tf.config.threading` before any op, builds
the flow, runs ActNorm's data-dependent init (`tfp_glow.initialize`, one
eager `log_prob` on the batch), builds the training program's Adam (its slots), and then
runs the training step -- a plain (non-XLA) `tf.function` doing one Adam
step on `-mean(log_prob(x))`, the `train` measure of `bench/throughput.py`
-- once (trace + run: `first_step_s`) and `--steps` more times (median:
`step_s`). It records:

  rss_before_step_mb  current RSS (VmRSS) right before the first step, i.e.
                      after build + init + optimizer build
  first_step_peak_rss_mb, step_peak_rss_mb
                      the peak RSS during the first step, and during the
                      later (steady-state) steps: the kernel's high-water
                      mark is reset (`/proc/self/clear_refs`, "5") before
                      each window; `null` where that is not permitted
  first_step_increment_mb, step_increment_mb
                      those peaks minus `rss_before_step`: what training
                      adds to the built and initialized model (the traced
                      graph, gradients, activations; memory that the
                      allocator keeps after the first step counts too)
  rss_before_steady_mb
                      current RSS after the first step
  peak_rss_mb         peak RSS of the whole subprocess (build, init and all
                      steps): the maximum of `ru_maxrss` over the windows
  params, state_mb    trainable parameters, and 4 x their float32 bytes
                      (variables, gradients, Adam's two slots), which grow
                      linearly in K whatever the memory mode

It prints a table and, as its LAST line, one JSON object with the per-run
records (`runs`), the config, the load average, and

  rss_k32_over_k8        peak_rss_mb at K=32 / at K=8, memory='invertible'
                         (the issue's target: <= 1.3); with --repeats, of
                         the median peaks
  rss_k32_over_k8_repeats  the same ratio for each repeat
  rss_k32_over_k8_store  the same for memory='store'
  rss_excl_state_k32_over_k8
                         (peak_rss_mb - state_mb) at K=32 / at K=8,
                         memory='invertible': the ratio without the
                         parameter state, which no memory mode can avoid
  first_step_s_k8, first_step_s_k32    memory='invertible'
  tensor_k32_over_k8     with --tensor_memory: the peak of TensorFlow's own
                         (BFC) CPU allocator during the later steps
                         (`tensor_step_peak_mb` per run), K=32 / K=8,
                         memory='invertible': the tensors alone, without the
                         runtime's and malloc's share of RSS

(`null` where a depth or mode was not run or failed). Other depths appear in
`rss_ratio` (largest / smallest depth, per flow and memory mode).

Timings are wall-clock on a shared machine; RSS also counts TensorFlow's
own footprint (a few hundred MiB) and the traced graphs.

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
  sys.path.insert(0, _REPO)

from bench import common  # pylint: disable=g-import-not-at-top
from bench import throughput  # pylint: disable=g-import-not-at-top

MEMORIES = ('auto', 'invertible', 'store')
BASELINE = 'tfb_glow'
TARGET = 1.3  # The target for rss_k32_over_k8.

QUICK = dict(image_shape=(8, 8, 3), num_levels=2, hidden_channels=16, batch=4,
             depths=(2, 8))


def parse_args(argv=None):
  p = argparse.ArgumentParser(
      description=__doc__.split('\n\n')[0],
      epilog=__doc__.split('\n\n', 1)[1],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument('--quick', action='store_true',
                 help='tiny smoke config (8x8x3, L=2, hidden 16, batch 4, '
                 'depths 2,8); explicit flags win.')
  p.add_argument('--depths', default=None,
                 help='comma-separated K values (8,32)')
  p.add_argument('--memories', default=','.join(MEMORIES),
                 help="comma-separated tfp_glow gradient memory modes "
                 "(invertible,store)")
  p.add_argument('--baseline', dest='baseline', action='store_true',
                 default=True,
                 help='also measure tfp.bijectors.Glow at every depth (the '
                 'default; at K=32 its first step traces for a minute or '
                 'more)')
  p.add_argument('--no_baseline', '--no-baseline', dest='baseline',
                 action='store_false', help='skip tfp.bijectors.Glow')
  p.add_argument('--image_shape', default=None, help='H,W,C (32,32,3)')
  p.add_argument('--num_levels', type=int, default=None, help='L (3)')
  p.add_argument('--hidden_channels', type=int, default=None, help='(400)')
  p.add_argument('--batch', type=int, default=None, help='(16)')
  p.add_argument('--threads', type=int, default=2,
                 help='TF intra- and inter-op threads (2)')
  p.add_argument('--steps', type=int, default=3,
                 help='timed training steps after the first (3)')
  p.add_argument('--seconds', type=float, default=0.,
                 help='keep timing steps for at least this long (0: just '
                 '--steps)')
  p.add_argument('--learning_rate', type=float, default=1e-4,
                 help='Adam learning rate')
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--tensor_memory', action='store_true',
                 help="run the children on TensorFlow's BFC CPU allocator "
                 '(TF_CPU_ALLOCATOR_USE_BFC) and record its tensor-memory '
                 'peak per step: the memory of the tensors alone, without '
                 "the runtime's and malloc's share of RSS (RSS is then not "
                 'comparable with a default run)')
  p.add_argument('--repeats', type=int, default=1,
                 help='run every (flow, memory, K) this many times, the '
                 'repeats interleaved, and summarize each by the median of '
                 'its runs (1). Peak RSS at K=32 differs by up to 70 MiB '
                 "between identical runs (glibc malloc's adaptive mmap "
                 'threshold); the medians are steadier')
  p.add_argument('--timeout', type=float, default=3600.,
                 help='seconds before a subprocess is killed (3600)')
  # One measurement in this process (what the parent launches):
  p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
  p.add_argument('--flow', default='tfp_glow',
                 choices=('tfp_glow', BASELINE), help=argparse.SUPPRESS)
  p.add_argument('--num_steps', type=int, default=None, help=argparse.SUPPRESS)
  p.add_argument('--memory', default='invertible', choices=MEMORIES,
                 help=argparse.SUPPRESS)
  args = p.parse_args(argv)

  defaults = dict(image_shape=(32, 32, 3), num_levels=3, hidden_channels=400,
                  batch=16, depths=(8, 32))
  if args.quick:
    defaults.update(QUICK)
  if isinstance(args.image_shape, str):
    args.image_shape = tuple(int(d) for d in args.image_shape.split(','))
  if isinstance(args.depths, str):
    args.depths = tuple(int(d) for d in args.depths.split(',') if d)
  for name, value in defaults.items():
    if getattr(args, name) is None:
      setattr(args, name, value)
  common.require_positive(p, args, (
      'image_shape', 'num_levels', 'hidden_channels', 'batch', 'threads',
      'timeout'))
  args.memories = [m for m in args.memories.split(',') if m]
  for m in args.memories:
    if m not in MEMORIES:
      p.error(f'--memories: unknown {m!r}; choose from {MEMORIES}')
  if not args.depths or min(args.depths) < 1:
    p.error('--depths: need positive integers')
  if args.steps < 1:
    p.error('--steps: need at least 1')
  if args.repeats < 1:
    p.error('--repeats: need at least 1')
  return args


def _config(args):
  return dict(image_shape=list(args.image_shape), num_levels=args.num_levels,
              hidden_channels=args.hidden_channels, batch=args.batch,
              threads=args.threads, depths=list(args.depths),
              memories=list(args.memories), baseline=args.baseline,
              steps=args.steps, seconds=args.seconds,
              learning_rate=args.learning_rate, seed=args.seed,
              coupling='affine', permutation='lu', mode='nonxla',
              tensor_memory=args.tensor_memory, repeats=args.repeats)


# --- Child: one (flow, memory, K) in this process -----------------------------


def _proc_status_mb(field):
  """`VmRSS` / `VmHWM` of this process from /proc/self/status, in MiB."""
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith(field + ':'):
          return int(line.split()[1]) / 1024.
  except OSError:
    pass
  return None


def _tensor_memory_mb(tf, key):
  """TensorFlow's CPU allocator statistic `key` ('current', 'peak') in MiB,
  or `None` when the allocator keeps none (the default, non-BFC one)."""
  try:
    return tf.config.experimental.get_memory_info('CPU:0')[key] / 2. ** 20
  except (ValueError, RuntimeError, KeyError):
    return None


def _reset_peak_rss():
  """Resets the kernel's RSS high-water mark; `False` if not permitted."""
  try:
    with open('/proc/self/clear_refs', 'w') as f:
      f.write('5')
    return True
  except OSError:
    return False


def run_one(args):
  """Measures one training step; returns the child's result dict."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  tf = throughput._import_tf(args.threads)  # pylint: disable=protected-access
  import tfp_glow  # pylint: disable=g-import-not-at-top,unused-import

  load_start = common.load_average()
  rng = np.random.default_rng(args.seed)
  pixels = rng.integers(0, 256, size=(args.batch,) + tuple(args.image_shape))
  # Uniformly dequantized 8-bit images in [0, 1], as bench/throughput.py.
  images = tf.constant(((pixels + rng.uniform(size=pixels.shape)) / 256.)
                       .astype(np.float32))
  rss = {}
  rss['start'] = _proc_status_mb('VmRSS')

  start = time.perf_counter()
  dist = throughput.build_flow(tf, args.flow, argparse.Namespace(
      image_shape=args.image_shape, num_levels=args.num_levels,
      num_steps=args.num_steps, hidden_channels=args.hidden_channels,
      memory=args.memory, precision='float32', seed=args.seed))
  build_s = time.perf_counter() - start
  rss['after_build'] = _proc_status_mb('VmRSS')

  start = time.perf_counter()
  if args.flow == 'tfp_glow':
    tfp_glow.initialize(dist, images).numpy()  # ActNorm data init.
  else:
    dist.log_prob(images).numpy()  # tfb.Glow's ActNorm inits on first call.
  init_s = time.perf_counter() - start
  rss['after_init'] = _proc_status_mb('VmRSS')

  params = int(sum(np.prod(v.shape) for v in dist.trainable_variables))
  # bench/throughput.py's train_nonxla: one step of the training program's
  # Adam on -mean(log_prob), in a plain tf.function.
  train = tf.function(throughput._functions(  # pylint: disable=protected-access
      tf, args.flow, dist, args)['train'])

  rss_before_step = _proc_status_mb('VmRSS')
  peak_before_step = common.peak_rss_mb()
  peaks = [peak_before_step]
  common.log(f'{_name(args)}: built in {build_s:.1f} s, init {init_s:.1f} s, '
       f'{params:,} parameters, RSS {rss_before_step:.0f} MiB before the '
       'first step')
  can_reset = _reset_peak_rss()
  start = time.perf_counter()
  losses = [float(train(images).numpy())]  # Trace + run.
  first_step_s = time.perf_counter() - start
  first_peak = _proc_status_mb('VmHWM') if can_reset else None
  peaks.append(common.peak_rss_mb())
  rss_before_steady = _proc_status_mb('VmRSS')
  if can_reset:
    _reset_peak_rss()
  tensor_before_steady = _tensor_memory_mb(tf, 'current')
  if tensor_before_steady is not None:
    tf.config.experimental.reset_memory_stats('CPU:0')
  times = []
  begin = time.perf_counter()
  while len(times) < args.steps or time.perf_counter() - begin < args.seconds:
    start = time.perf_counter()
    losses.append(float(train(images).numpy()))
    times.append(time.perf_counter() - start)
  step_peak = _proc_status_mb('VmHWM') if can_reset else None
  tensor_step_peak = _tensor_memory_mb(tf, 'peak')
  peaks.append(common.peak_rss_mb())
  peak = max(p for p in peaks + [first_peak, step_peak]
             if p is not None)

  def minus(a, b):
    return None if a is None or b is None else a - b

  chosen = (tfp_glow.memory_plan(dist, args.batch)['memory']
            if args.flow == 'tfp_glow' else None)
  result = dict(
      flow=args.flow, memory=args.memory if args.flow == 'tfp_glow' else None,
      chosen_memory=chosen,
      num_steps=args.num_steps, params=params,
      state_mb=4 * 4 * params / 2 ** 20,
      peak_rss_mb=peak,
      peak_rss_before_step_mb=peak_before_step,
      rss_after_build_mb=rss['after_build'],
      rss_after_init_mb=rss['after_init'],
      rss_before_step_mb=rss_before_step,
      first_step_peak_rss_mb=first_peak,
      first_step_increment_mb=minus(first_peak, rss_before_step),
      rss_before_steady_mb=rss_before_steady,
      step_peak_rss_mb=step_peak,
      step_increment_mb=minus(step_peak, rss_before_step),
      peak_window_reset=can_reset,
      tensor_before_steady_mb=tensor_before_steady,
      tensor_step_peak_mb=tensor_step_peak,
      first_step_s=first_step_s,
      step_s=statistics.median(times),
      step_s_min=min(times), timed_steps=len(times),
      build_s=build_s, init_s=init_s,
      losses=losses, finite=bool(np.all(np.isfinite(losses))),
      load_average=[load_start, common.load_average()],
      tf_version=tf.__version__)
  common.log(f'{_name(args)}: peak RSS {peak:.0f} MiB, first step '
       f'{first_step_s:.1f} s, step {result["step_s"]:.2f} s')
  return result


def _name(args):
  if args.flow == 'tfp_glow':
    return f'tfp_glow memory={args.memory} K={args.num_steps}'
  return f'{args.flow} K={args.num_steps}'


# --- Parent: one subprocess per run, then the table and the JSON line ---------


def _configs(args):
  """`[(flow, memory, K)]`: what is measured, each once."""
  configs = []
  for k in args.depths:
    for memory in args.memories:
      configs.append(('tfp_glow', memory, k))
    if args.baseline:
      configs.append((BASELINE, None, k))
  return configs


def _runs(args):
  """`[(repeat, (flow, memory, K))]` in the order they run: every config
  once, then again for each further repeat (so that a slow drift of the
  machine's load does not fall on one depth)."""
  return [(repeat, config) for repeat in range(args.repeats)
          for config in _configs(args)]


def _child_argv(args, flow, memory, k):
  argv = [
      sys.executable, os.path.abspath(__file__), '--child', f'--flow={flow}',
      f'--num_steps={k}',
      '--image_shape=' + ','.join(map(str, args.image_shape)),
      f'--num_levels={args.num_levels}',
      f'--hidden_channels={args.hidden_channels}', f'--batch={args.batch}',
      f'--threads={args.threads}', f'--steps={args.steps}',
      f'--seconds={args.seconds}', f'--learning_rate={args.learning_rate}',
      f'--seed={args.seed}']
  if memory is not None:
    argv.append(f'--memory={memory}')
  return argv


def _run_child(args, flow, memory, k):
  """Runs one child; returns its JSON dict, or one with an `error`."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  if args.tensor_memory:
    env['TF_CPU_ALLOCATOR_USE_BFC'] = 'true'
  env['PYTHONPATH'] = os.pathsep.join(
      [_REPO] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
  common.log(f'starting {flow}{"" if memory is None else " memory=" + memory} '
       f'K={k} subprocess')
  failed = dict(flow=flow, memory=memory, num_steps=k)
  try:
    proc = subprocess.run(_child_argv(args, flow, memory, k),
                          stdout=subprocess.PIPE, env=env, text=True,
                          check=False, timeout=args.timeout)
  except subprocess.TimeoutExpired:
    return dict(failed, error=f'timed out after {args.timeout:g} s')
  result = common.last_json_line(proc.stdout)
  if proc.returncode or result is None:
    return dict(failed, error=f'exit status {proc.returncode}; stdout '
                f'tail: {proc.stdout[-500:]!r}')
  return result


def _matches(records, flow, memory, k):
  return [r for r in records
          if (r.get('flow'), r.get('memory'), r.get('num_steps')) == (
              flow, memory, k)]


def _find(records, flow, memory, k):
  """The record of a run; of a repeated run, the median of each numeric
  field over its repeats that did not fail (`repeats`: how many)."""
  matches = _matches(records, flow, memory, k)
  good = [r for r in matches if not r.get('error')]
  if len(good) < 2:
    return good[0] if good else (matches[0] if matches else {})
  merged = dict(common.median_fields(good), repeats=len(good))
  merged.pop('repeat', None)
  return merged


def _merged(args, records):
  """One record per (flow, memory, K), in run order (medians of repeats)."""
  return [_find(records, *config) for config in _configs(args)]


def _run_key(record):
  """`flow/memory/K=k[#repeat]`: a run's name in `errors` and the
  tensor-peak line."""
  key = f'{record["flow"]}/{record.get("memory")}/K={record["num_steps"]}'
  return key + (f'#{record["repeat"]}' if record.get('repeat') else '')


def _ratio(a, b):
  return a / b if a is not None and b else None


def summarize_run(args, records, wall_s):
  """The JSON summary of a full run from the children's records."""
  peak = lambda flow, memory, k: _find(records, flow, memory, k).get(
      'peak_rss_mb')
  first = lambda k: _find(records, 'tfp_glow', 'invertible', k).get(
      'first_step_s')

  def minus_state(flow, memory, k):
    r = _find(records, flow, memory, k)
    if r.get('peak_rss_mb') is None or r.get('state_mb') is None:
      return None
    return r['peak_rss_mb'] - r['state_mb']

  lo, hi = min(args.depths), max(args.depths)
  keys = [('tfp_glow', m) for m in args.memories]
  if args.baseline:
    keys.append((BASELINE, None))
  rss_ratio, step_increment_ratio, rss_mb_per_step = {}, {}, {}
  for flow, memory in keys:
    name = flow if memory is None else f'{flow}/{memory}'
    rss_ratio[name] = _ratio(peak(flow, memory, hi), peak(flow, memory, lo))
    step_increment_ratio[name] = _ratio(
        _find(records, flow, memory, hi).get('step_increment_mb'),
        _find(records, flow, memory, lo).get('step_increment_mb'))
    a, b = peak(flow, memory, hi), peak(flow, memory, lo)
    rss_mb_per_step[name] = ((a - b) / (hi - lo) if a is not None and
                             b is not None and hi > lo else None)
  ratio = _ratio(peak('tfp_glow', 'invertible', 32),
                 peak('tfp_glow', 'invertible', 8))
  tensors = lambda k: _find(records, 'tfp_glow', 'invertible', k).get(
      'tensor_step_peak_mb')
  errors = {_run_key(r): r['error'] for r in records if r.get('error')}
  per_repeat = [_ratio(a.get('peak_rss_mb'), b.get('peak_rss_mb'))
                for a, b in zip(_matches(records, 'tfp_glow', 'invertible', 32),
                                _matches(records, 'tfp_glow', 'invertible', 8))]
  return dict(
      rss_k32_over_k8=ratio,
      rss_k32_over_k8_repeats=per_repeat,
      rss_k32_over_k8_store=_ratio(peak('tfp_glow', 'store', 32),
                                   peak('tfp_glow', 'store', 8)),
      rss_k32_over_k8_tfb=_ratio(peak(BASELINE, None, 32),
                                 peak(BASELINE, None, 8)),
      rss_excl_state_k32_over_k8=_ratio(
          minus_state('tfp_glow', 'invertible', 32),
          minus_state('tfp_glow', 'invertible', 8)),
      rss_target=TARGET,
      rss_target_met=None if ratio is None else ratio <= TARGET,
      first_step_s_k8=first(8), first_step_s_k32=first(32),
      tensor_k32_over_k8=_ratio(tensors(32), tensors(8)),
      rss_ratio=rss_ratio, step_increment_ratio=step_increment_ratio,
      rss_mb_per_step=rss_mb_per_step,
      runs=records, config=_config(args),
      load_average={'start': records[0].get('load_average', [None])[0]
                    if records else None,
                    'end': common.load_average(),
                    'max': max((v for r in records
                                for v in r.get('load_average') or []
                                if v is not None), default=None)},
      wall_s=wall_s, errors=errors)


def _fmt(value, spec='.0f'):
  return '-' if value is None else format(value, spec)


def table(args, summary):
  """The human-readable table."""
  rows = []
  merged = _merged(args, summary['runs'])
  for r in merged:
    rows.append([
        r['flow'], r.get('memory') or '(autodiff)', str(r['num_steps']),
        _fmt(r.get('params') and r['params'] / 1e6, '.2f'),
        _fmt(r.get('state_mb')), _fmt(r.get('rss_before_step_mb')),
        _fmt(r.get('first_step_peak_rss_mb')),
        _fmt(r.get('step_peak_rss_mb')), _fmt(r.get('step_increment_mb')),
        _fmt(r.get('peak_rss_mb')), _fmt(r.get('first_step_s'), '.1f'),
        _fmt(r.get('step_s'), '.2f')])
  header = ['flow', 'memory', 'K', 'params M', 'state MiB', 'RSS before',
            'first-step peak', 'step peak', 'step incr', 'peak RSS',
            'first step s', 'step s']
  c = summary['config']
  lines = [
      f'Glow training-step memory: {"x".join(map(str, c["image_shape"]))}, '
      f'L={c["num_levels"]}, hidden {c["hidden_channels"]}, batch '
      f'{c["batch"]}, {c["threads"]} threads, non-XLA tf.function, Adam; '
      'RSS in MiB',
      common.format_table(header, rows),
      'state = 4 x float32 params (variables, gradients, Adam m and v); '
      'RSS before = VmRSS after build + init; first-step / step peak = '
      'high-water mark during the first (trace + run) / later steps; step '
      'incr = step peak - RSS before; peak RSS = whole '
      'subprocess (ru_maxrss).',
  ]
  ratios = ', '.join(f'{name} {_fmt(v, ".2f")}'
                     for name, v in summary['rss_ratio'].items())
  lo, hi = min(args.depths), max(args.depths)
  lines.append(f'peak RSS K={hi} / K={lo}: {ratios}')
  if summary['rss_k32_over_k8'] is not None:
    lines.append(
        f'rss_k32_over_k8 (invertible) = {summary["rss_k32_over_k8"]:.2f} '
        f'(target <= {TARGET}: '
        f'{"met" if summary["rss_target_met"] else "NOT met"}); '
        'without the parameter state (peak RSS - state MiB): '
        f'{_fmt(summary["rss_excl_state_k32_over_k8"], ".2f")}')
  if args.repeats > 1 and summary['rss_k32_over_k8_repeats']:
    lines.append(
        f'{args.repeats} repeats, the table their medians; rss_k32_over_k8 '
        'per repeat: ' + ', '.join(
            _fmt(v, '.3f') for v in summary['rss_k32_over_k8_repeats']))
  tensor_peaks = {_run_key(r): r['tensor_step_peak_mb']
                  for r in merged
                  if r.get('tensor_step_peak_mb') is not None}
  if tensor_peaks:
    lines.append(
        'TensorFlow allocator (BFC) tensor peak per step, MiB: ' + ', '.join(
            f'{name} {value:.0f}' for name, value in tensor_peaks.items()) +
        f'; tensor_k32_over_k8 = {_fmt(summary["tensor_k32_over_k8"], ".2f")}')
  load = summary['load_average']['max']
  if load is not None and load > args.threads + 0.5:
    lines.append(f'WARNING: 1-min load average reached {load:.1f} on this '
                 'machine during the run; other processes share the CPUs '
                 'and the timings are noisy.')
  if summary['errors']:
    lines.append(f'ERRORS: {json.dumps(summary["errors"])}')
  return '\n'.join(lines)


def run_all(args):
  start = time.perf_counter()
  git_commit, git_dirty = throughput._git_state()  # pylint: disable=protected-access
  records = [dict(_run_child(args, *config), repeat=repeat)
             for repeat, config in _runs(args)]
  summary = summarize_run(args, records, time.perf_counter() - start)
  summary.update(git_commit=git_commit, git_dirty=git_dirty)
  print(table(args, summary))
  print(json.dumps(summary, sort_keys=True))
  return 1 if summary['errors'] else 0


def main(argv=None):
  args = parse_args(argv)
  if not args.child:
    return run_all(args)
  if args.num_steps is None:
    args.num_steps = args.depths[0]
  print(json.dumps(run_one(args), sort_keys=True))
  return 0


if __name__ == '__main__':
  sys.exit(main())

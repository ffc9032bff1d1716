"""What each public fallback of the compatibility fences costs, side by side.

    PYTHONPATH=. python -m bench.compat_fallbacks              # about 1 minute
    PYTHONPATH=. python -m bench.compat_fallbacks --repeats=3  # medians

Times one training step (`GlowTrainer.train_step` in a `tf.function`, no XLA,
one device) of a small Glow with every private path in use, then with each
fence's fallback forced on alone (as if the upstream symbol were gone).
Prints a table and one JSON line. The all-reduce hook's fallback only acts
with more than one replica, so it is not timed here.
"""

import argparse
import json
import time

from bench import common

FALLBACKS = ('none', 'bijector_cache', 'adam_slots', 'no_merge_call',
             'xla_context')


def _force(fallback):
  """Makes the fence named `fallback` answer "the private symbol is gone"."""
  from bijectors import _tf_compat  # pylint: disable=g-import-not-at-top
  from bijectors import _tfp_compat  # pylint: disable=g-import-not-at-top
  from train import _keras_compat  # pylint: disable=g-import-not-at-top
  patches = dict(
      bijector_cache=(_tfp_compat, 'bijector_cache_works', lambda: False),
      adam_slots=(_keras_compat, 'slots', lambda *args: None),
      no_merge_call=(_tf_compat, 'no_merge_call_check', lambda: None),
      xla_context=(_tf_compat, 'xla_context_check', lambda: None))
  if fallback in patches:
    module, name, value = patches[fallback]
    setattr(module, name, value)


def _measure(args, fallback):
  """`dict(first_call_s, nodes, **summarize)` for one fallback, in this
  process; `nodes` counts the ops of the step and of its nested functions."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tfp_glow  # pylint: disable=g-import-not-at-top
  from train import model as model_lib  # pylint: disable=g-import-not-at-top
  from train import optim  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  _force(fallback)
  shape = (args.image_size, args.image_size, 3)
  dist = tfp_glow.glow(shape, num_levels=args.num_levels,
                       num_steps=args.num_steps,
                       hidden_channels=args.hidden_channels,
                       memory=args.memory)
  images = np.random.default_rng(0).integers(0, 256, (args.batch,) + shape,
                                             np.uint8)
  tfp_glow.initialize(dist, tfp_glow.dequantize(images, 8, seed=[0, 0]))
  trainer = model_lib.GlowTrainer(dist, n_bits=8)
  optimizer = optim.make_optimizer('adam', 1e-4, 0)
  optimizer.build(dist.trainable_variables)
  trainer.compile(optimizer=optimizer)
  step = tf.function(trainer.train_step)
  batch = tf.constant(images)
  graph_def = step.get_concrete_function(batch).graph.as_graph_def()
  nodes = len(graph_def.node) + sum(len(f.node_def)
                                    for f in graph_def.library.function)
  first, times = common.time_calls(
      lambda: float(step(batch)['bpd']), args.seconds)
  return dict(first_call_s=first, nodes=nodes,
              **common.summarize(times, args.batch))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--fallback', choices=FALLBACKS,
                      help='measure only this one (in this process)')
  parser.add_argument('--seconds', type=float, default=4.)
  parser.add_argument('--repeats', type=int, default=1,
                      help='interleaved runs of every fallback; medians')
  parser.add_argument('--threads', type=int, default=2)
  parser.add_argument('--batch', type=int, default=16)
  parser.add_argument('--image_size', type=int, default=16)
  parser.add_argument('--num_levels', type=int, default=2)
  parser.add_argument('--num_steps', type=int, default=4)
  parser.add_argument('--hidden_channels', type=int, default=64)
  parser.add_argument('--memory', default='invertible')
  args = parser.parse_args()
  if args.fallback:
    print(json.dumps(_measure(args, args.fallback)))
    return
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  runs = {fallback: [] for fallback in FALLBACKS}
  argv = [a for a in sys.argv[1:] if not a.startswith('--fallback')]
  for _ in range(args.repeats):
    for fallback in FALLBACKS:  # Each in a fresh process: no shared traces.
      done = subprocess.run(
          [sys.executable, '-m', 'bench.compat_fallbacks',
           f'--fallback={fallback}'] + argv, capture_output=True, text=True,
          check=True)
      runs[fallback].append(common.last_json_line(done.stdout))
  results = {fallback: common.median_fields(records)
             for fallback, records in runs.items()}
  base = results['none']['s_per_iter_median']
  rows = [[name, f'{r["s_per_iter_median"] * 1e3:.1f}',
           f'{r["s_per_iter_median"] / base:.2f}x', f'{r["first_call_s"]:.1f}',
           str(r['nodes'])] for name, r in results.items()]
  print(common.format_table(
      ['fallback forced', 'step ms (median)', 'vs none', 'first call s',
       'graph ops'], rows))
  print(json.dumps(dict(config=vars(args), load_average=common.load_average(),
                        time=time.strftime('%Y-%m-%d %H:%M'),
                        results=results)))


if __name__ == '__main__':
  main()

"""Test bits/dim against wall time: tfp_glow vs tfp.bijectors.Glow on demo.flags.

    python bench/demo_curve.py --budget_s=600

Trains each flow with `python -m train.main --flagfile=demo.flags` (same data,
architecture, optimizer, schedule and batch; only --flow differs) for
`--budget_s` seconds of wall time or to the flag file's `--train_steps`,
whichever comes first, evaluating the test bits/dim every `--eval_every` steps;
a run still going at the budget is stopped with SIGTERM. Other flags pass
through to both runs (e.g. `--train_steps=3000`; the learning-rate schedule
follows it, so a run cut by the budget is the start of that longer run).
Prints the last test bits/dim each flow had reached at each time mark, and a
last line of JSON with the raw curves.
Wall time counts from the start of `train.run` (model building, ActNorm init
and tracing included).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOWS = ('tfp_glow', 'tfb_glow')


def train(flow, budget_s, workdir, eval_every, extra):
  """Runs one flow for `budget_s` seconds at most; returns its test-bpd curve."""
  command = [sys.executable, '-m', 'train.main', '--flagfile=demo.flags',
             f'--flow={flow}', f'--workdir={workdir}',
             f'--eval_every={eval_every}',
             f'--log_every={eval_every}', '--sample_every=0',
             '--checkpoint_every=1000000', '--verbose=0', '--noexport',
             *extra]
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='2')
  with open(os.path.join(workdir, 'log.txt'), 'w') as log:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
      process.wait(timeout=budget_s)
    except subprocess.TimeoutExpired:
      process.send_signal(signal.SIGTERM)
      process.wait(timeout=300)
  curve = []
  path = os.path.join(workdir, 'metrics.jsonl')
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        record = json.loads(line)
        if record.get('test_bpd') is not None and record['wall_s'] <= budget_s:
          curve.append(dict(wall_s=record['wall_s'], step=record['step'],
                            test_bpd=record['test_bpd']))
  return curve


def at(curve, seconds):
  """The last test bits/dim reached by `seconds`, or None."""
  values = [p['test_bpd'] for p in curve if p['wall_s'] <= seconds]
  return values[-1] if values else None


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--budget_s', type=float, default=600.)
  parser.add_argument('--eval_every', type=int, default=50)
  parser.add_argument('--marks', type=int, default=10,
                      help='rows of the table, evenly spaced in time')
  parser.add_argument('--workdir', default='')
  parser.add_argument('--flows', default=','.join(FLOWS))
  args, extra = parser.parse_known_args()
  workdir = args.workdir or tempfile.mkdtemp(prefix='demo_curve_')
  curves = {}
  for flow in args.flows.split(','):
    flow_dir = os.path.join(workdir, flow)
    os.makedirs(flow_dir, exist_ok=True)
    started = time.time()
    curves[flow] = train(flow, args.budget_s, flow_dir, args.eval_every,
                         extra)
    print(f'{flow}: {len(curves[flow])} evaluations in '
          f'{time.time() - started:.0f} s ({flow_dir})', flush=True)
  flows = list(curves)
  print('\nTest bits/dim (last evaluation reached) vs wall time')
  print(f'{"wall s":>8} ' + ' '.join(f'{f:>10}' for f in flows))
  for i in range(1, args.marks + 1):
    seconds = args.budget_s * i / args.marks
    cells = [at(curves[f], seconds) for f in flows]
    print(f'{seconds:8.0f} ' + ' '.join(
        f'{c:10.4f}' if c is not None else f'{"-":>10}' for c in cells))
  print(json.dumps(dict(budget_s=args.budget_s, curves=curves)))


if __name__ == '__main__':
  main()

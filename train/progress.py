"""The console's progress line, one every `--log_every` steps:

    step 250/1000  47 img/s  train 2.31 bits/dim  test 2.10 bits/dim  1m12s

Steps count towards `--train_steps`; images/s and train bits/dim are over the
steps since the previous line, test bits/dim appears when the test set was
evaluated (`--eval_every`), and the time is the wall time since the run
began. Made from the records `train.callbacks.Scalars` writes to
metrics.jsonl, so the console and TensorBoard show the same numbers.
"""

import sys

__all__ = ['ProgressLines', 'duration', 'progress_line']


def duration(seconds):
  """`45s`, `1m12s` or `2h05m`."""
  seconds = int(round(seconds))
  if seconds < 60:
    return f'{seconds}s'
  if seconds < 3600:
    return f'{seconds // 60}m{seconds % 60:02d}s'
  return f'{seconds // 3600}h{seconds // 60 % 60:02d}m'


def progress_line(record, train_steps):
  """The line of a `Scalars` record (`step`, `wall_s`, `images_per_second`,
  `train_bpd`, `test_bpd`, `skipped_steps`; the missing ones left out)."""
  parts = [f'step {record["step"]}/{train_steps}']
  if record.get('images_per_second') is not None:
    parts.append(f'{record["images_per_second"]:.0f} img/s')
  if record.get('train_bpd') is not None:
    parts.append(f'train {record["train_bpd"]:.2f} bits/dim')
  if record.get('test_bpd') is not None:
    parts.append(f'test {record["test_bpd"]:.2f} bits/dim')
  if record.get('skipped_steps'):
    parts.append(f'{int(record["skipped_steps"])} steps skipped')
  parts.append(duration(record['wall_s']))
  return '  '.join(parts)


class ProgressLines:
  """Prints `progress_line` of each record but the run's final one."""

  def __init__(self, train_steps, stream=None):
    self.train_steps = train_steps
    self.stream = stream

  def __call__(self, record):
    if not record.get('final'):
      print(progress_line(record, self.train_steps),
            file=self.stream or sys.stdout, flush=True)

"""Helpers for the benchmarks: analytic FLOPs, timing, memory, tables.

Pure Python (no TensorFlow import), so a parent process that only launches
and collects measurement subprocesses stays light.
"""

import json
import os
import resource
import statistics
import sys
import time

__all__ = [
    'conv_layers',
    'conv_kernel_params',
    'forward_flops_per_image',
    'format_table',
    'last_json_line',
    'load_average',
    'log',
    'median_fields',
    'peak_rss_mb',
    'summarize',
    'time_calls',
]


def require_positive(parser, args, names):
  """`parser.error` (one usage line, exit 2) for the first of `names` whose
  value in `args` is not > 0; `image_shape` is checked entry by entry."""
  for name in names:
    value = getattr(args, name)
    values = value if isinstance(value, (tuple, list)) else (value,)
    if any(v is not None and v <= 0 for v in values):
      parser.error(f'--{name}: need a positive value, got {value}')


def conv_layers(image_shape, num_levels, num_steps, hidden_channels,
                coupling='affine'):
  """The convolutions of one Glow pass, as dicts with their shapes.

  Both flows in the benchmark have exactly these layers (openai/glow's
  architecture, [1] Section 3 and Figure 2): at level `l` the image is
  `(H / 2^(l+1), W / 2^(l+1), c_l)` after the squeeze, and each of the `K`
  steps applies

    mix:        1x1 invertible convolution,      c_l -> c_l
    conv_in:    3x3 convolution,        c_l // 2 -> hidden
    conv_hidden: 1x1 convolution,         hidden -> hidden
    conv_out:   3x3 zero-init convolution, hidden -> 2 (c_l - c_l // 2)
                (affine; c_l - c_l // 2 for additive)

  and every level but the last ends with the split prior (`tfb.Glow`'s exit
  network): a 3x3 convolution `c_l // 2 -> 2 (c_l - c_l // 2)`.

  Returns:
    A list of dicts `name, level, pixels, kh, kw, cin, cout, count`, where
    `count` is how many such layers run per pass (`K` for the steps).

  [1]: Kingma & Dhariwal. arXiv 1807.03039.
  """
  h, w, c = (int(d) for d in image_shape)
  k, width = int(num_steps), int(hidden_channels)
  layers = []
  for level in range(int(num_levels)):
    h, w, c = h // 2, w // 2, 4 * c
    kept, rest = c // 2, c - c // 2
    out = 2 * rest if coupling == 'affine' else rest
    pixels = h * w

    def add(name, kh, cin, cout, count):
      layers.append(dict(name=name, level=level, pixels=pixels, kh=kh, kw=kh,
                         cin=cin, cout=cout, count=count))

    add('mix', 1, c, c, k)
    add('conv_in', 3, kept, width, k)
    add('conv_hidden', 1, width, width, k)
    add('conv_out', 3, width, out, k)
    if level < int(num_levels) - 1:
      add('split_prior', 3, kept, 2 * rest, 1)
      c = kept
  return layers


def forward_flops_per_image(layers):
  """`2 * MACs` of the convolutions in one pass, per image."""
  return sum(2 * l['pixels'] * l['kh'] * l['kw'] * l['cin'] * l['cout'] *
             l['count'] for l in layers)


def conv_kernel_params(layers):
  """Weights of the spatial convolutions (not the 1x1 mixes), for checks."""
  return sum(l['kh'] * l['kw'] * l['cin'] * l['cout'] * l['count']
             for l in layers if l['name'] != 'mix')


def log(message):
  """A progress line on stderr, stamped with the time of day."""
  print(f'[{time.strftime("%H:%M:%S")}] {message}', file=sys.stderr,
        flush=True)


def time_calls(call, seconds, min_iters=2, max_iters=10_000):
  """Calls `call()` once (warm-up), then repeatedly for about `seconds`.

  `call` must block until its result exists (e.g. end in `.numpy()`).
  Runs at least `min_iters` timed calls unless the first timed call alone
  takes longer than `seconds` (then just that one).

  Returns:
    `(first_call_s, [timed call durations in s])`.
  """
  start = time.perf_counter()
  call()
  first = time.perf_counter() - start
  times = []
  begin = time.perf_counter()
  while len(times) < max_iters:
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - begin
    if elapsed >= seconds and (len(times) >= min_iters or times[0] >= seconds):
      break
  return first, times


def summarize(times, batch):
  """Throughput of timed calls on `batch` images each."""
  median = statistics.median(times)
  return dict(
      images_per_s=batch / median,
      images_per_s_mean=batch * len(times) / sum(times),
      s_per_iter_median=median,
      s_per_iter_min=min(times),
      iters=len(times),
  )


def median_fields(records):
  """`records[0]` (a dict) with each numeric field that differs between
  `records` replaced by its median over them; fields equal in all of them
  (a config's integers) keep their value and type."""
  merged = dict(records[0])
  for key, value in merged.items():
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      values = [r[key] for r in records if r.get(key) is not None]
      if len(set(values)) > 1:
        merged[key] = statistics.median(values)
  return merged


def peak_rss_mb():
  """Peak resident set size of this process so far, in MiB (Linux)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.


def load_average():
  """The 1-minute load average (other processes slow the timings down)."""
  try:
    return os.getloadavg()[0]
  except OSError:
    return None


def last_json_line(text):
  """The last line of `text` that parses as a JSON object, or `None`."""
  for line in reversed(text.strip().splitlines()):
    line = line.strip()
    if line.startswith('{'):
      try:
        return json.loads(line)
      except ValueError:
        continue
  return None


def format_table(header, rows):
  """A plain-text table: `header` and `rows` are lists of cell strings."""
  widths = [max(len(str(r[i])) for r in [header] + rows)
            for i in range(len(header))]
  line = lambda r: '  '.join(str(v).rjust(w) if i else str(v).ljust(w)
                             for i, (v, w) in enumerate(zip(r, widths)))
  rule = '  '.join('-' * w for w in widths)
  return '\n'.join([line(header), rule] + [line(r) for r in rows])

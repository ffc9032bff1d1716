"""`train.run` under MirroredStrategy (2 logical CPU devices) and
MultiWorkerMirroredStrategy (two worker processes on 127.0.0.1): every replica
and every worker ends with identical weights (Polyak-averaged, --ema_momentum:
the averages are kept and swapped in across replicas too).

Each run is a subprocess: the logical devices must be configured before
TensorFlow initializes, and each worker is its own process.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import tensorflow as tf
    mode, workdir, out = sys.argv[1:4]
    if mode == 'mirrored':
      cpu = tf.config.list_physical_devices('CPU')[0]
      tf.config.set_logical_device_configuration(
          cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    import train
    from train import flags
    from train import model as model_lib

    def values(dist):  # Each variable's value on every replica.
      return {str(i): np.stack([np.asarray(x) for x in
                                getattr(v, 'values', None) or [v.numpy()]])
              for i, v in enumerate(dist.variables)}

    # The weights as training starts (ActNorm initialized), on every replica.
    before = {}
    fit = model_lib.GlowTrainer.fit
    def recording_fit(self, *args, **kwargs):
      before.update(values(self.dist))
      return fit(self, *args, **kwargs)
    model_lib.GlowTrainer.fit = recording_fit
    config = flags.parse([
        f'--workdir={workdir}', '--dataset=embedded_mnist', '--image_size=8',
        '--levels=2', '--depth=1', '--width=8', '--batch_size=8',
        '--init_batch_size=32', '--train_steps=3', '--log_every=3',
        '--checkpoint_every=2', '--max_test_examples=16',
        '--eval_batch_size=8', '--verbose=0', '--noexport',
        '--shuffle_buffer=64', '--ema_momentum=0.5', f'--strategy={mode}'])
    strategy = tf.distribute.get_strategy()
    result = train.run(config)
    from train import main as train_main
    assert train_main.report(result, config) == 0  # The ending, if chief.
    dist = result['dist']
    trainable = [str(i) for i, v in enumerate(dist.variables) if v.trainable]
    np.savez(out, **values(dist), **{'before_' + k: v
                                     for k, v in before.items()},
             trainable=np.array(trainable))
    print(json.dumps(dict(step=result['step'], test_bpd=result['test_bpd'],
                          checkpoint=result['checkpoint'])))
""")


def _run(mode, workdir, out, env=None):
  return subprocess.Popen(
      [sys.executable, '-c', SCRIPT, mode, str(workdir), str(out)], cwd=ROOT,
      env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='2',
               **(env or {})),
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process):
  output, _ = process.communicate(timeout=300)
  assert process.returncode == 0, output[-4000:]
  # The result is the last JSON line; TensorFlow may log after it.
  result = json.loads(next(line for line in reversed(output.splitlines())
                           if line.startswith('{')))
  result['output'] = output
  return result


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def test_mirrored_two_devices_identical_replicas(tmp_path):
  out = tmp_path / 'weights.npz'
  result = _finish(_run('mirrored', tmp_path / 'work', out))
  assert result['step'] == 3 and np.isfinite(result['test_bpd'])
  weights = np.load(out)
  assert len(weights.files) > 20
  for name in weights.files:
    if name == 'trainable':
      continue
    values = weights[name]
    assert values.shape[0] == 2, 'expected a value per replica'
    np.testing.assert_array_equal(values[0], values[1])
  _assert_training_moved_the_weights(weights)


def _assert_training_moved_the_weights(weights):
  """Every trainable variable differs from its value as training began."""
  trainable = list(weights['trainable'])
  assert len(trainable) > 10
  unmoved = [name for name in trainable
             if np.array_equal(weights[name], weights['before_' + name])]
  assert not unmoved, f'variables training did not change: {unmoved}'


def test_multi_worker_two_processes_identical_weights(tmp_path):
  ports = _free_ports(2)
  cluster = {'worker': [f'127.0.0.1:{p}' for p in ports]}
  workers = []
  for index in range(2):
    tf_config = json.dumps({'cluster': cluster,
                            'task': {'type': 'worker', 'index': index}})
    workers.append(_run('multi_worker', tmp_path / 'work',
                        tmp_path / f'worker_{index}.npz',
                        env={'TF_CONFIG': tf_config}))
  try:
    results = [_finish(w) for w in workers]
  finally:
    for w in workers:
      if w.poll() is None:
        w.kill()
  assert [r['step'] for r in results] == [3, 3]
  # One ending, the chief's (test bits/dim, where things are, what next).
  assert ['test bits/dim' in r['output'] for r in results] == [True, False]
  assert ['Next:' in r['output'] for r in results] == [True, False]
  chief, other = (np.load(tmp_path / f'worker_{i}.npz') for i in range(2))
  assert chief.files == other.files and len(chief.files) > 10
  for name in chief.files:
    np.testing.assert_array_equal(chief[name], other[name])
  _assert_training_moved_the_weights(chief)
  # Only the chief wrote into the workdir; the other's scratch is gone.
  assert results[0]['checkpoint'].endswith('ckpt-3')
  assert sorted(os.listdir(tmp_path / 'work' / 'checkpoints'))[0] == (
      'checkpoint')
  assert not os.listdir(tmp_path / 'work' / 'tmp' / 'worker_1')

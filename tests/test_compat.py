"""The fences around private upstream names (`bijectors/_tfp_compat.py`,
`bijectors/_tf_compat.py`, `train/_keras_compat.py`).

For each private symbol: a test that fails, naming it, when it disappears or
stops meaning what the fence assumes; and a test that the public fallback
gives the same results. Last, no module outside the fences touches a private
upstream name.
"""

import ast
import importlib
import inspect
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from bijectors import _tf_compat
from bijectors import _tfp_compat
from bijectors import one_pass
from bijectors import stacked_rows
from tests import test_train
from train import _keras_compat
from train import optim

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ('bijectors', 'tfp_glow', 'train', 'bench')
FENCES = ('bijectors/_tfp_compat.py', 'bijectors/_tf_compat.py',
          'train/_keras_compat.py')


def _gone(symbol, fallback):
  return (f'{symbol} is gone or changed meaning in this stack '
          f'(tensorflow {tf.__version__}, keras {keras.__version__}); the '
          f'public fallback is in use: {fallback}. Update the fence.')


# --- TFP: the bijector cache keeps the log-det of a pass -----------------------


class _CountingDouble(one_pass.OnePassBijector):
  """`y = 2 x` elementwise, counting its passes."""

  def __init__(self):
    self.passes = 0
    super().__init__(forward_min_event_ndims=0, parameters={},
                     name='counting_double')

  def _forward_and_log_det(self, x):
    self.passes += 1
    return 2. * x, tf.fill(tf.shape(x), np.log(2.))

  def _inverse_and_log_det(self, y):
    self.passes += 1
    return y / 2., tf.fill(tf.shape(y), -np.log(2.))


def _passes_and_results():
  """Passes of forward + its log-det, inverse log-det + its inverse, traced
  (as in training: in eager mode TFP's cache drops a pair whose output is
  no longer referenced)."""
  b = _CountingDouble()

  @tf.function
  def run(x, y):
    return [b.forward(x), b.forward_log_det_jacobian(x, event_ndims=0),
            b.inverse_log_det_jacobian(y, event_ndims=0), b.inverse(y)]

  results = run(tf.constant([1., 3.]), tf.constant([4., 6.]))
  return b.passes, [np.asarray(r) for r in results]


def test_tfp_bijector_cache_keeps_the_log_det_of_a_pass():
  assert _tfp_compat.bijector_cache_works(), _gone(
      _tfp_compat.BIJECTOR_CACHE, 'each log-det call runs its own pass')
  passes, _ = _passes_and_results()
  # forward + its log-det, inverse log-det + its inverse: one pass each.
  assert passes == 2, _gone(_tfp_compat.BIJECTOR_CACHE,
                            f'{passes} passes instead of 2')


def test_tfp_bijector_cache_fallback_gives_the_same_results(monkeypatch,
                                                           tiny_glow64):
  x = np.random.default_rng(0).uniform(size=(3, 4, 4, 2))
  private_passes, private = _passes_and_results()
  private_log_prob = tiny_glow64.log_prob(x)
  monkeypatch.setattr(_tfp_compat, 'bijector_cache_works', lambda: False)
  passes, public = _passes_and_results()
  assert (private_passes, passes) == (2, 4)  # What the fallback costs.
  for a, b in zip(private, public):
    np.testing.assert_allclose(a, b)
  np.testing.assert_allclose(tiny_glow64.log_prob(x), private_log_prob,
                             rtol=1e-12)


# --- TensorFlow: "this graph is compiled by XLA" ------------------------------------


def _traced(fn, **kwargs):
  seen = []
  tf.function(lambda: seen.append(fn()) or tf.constant(0.),
              **kwargs).get_concrete_function()
  return seen[0]


def test_tf_xla_context_check_sees_jit_compile():
  assert _tf_compat.xla_context_check() is not None, _gone(
      _tf_compat.XLA_CONTEXT, 'stacked gradient rows always in a TensorArray')
  assert not _tf_compat.in_xla_context()  # Eager.
  assert (_traced(_tf_compat.in_xla_context),
          _traced(_tf_compat.in_xla_context, jit_compile=True)) == (
              False, True), _gone(_tf_compat.XLA_CONTEXT, 'wrong answers')


def _stacked_rows_result():
  stacked = tf.reshape(tf.range(12.), [3, 4])

  @tf.function
  def run():
    rows = stacked_rows.zeros_like(stacked)
    kind = type(rows).__name__
    _, rows = tf.while_loop(
        lambda k, _: k < 3,
        lambda k, rows: (k + 1, stacked_rows.write([rows], k,
                                                   [stacked[k] * 2.])[0]),
        (tf.constant(0), rows))
    return stacked_rows.stack(rows), kind

  values, kind = run()
  return values.numpy(), kind.decode() if isinstance(kind, bytes) else kind


def test_tf_xla_context_fallback_gives_the_same_rows(monkeypatch):
  values, kind = _stacked_rows_result()
  monkeypatch.setattr(_tf_compat, 'xla_context_check', lambda: None)
  fallback_values, fallback_kind = _stacked_rows_result()
  assert kind != 'TensorArray' and fallback_kind == 'TensorArray'
  np.testing.assert_array_equal(values, fallback_values)
  np.testing.assert_array_equal(values, 2. * np.arange(12.).reshape(3, 4))


# --- TensorFlow: strategies that update without merge_call ---------------------------


def test_tf_no_merge_call_check_answers_for_the_default_strategy():
  check = _tf_compat.no_merge_call_check()
  assert check is not None, _gone(_tf_compat.NO_MERGE_CALL,
                                  'the merge_call path on every strategy')
  assert check() is True, _gone(_tf_compat.NO_MERGE_CALL,
                                'the default strategy needs a merge_call')


def _one_trainer_step():
  trainer, images = test_train._tiny_trainer()  # pylint: disable=protected-access
  trainer.fit(tf.data.Dataset.from_tensors(images[:4]), epochs=1, shuffle=False,
              verbose=0)
  return test_train._values(trainer)  # pylint: disable=protected-access


def test_tf_no_merge_call_fallback_trains_the_same(monkeypatch):
  tf.keras.utils.set_random_seed(0)
  private = _one_trainer_step()
  monkeypatch.setattr(_tf_compat, 'no_merge_call_check', lambda: None)
  tf.keras.utils.set_random_seed(0)
  for a, b in zip(private, _one_trainer_step()):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --- Keras: the moments of Adam and Adamax ---------------------------------------


@pytest.mark.parametrize('name', ['adam', 'adamax'])
def test_keras_slots_are_the_moments(name):
  optimizer_class, slots = dict(
      adam=(keras.optimizers.Adam, _keras_compat.ADAM_SLOTS),
      adamax=(keras.optimizers.Adamax, _keras_compat.ADAMAX_SLOTS))[name]
  symbol = f'keras.optimizers.{optimizer_class.__name__}.{"/".join(slots)}'
  variables = [tf.Variable(tf.zeros([2])), tf.Variable(tf.zeros([3]))]
  optimizer = optimizer_class(0.1)
  optimizer.build(variables)
  grads = [tf.constant([1., -2.]), tf.constant([3., 0.5, -1.])]
  optimizer.apply(grads, variables)
  for variable, g in zip(variables, grads):
    moments = _keras_compat.slots(optimizer, variable, slots)
    assert moments is not None, _gone(symbol, "Keras' own update_step")
    second = (1 - optimizer.beta_2) * g**2 if name == 'adam' else abs(g)
    np.testing.assert_allclose(moments[0], (1 - optimizer.beta_1) * g,
                               rtol=1e-6, err_msg=_gone(symbol, 'wrong slot'))
    np.testing.assert_allclose(moments[1], second, rtol=1e-6,
                               err_msg=_gone(symbol, 'wrong slot'))


@pytest.mark.parametrize('name', ['adam', 'adamax'])
def test_keras_slots_fallback_updates_the_same(monkeypatch, name):
  def steps():
    variables = [tf.Variable(tf.ones([3, 4])), tf.Variable(tf.ones([4]))]
    optimizer = optim.make_optimizer(name, 1e-2, 2)
    optimizer.build(variables)
    step = tf.function(lambda grads: optimizer.apply(grads, variables))
    rng = np.random.default_rng(0)
    for _ in range(3):
      step([tf.constant(rng.standard_normal(v.shape), tf.float32)
            for v in variables])
    graph = step.get_concrete_function(
        [tf.TensorSpec(v.shape) for v in variables]).graph
    kernels = {op.type for op in graph.get_operations()
               if op.type.startswith('ResourceApply')}
    return [v.numpy() for v in variables], kernels

  fused, kernels = steps()
  monkeypatch.setattr(_keras_compat, 'slots', lambda *args: None)
  fallback, fallback_kernels = steps()
  assert kernels and not fallback_kernels
  for a, b in zip(fused, fallback):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --- Keras: gradients summed over replicas through one hook ----------------------

ALL_REDUCE_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from train import _keras_compat

    class PreReducedSGD(_keras_compat.PreReducedGradients,
                        keras.optimizers.SGD):
      pass

    def step(optimizer_class):
      strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
      with strategy.scope():
        variable = tf.Variable([0., 0.])
        optimizer = optimizer_class(1.)
        optimizer.build([variable])
      # Each replica holds the gradient already summed over replicas.
      strategy.run(tf.function(lambda: optimizer.apply(
          [tf.constant([1., 2.])], [variable])))
      return [float(v) for v in -variable.values[0].numpy()]

    class RenamedHookSGD(PreReducedSGD):
      # As if Keras summed through a hook of another name.
      _all_reduce_sum_gradients = keras.optimizers.SGD._all_reduce_sum_gradients

    results = dict(keras=step(keras.optimizers.SGD),
                   hook=step(PreReducedSGD))
    _keras_compat.all_reduce_hook_works = lambda: False
    results['fallback'] = step(RenamedHookSGD)
    print(json.dumps(results))
""")


def test_keras_all_reduce_hook_and_its_fallback_sum_once():
  assert _keras_compat.all_reduce_hook_works(), _gone(
      _keras_compat.ALL_REDUCE_HOOK, 'gradients divided by the replicas')
  done = subprocess.run(
      [sys.executable, '-c', ALL_REDUCE_SCRIPT], cwd=ROOT,
      env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL='2'),
      capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-3000:]
  results = eval(done.stdout.strip().splitlines()[-1])  # pylint: disable=eval-used
  # Keras sums over the 2 replicas (why the hook is needed) ...
  assert results['keras'] == [2., 4.], _gone(
      _keras_compat.ALL_REDUCE_HOOK, 'Keras no longer sums in apply')
  # ... and the hook, or the fallback without it, keeps the given sum.
  assert results['hook'] == [1., 2.], _gone(_keras_compat.ALL_REDUCE_HOOK,
                                            'gradients summed twice')
  assert results['fallback'] == [1., 2.]


# --- Keras 3, also where TF_USE_LEGACY_KERAS makes tf.keras tf-keras ---------------


def test_trainer_runs_on_keras_3_and_says_so_under_legacy_keras(tmp_path):
  done = subprocess.run(
      [sys.executable, '-m', 'train.main', f'--workdir={tmp_path}',
       '--dataset=embedded_mnist', '--image_size=8', '--levels=2',
       '--depth=1', '--width=8', '--batch_size=8', '--init_batch_size=32',
       '--train_steps=2', '--log_every=2', '--checkpoint_every=2',
       '--max_test_examples=16', '--eval_batch_size=8', '--noexport',
       '--shuffle_buffer=64', '--verbose=0'], cwd=ROOT,
      env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL='2',
               TF_USE_LEGACY_KERAS='1'),
      capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-3000:]
  assert (f'this trainer uses Keras {keras.__version__}' in done.stderr), (
      done.stderr[-3000:])


# --- No private upstream name outside the fences ---------------------------------

# Upstream import paths and names that are private by construction.
PRIVATE_PATTERN = re.compile(
    r'tensorflow\.python|tensorflow_probability\.python|\bkeras\.src\b|'
    r'tf_keras\.src|__internal__|\b_Chain\b')

# Underscore methods the upstream base classes document for subclasses to
# override (`tfb.Bijector`, `tfb.Composition`, `tfd.Distribution`).
DOCUMENTED_HOOKS = frozenset({
    '_forward', '_inverse', '_forward_log_det_jacobian',
    '_inverse_log_det_jacobian', '_forward_event_shape',
    '_forward_event_shape_tensor', '_inverse_event_shape',
    '_inverse_event_shape_tensor', '_is_increasing',
    '_parameter_properties', '_parameter_control_dependencies',
    '_walk_forward', '_walk_inverse', '_log_prob', '_prob', '_sample_n',
    '_event_shape', '_event_shape_tensor', '_batch_shape',
    '_batch_shape_tensor', '_default_event_space_bijector'})


def _sources():
  for package in PACKAGES:
    for path in sorted((ROOT / package).rglob('*.py')):
      relative = path.relative_to(ROOT).as_posix()
      if relative not in FENCES:
        yield relative, path.read_text()


def _own_names():
  """Every `_name` the project defines: functions, classes, attributes."""
  names = set()
  for _, text in _sources():
    for node in ast.walk(ast.parse(text)):
      if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        names.add(node.name)
      elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
        names.add(node.attr)
      elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        names.add(node.id)
      elif isinstance(node, ast.alias):
        names.add((node.asname or node.name).split('.')[-1])
      elif isinstance(node, ast.arg):
        names.add(node.arg)
  return names


def test_no_private_upstream_name_outside_the_fences():
  own = _own_names()
  found = []
  for path, text in _sources():
    for number, line in enumerate(text.splitlines(), 1):
      if PRIVATE_PATTERN.search(line):
        found.append(f'{path}:{number}: {line.strip()}')
    for node in ast.walk(ast.parse(text)):
      if (isinstance(node, ast.Attribute) and node.attr.startswith('_') and
          not node.attr.startswith('__') and node.attr not in own and
          node.attr not in DOCUMENTED_HOOKS):
        found.append(f'{path}:{node.lineno}: .{node.attr} (not ours)')
  assert not found, ('private upstream names outside ' + ', '.join(FENCES) +
                     ':\n' + '\n'.join(found))


def _modules():
  for package in ('bijectors', 'tfp_glow', 'train'):
    for path in sorted((ROOT / package).rglob('*.py')):
      relative = path.relative_to(ROOT).as_posix()
      if relative not in FENCES and path.name != '__main__.py':
        yield importlib.import_module(
            relative[:-len('.py')].replace('/', '.').replace('.__init__', ''))


def test_no_override_of_a_private_upstream_method_outside_the_fences():
  # Methods written in our modules (not those a metaclass adds).
  found = []
  for module in _modules():
    for _, cls in inspect.getmembers(module, inspect.isclass):
      if cls.__module__ != module.__name__:
        continue
      upstream = [base for base in cls.__mro__[1:]
                  if not base.__module__.startswith(PACKAGES + ('tests',))]
      for name, value in vars(cls).items():
        value = getattr(value, '__func__', getattr(value, 'fget', value))
        if (name.startswith('_') and not name.startswith('__') and
            getattr(value, '__module__', None) == module.__name__ and
            name not in DOCUMENTED_HOOKS and
            any(hasattr(base, name) for base in upstream)):
          upstream_owner = next(b for b in upstream if hasattr(b, name))
          found.append(f'{module.__name__}.{cls.__name__}.{name} overrides '
                       f'{upstream_owner.__module__}.'
                       f'{upstream_owner.__qualname__}.{name}')
  assert not found, '\n'.join(found)

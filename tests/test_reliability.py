"""Fault injection: killed, concurrent, mismatched, diverging and bad-input runs.

Each way a run can be interrupted or refused is a subprocess of the real
program on a tiny model, and the test asserts what is on disk afterwards.
The command-line tools' error paths run in-process (`console_main`), which
prints exactly what the process would.
"""

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
import tensorflow as tf

from tfp_glow import console
from train import bad_images
from train import data as data_lib
from train import flags as flags_lib
from train import offline_check
from train import workdir_lock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = ['--dataset=embedded_mnist', '--image_size=16', '--levels=2',
        '--depth=2', '--width=16', '--batch_size=16', '--init_batch_size=32',
        '--eval_batch_size=16', '--max_test_examples=64', '--sample_every=0',
        '--log_every=5', '--verbose=0']
STEPS = 20
# The unbroken run and the run that is killed and resumed share these.
RUN = [*BASE, f'--train_steps={STEPS}', '--checkpoint_every=2',
       '--export=false']
ENV = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='3')


def _train_main(workdir, *argv, timeout=240):
  return subprocess.run(
      [sys.executable, '-m', 'train.main', f'--workdir={workdir}', *argv],
      cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def _snapshot(directory):
  """{relative path: sha256} of every file under `directory`."""
  found = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        found[os.path.relpath(path, directory)] = hashlib.sha256(
            f.read()).hexdigest()
  return found


def _one_error_line(stderr):
  """The `error:` line of `stderr`, asserting it is alone and untraced."""
  assert 'Traceback' not in stderr, stderr[-3000:]
  errors = [l for l in stderr.splitlines() if 'error:' in l]
  assert len(errors) == 1, stderr[-3000:]
  return errors[0]


def _latest_step(workdir):
  latest = tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints'))
  return int(latest.rsplit('-', 1)[1]) if latest else 0


def _results(workdir):
  with open(os.path.join(workdir, 'results.json')) as f:
    return json.load(f)


@pytest.fixture(scope='module')
def unbroken(tmp_path_factory):
  """The workdir of an uninterrupted run of `RUN`."""
  workdir = str(tmp_path_factory.mktemp('unbroken'))
  out = _train_main(workdir, *RUN)
  assert out.returncode == 0, out.stderr[-3000:]
  return workdir


# --- Killed runs ---------------------------------------------------------------


_KILL_AT_PUBLISH = """
import os, runpy, signal, sys
from tensorflow.python.checkpoint import checkpoint_management
# Dies after a checkpoint's files are written, before the index names it.
checkpoint_management.update_checkpoint_state_internal = (
    lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL))
sys.argv = ['train.main'] + sys.argv[1:]
runpy.run_module('train.main', run_name='__main__')
"""


def test_kill_9_at_a_random_step_and_mid_checkpoint_then_resume(
    unbroken, tmp_path):
  workdir = str(tmp_path / 'killed')
  # 1. kill -9 once a checkpoint at or after a random step is published.
  at = random.Random().randrange(2, STEPS - 4, 2)
  process = subprocess.Popen(
      [sys.executable, '-m', 'train.main', f'--workdir={workdir}', *RUN],
      cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  try:
    deadline = time.time() + 180
    while (_latest_step(workdir) < at and process.poll() is None and
           time.time() < deadline):
      time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
  finally:
    if process.poll() is None:
      process.kill()
  killed_at = _latest_step(workdir)
  assert at <= killed_at < STEPS, (at, killed_at)
  assert os.path.exists(os.path.join(workdir, workdir_lock.LOCK_FILE))
  assert not os.path.exists(os.path.join(workdir, 'results.json'))

  # 2. Resume, and kill -9 during the next checkpoint write (its files are
  # written, the index is not): the index still names the older checkpoint.
  out = subprocess.run(
      [sys.executable, '-c', _KILL_AT_PUBLISH, f'--workdir={workdir}', *RUN],
      cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=240)
  assert out.returncode == -signal.SIGKILL, out.stderr[-3000:]
  assert 'Taking over the stale lock' in out.stdout
  assert f'Resumed from {workdir}/checkpoints/ckpt-{killed_at}' in out.stdout
  assert _latest_step(workdir) == killed_at
  unpublished = os.path.join(workdir, 'checkpoints',
                             f'ckpt-{killed_at + 2}.index')
  assert os.path.exists(unpublished)
  # What a kill inside TensorFlow's own writes and an export would leave.
  os.makedirs(os.path.join(workdir, 'checkpoints', f'ckpt-{STEPS}_temp'))
  os.makedirs(os.path.join(workdir, 'export', '.tmp-20-abc'))

  # 3. The same command again finishes at the unbroken run's step count.
  out = _train_main(workdir, *RUN)
  assert out.returncode == 0, out.stderr[-3000:]
  assert 'Taking over the stale lock' in out.stdout
  assert out.stdout.count('Removed ') == 2
  assert _results(workdir)['step'] == _results(unbroken)['step'] == STEPS
  assert _results(workdir)['resumed_from'].endswith(f'ckpt-{killed_at}')
  assert sorted(os.listdir(os.path.join(workdir, 'export'))) == []
  assert not [n for n in os.listdir(os.path.join(workdir, 'checkpoints'))
              if '_temp' in n]
  assert not os.path.exists(os.path.join(workdir, workdir_lock.LOCK_FILE))


# --- Two runs, one workdir ---------------------------------------------------------


def test_a_second_run_on_a_held_workdir_stops_at_once(tmp_path):
  workdir = str(tmp_path / 'held')
  with workdir_lock.WorkdirLock(workdir):
    before = _snapshot(workdir)
    out = _train_main(workdir, *BASE, '--train_steps=2')
    assert _snapshot(workdir) == before
  assert out.returncode == 1
  line = _one_error_line(out.stderr)
  assert f'in use by another run (pid {os.getpid()} on' in line
  assert not os.path.exists(workdir)  # The holder made it; left it empty.


def test_the_lock_refuses_a_second_holder_and_takes_over_a_stale_one(
    tmp_path):
  workdir = str(tmp_path)
  with workdir_lock.WorkdirLock(workdir):
    with pytest.raises(workdir_lock.WorkdirLocked, match=f'pid {os.getpid()}'):
      workdir_lock.WorkdirLock(workdir).acquire()
  # A killed holder leaves its file, but no lock on it.
  with open(os.path.join(workdir, workdir_lock.LOCK_FILE), 'w') as f:
    json.dump(dict(pid=999999, host='gone', started='then', command='x'), f)
  with workdir_lock.WorkdirLock(workdir) as lock:
    assert lock.took_over['pid'] == 999999
  assert os.listdir(workdir) == []


def test_a_workdir_that_cannot_be_a_directory_is_one_clear_error(tmp_path):
  a_file = tmp_path / 'config.txt'
  a_file.write_text('mine')
  with pytest.raises(ValueError, match=f'--workdir={a_file} is a file'):
    workdir_lock.WorkdirLock(str(a_file)).acquire()
  under_a_file = a_file / 'run'
  with pytest.raises(ValueError, match=f'--workdir={under_a_file} cannot be '
                     'created: Not a directory'):
    workdir_lock.WorkdirLock(str(under_a_file)).acquire()
  assert a_file.read_text() == 'mine'
  assert os.listdir(tmp_path) == ['config.txt']


# --- A mismatched resume ---------------------------------------------------------


def test_a_mismatched_resume_leaves_the_workdir_byte_identical(
    unbroken, tmp_path):
  import shutil  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path / 'resumed')
  shutil.copytree(unbroken, workdir)
  before = _snapshot(workdir)
  out = _train_main(workdir, *RUN, '--train_steps=40', '--width=32',
                    '--image_size=8', '--optimizer=adam')
  assert out.returncode == 1
  line = _one_error_line(out.stderr)
  for flag, old, new in (('width', 16, 32), ('image_size', 16, 8),
                         ('optimizer', 'adamax', 'adam')):
    assert f'--{flag}={old}' in line and f'--{flag}={new}' in line, line
  assert _snapshot(workdir) == before  # config.json too: it still exports.


# --- A diverging run ----------------------------------------------------------------


def test_a_diverging_run_exits_nonzero_and_exports_nothing(tmp_path):
  workdir = str(tmp_path / 'diverged')
  out = _train_main(workdir, *BASE, '--train_steps=10', '--learning_rate=1e3',
                    '--warmup_steps=0')
  assert out.returncode == 1, out.stderr[-3000:]
  line = _one_error_line(out.stderr)
  assert 'diverged' in line and 'steps were skipped' in line, line
  assert not os.path.exists(os.path.join(workdir, 'export'))
  result = _results(workdir)
  assert result['diverged'] and result['export'] is None
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    records = [json.loads(l) for l in f if '"train_bpd"' in l]
  # The second period skipped every step: no bits/dim, not 0.0.
  assert records[-1]['train_bpd'] is None and records[-1]['grad_norm'] is None
  assert records[-1]['skipped_steps'] >= 5


# --- Bad images ------------------------------------------------------------------


@pytest.fixture(scope='module')
def image_folder(tmp_path_factory):
  """24 good PNGs, a truncated PNG in the train split, text in the test."""
  folder = tmp_path_factory.mktemp('images')
  rng = np.random.default_rng(0)
  for i in range(24):
    image = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    tf.io.write_file(str(folder / f'img{i:02d}.png'), tf.io.encode_png(image))
  data = (folder / 'img00.png').read_bytes()
  split = {}
  for name in (f'bad{i}.png' for i in range(100)):
    kind = 'test' if _in_test_split(folder, name) else 'train'
    split.setdefault(kind, name)
  (folder / split['train']).write_bytes(data[:len(data) // 2])
  (folder / split['test']).write_text('not an image\n')
  return str(folder), [str(folder / split['train']),
                       str(folder / split['test'])]


def _in_test_split(folder, name):
  """`train.data.image_folder_dataset`'s name-based split (10% test)."""
  del folder
  return zlib.crc32(name.encode()) % 10000 < 0.1 * 10000


IMAGES = ['--dataset=image_folder', '--channels=3', '--image_size=16',
          '--levels=2', '--depth=2', '--width=8', '--batch_size=4',
          '--init_batch_size=8', '--eval_batch_size=4', '--sample_every=0',
          '--log_every=2', '--verbose=0', '--shuffle_buffer=32',
          '--train_steps=2']


def test_unreadable_images_stop_the_run_before_training(image_folder,
                                                        tmp_path):
  import train  # pylint: disable=g-import-not-at-top
  folder, bad = image_folder
  workdir = str(tmp_path / 'stopped')
  config = flags_lib.parse([f'--workdir={workdir}', *IMAGES,
                            f'--data_dir={folder}'])
  with pytest.raises(data_lib.DatasetError) as error:
    train.run(config, strategy=tf.distribute.get_strategy())
  line = str(error.value)
  assert '2 unreadable image file(s)' in line and '--bad_images=skip' in line
  assert '\n' not in line
  for path in bad:
    assert path in line
  assert not os.path.exists(workdir)  # Nothing was written.


def test_unreadable_images_are_skipped_named_and_counted(image_folder,
                                                         tmp_path):
  folder, bad = image_folder
  workdir = str(tmp_path / 'skipped')
  out = _train_main(workdir, *IMAGES, f'--data_dir={folder}',
                    '--bad_images=skip', '--export=false')
  assert out.returncode == 0, out.stderr[-3000:]
  for path in bad:
    assert f'Skipping unreadable image {path}' in out.stdout
  result = _results(workdir)
  assert sorted(result['bad_images']) == sorted(bad)
  assert result['step'] == 2 and np.isfinite(result['test_bpd'])


def test_bad_images_finds_exactly_the_unreadable_files(image_folder):
  folder, bad = image_folder
  files = data_lib.image_files(folder)
  found = bad_images.find(files, channels=3)
  assert sorted(path for path, _ in found) == sorted(bad)
  assert all(reason for _, reason in found)


# --- Command-line tools: one line, non-zero, no traceback ----------------------


def _console(main, argv, capsys):
  """`(status, stderr)` of a console entry point, usage errors included."""
  try:
    status = main(argv)
  except SystemExit as e:
    status = e.code
  err = capsys.readouterr().err
  return status, err


@pytest.mark.parametrize('command', ['heatmap', 'bpd'])
def test_illusions_name_an_unreadable_image(image_folder, tmp_path, capsys,
                                            command):
  from tfp_glow.illusions import cli  # pylint: disable=g-import-not-at-top
  _, bad = image_folder
  for path in bad:
    status, err = _console(cli.console_main, [
        command, f'--image={path}', f'--out={tmp_path}'], capsys)
    assert status == 1
    assert f'{path}: not a readable image' in _one_error_line(err)


def test_command_line_errors_are_one_line(tmp_path, capsys):
  from tfp_glow.illusions import cli as illusions  # pylint: disable=g-import-not-at-top
  from tfp_glow.latent import cli as latent  # pylint: disable=g-import-not-at-top
  from train import export as export_lib  # pylint: disable=g-import-not-at-top
  junk = tmp_path / 'junk'
  junk.mkdir()
  (junk / 'saved_model.pb').write_text('junk')
  out = f'--out={tmp_path / "s.png"}'
  cases = [
      (illusions.console_main, ['brightness', f'--out={junk}/saved_model.pb/x'],
       1, 'saved_model.pb/x: Not a directory'),
      (illusions.console_main, ['brightness', f'--out={junk}/saved_model.pb'],
       1, 'saved_model.pb is a file, where a folder was to be made'),
      (latent.console_main, ['sample', f'--model={junk}', out], 1,
       'saved_model.pb'),
      (latent.console_main, ['sample', '--model=m', out, '--n=-3'], 2,
       "--n: expected a positive integer, got '-3'"),
      (latent.console_main, ['sample', '--model=m', out, '--n=0'], 2,
       "--n: expected a positive integer, got '0'"),
      (illusions.console_main, ['heatmap', '--image=x', '--out=o',
                                '--stride=x'], 2, '--stride'),
      (export_lib.main, [f'--workdir={tmp_path}'], 2, 'config.json'),
  ]
  for main, argv, status, expected in cases:
    got, err = _console(main, argv, capsys)
    assert got == status, (argv, err)
    assert expected in _one_error_line(err), (argv, err)


def test_an_output_folder_is_checked_without_creating_anything(tmp_path):
  a_file = tmp_path / 'taken'
  a_file.write_text('mine')
  with pytest.raises(FileExistsError):
    console.check_output_folder(str(a_file))
  with pytest.raises(NotADirectoryError):
    console.check_output_folder(str(a_file / 'a' / 'b'))
  console.check_output_folder(str(tmp_path / 'new' / 'deeper'))
  console.check_output_folder(str(tmp_path))
  assert sorted(os.listdir(tmp_path)) == ['taken']
  assert a_file.read_text() == 'mine'


def test_debug_shows_the_traceback(tmp_path):
  with pytest.raises(FileNotFoundError):
    console.run(lambda: open(str(tmp_path / 'missing')), debug=True)
  assert console.run(lambda: open(str(tmp_path / 'missing'))) == 1


# --- Without a network -----------------------------------------------------------


def test_a_tfds_download_without_a_network_fails_at_once(tmp_path,
                                                         monkeypatch):
  def unresolvable(*args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')

  for name in ('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY',
               'all_proxy', 'ALL_PROXY'):
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setattr(socket, 'getaddrinfo', unresolvable)
  config = flags_lib.parse([f'--workdir={tmp_path}', '--dataset=mnist',
                            f'--data_dir={tmp_path / "tfds"}'])
  start = time.time()
  with pytest.raises(data_lib.DatasetError, match='no network'):
    data_lib.load(config)
  assert time.time() - start < 30
  monkeypatch.setenv('HTTPS_PROXY', 'http://proxy:3128')
  assert offline_check.offline_reason() is None

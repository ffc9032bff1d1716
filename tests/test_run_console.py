"""What a person sees of a run: a clean console, progress in steps, an ending
that says where everything is and what to run next, and the figures.

The program runs as a subprocess in the environment a user has: no
TF_CPP_MIN_LOG_LEVEL or CUDA_VISIBLE_DEVICES of ours.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from train import progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ['--dataset=embedded_mnist', '--image_size=16', '--levels=2',
        '--depth=2', '--width=16', '--batch_size=16', '--init_batch_size=32',
        '--eval_batch_size=16', '--max_test_examples=64', '--train_steps=20',
        '--log_every=10', '--eval_every=10', '--strategy=default']
# What TensorFlow and Keras print unless told not to.
NOISE = ('cuInit', 'oneDNN', 'absl::InitializeLog', 'cpu_feature_guard',
         'cuda drivers', 'Epoch ', 'step - ', 'E0000', 'I0000', 'W0000')


def _user_env():
  env = dict(os.environ, PYTHONPATH=ROOT)
  for name in ('TF_CPP_MIN_LOG_LEVEL', 'CUDA_VISIBLE_DEVICES'):
    env.pop(name, None)  # conftest sets the first for the test process.
  return env


def _train_main(*argv, timeout=300):
  return subprocess.run([sys.executable, '-m', 'train.main', *argv], cwd=ROOT,
                        env=_user_env(), capture_output=True, text=True,
                        timeout=timeout)


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
  """`(workdir, completed process)` of a tiny run with every default."""
  workdir = str(tmp_path_factory.mktemp('run'))
  out = _train_main(f'--workdir={workdir}', *TINY)
  assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
  return workdir, out


def test_the_console_is_clean_from_the_first_line_to_the_last(tiny_run):
  _, out = tiny_run
  lines = (out.stderr + out.stdout).splitlines()
  assert not out.stderr, out.stderr[-3000:]
  assert not [l for l in lines if any(n in l for n in NOISE)], lines
  assert lines[0].startswith('Training on ')  # CPU (no GPU found), or GPUs.
  # The gradient memory mode --memory=auto chose, and why.
  assert re.fullmatch(r'Memory: store \(--memory=auto: the activations of a '
                      r'batch of \d+, about [\d.]+ [KMG]iB, fit the 1\.0 GiB '
                      r'budget; --memory_budget sets it\)\.', lines[1]), lines[1]
  # Progress in steps of --train_steps, with images/s and bits/dim.
  line = r'step {}/20  \d+ img/s  train \d+\.\d\d bits/dim  test \d+\.\d\d bits/dim  \d+s'
  assert re.fullmatch(line.format(10), lines[2]), lines[2]
  assert re.fullmatch(line.format(20), lines[3]), lines[3]
  assert re.fullmatch(r'Step 20: test bits/dim \d+\.\d+', lines[4]), lines[4]


def test_the_run_ends_with_where_things_are_and_what_to_run_next(tiny_run):
  workdir, out = tiny_run
  lines = out.stdout.splitlines()
  start = lines.index('Next:')
  where = dict(l.split(':', 1) for l in lines[start - 4:start])
  assert {k: v.strip() for k, v in where.items()} == {
      'Samples': f'{workdir}/samples/ (step_20.png, interpolation.png, '
                 'reconstruction.png)',
      'TensorBoard': f'{workdir}/tensorboard/',
      'Checkpoint': f'{workdir}/checkpoints/ckpt-20',
      'SavedModel': f'{workdir}/export/20'}
  assert os.path.exists(f'{workdir}/checkpoints/ckpt-20.index')
  assert os.path.exists(f'{workdir}/export/20/saved_model.pb')
  commands = '\n'.join(lines[start + 1:])
  assert f'tensorboard --logdir={workdir}/tensorboard' in commands
  assert f'python -m tfp_glow.latent sample --model={workdir}' in commands
  assert f'-v {workdir}/export:/models/glow' in commands  # Serving.
  assert '--train_steps=40' in commands
  assert re.fullmatch(r'Reconstruction: max \|decode\(encode\(x\)\) - x\| = '
                      r'\S+ on held-out test images', lines[start - 5])
  error = float(lines[start - 5].split('= ')[1].split()[0])
  assert error < 1e-3


def test_the_end_figures_show_held_out_images(tiny_run):
  workdir, _ = tiny_run
  tile = 96  # 16x16 digits, enlarged 6 times.
  samples = Image.open(f'{workdir}/samples/step_20.png')
  assert samples.height == 5 * tile + 4 * 2  # A row per temperature.
  interpolation = Image.open(f'{workdir}/samples/interpolation.png')
  assert interpolation.width >= 8 * tile + 7 * 2  # 8 images per path,
  assert interpolation.height > 4 * tile + 3 * 2  # 4 paths and a title.
  reconstruction = np.asarray(
      Image.open(f'{workdir}/samples/reconstruction.png'))
  assert reconstruction.shape[0] > 2 * tile + 2  # x, decode(encode(x)).
  assert reconstruction.shape[1] > 8 * tile + 7 * 2
  # The two rows of tiles are the same pictures.
  right = reconstruction[-(2 * tile + 2):, -(8 * tile + 7 * 2):]
  np.testing.assert_array_equal(right[:tile], right[-tile:])
  assert right[:tile].std() > 0


def test_tensorflow_logs_come_back_with_tf_logs(tmp_path):
  bad = [f'--workdir={tmp_path}', '--image_size=30', '--levels=2']
  quiet = _train_main(*bad, timeout=120)
  assert quiet.returncode == 1
  assert quiet.stderr.splitlines() == [
      'error: Invalid flags: --image_size=30 is not divisible by 2**levels = '
      '4 (--levels=2); each level halves the height and width.']
  loud = _train_main('--tf_logs', *bad, timeout=120)
  assert loud.returncode == 1
  assert len(loud.stderr.splitlines()) > 1, loud.stderr  # TensorFlow's own.


def test_progress_line_in_steps_images_per_second_and_bits_per_dim():
  record = dict(step=250, wall_s=72.4, train_bpd=2.314, test_bpd=2.1,
                images_per_second=47.2, skipped_steps=0.0)
  assert progress.progress_line(record, 1000) == (
      'step 250/1000  47 img/s  train 2.31 bits/dim  test 2.10 bits/dim  '
      '1m12s')
  record.update(test_bpd=None, train_bpd=None, skipped_steps=3.0, wall_s=7)
  assert progress.progress_line(record, 1000) == (
      'step 250/1000  47 img/s  3 steps skipped  7s')
  assert progress.duration(7505) == '2h05m'


def test_the_ending_names_an_export_of_an_earlier_run_or_says_there_is_none(
    tmp_path):
  from train import flags as flags_lib  # pylint: disable=g-import-not-at-top
  from train import run_summary  # pylint: disable=g-import-not-at-top
  result = dict(step=20, export=None, checkpoint=f'{tmp_path}/checkpoints/'
                'ckpt-20', samples=f'{tmp_path}/samples/step_20.png')
  config = flags_lib.Config(workdir=str(tmp_path))
  # A finished run started again: its export is there from the first time.
  os.makedirs(tmp_path / 'export' / '20')
  (tmp_path / 'export' / '20' / 'saved_model.pb').write_bytes(b'')
  ending = run_summary.ending(result, config)
  assert f'SavedModel:   {tmp_path}/export/20\n' in ending
  assert 'tensorflow/serving' in ending
  ending = run_summary.ending(result, config.replace(export=False))
  assert 'SavedModel:   none (--noexport)\n' in ending
  assert f'python -m train.export --workdir={tmp_path}' in ending
  assert 'tensorflow/serving' not in ending


def test_every_command_starts_without_tensorflow_noise(tmp_path):
  """`python -m tfp_glow.illusions` (any of our -m programs imports
  tfp_glow first) hides TensorFlow's start-up lines; --tf_logs shows them."""
  image = tmp_path / 'grey.png'
  Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(image)
  command = [sys.executable, '-m', 'tfp_glow.illusions', 'bpd',
             f'--image={image}', '--resize=0']
  quiet = subprocess.run(command + [f'--out={tmp_path}/quiet'], cwd=ROOT,
                         env=_user_env(), capture_output=True, text=True,
                         timeout=300)
  assert quiet.returncode == 0, quiet.stderr[-3000:]
  assert not quiet.stderr, quiet.stderr[-3000:]
  loud = subprocess.run(command + [f'--out={tmp_path}/loud', '--tf_logs'],
                        cwd=ROOT, env=_user_env(), capture_output=True,
                        text=True, timeout=300)
  assert loud.returncode == 0, loud.stderr[-3000:]
  assert any(n in loud.stderr for n in NOISE), loud.stderr[-3000:]
  # train.export too: a refused export is its one error line, nothing else.
  export = subprocess.run(
      [sys.executable, '-m', 'train.export', f'--workdir={tmp_path}/none'],
      cwd=ROOT, env=_user_env(), capture_output=True, text=True, timeout=300)
  assert export.returncode == 2, export.stderr[-3000:]
  assert export.stderr.strip().splitlines() == [
      f'error: {tmp_path}/none/config.json not found: --workdir must be a '
      'training workdir (python -m train.main writes config.json there).']

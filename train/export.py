"""The SavedModel written at the end of training: `<workdir>/export/<step>/`.

A `tfp_glow` model is exported by `tfp_glow.export.save` (TensorFlow-only
signatures: `serving_default` bits/dim of uint8 images, `log_prob`, `sample`,
`encode`, `decode`, `config`). The `tfb_glow` baseline gets a minimal
SavedModel with a `log_prob` signature over float images `[None, H, W, C]`.
Either way a version directory is written beside its target and renamed into
place, and an existing version is never overwritten.
"""

import json
import os

# tfp_glow first: as `python -m train.export` it imports TensorFlow without
# its start-up lines (tfp_glow/_quiet_start.py; --tf_logs keeps them).
import tfp_glow
from tfp_glow import console
import tensorflow as tf  # pylint: disable=g-bad-import-order
from tfp_glow import export as tfp_glow_export
from train import flags as flags_lib
from train import flow as flow_lib

__all__ = ['export']


def export(dist, workdir, n_bits, step, config=None, chief=True, worker=0):
  """Writes the SavedModel of `dist` at `step`; returns its path or None.

  Returns None (writing nothing) when `<workdir>/export/<step>` exists
  already, e.g. when a finished run is started again. Non-chief workers of a
  multi-worker run save to a scratch directory that is then deleted.
  """
  export_dir = os.path.join(workdir, 'export')
  if not chief:
    export_dir = os.path.join(workdir, 'tmp', f'worker_{worker}', 'export')
  if tf.io.gfile.exists(os.path.join(export_dir, str(int(step)))):
    return None
  path = _save(dist, export_dir, n_bits, step, config or {})
  if not chief:
    tf.io.gfile.rmtree(export_dir)
    return None
  return path


class _LogProbModule(tf.Module):

  def __init__(self, dist, config):
    super().__init__(name='glow_minimal')
    self.dist = dist
    self.config_json = tf.Variable(json.dumps(config, sort_keys=True),
                                   trainable=False)
    self.log_prob = tf.function(
        lambda images: {'log_prob': self.dist.log_prob(images)},
        input_signature=[tf.TensorSpec([None, *dist.image_shape], tf.float32,
                                        name='images')])


def _save(dist, export_dir, n_bits, step, config):
  """`tfp_glow.export.save`, or the baseline's minimal SavedModel."""
  config = json.loads(json.dumps(config, default=str))
  if isinstance(dist, tfp_glow.GlowDistribution):
    return tfp_glow_export.save(dist, export_dir, n_bits, step=step,
                                config=config)
  module = _LogProbModule(dist, dict(dist.config, step=int(step), **config))
  return tfp_glow_export.write_version(module, export_dir, step, signatures={
      'serving_default': module.log_prob, 'log_prob': module.log_prob})


def export_workdir(workdir, export_dir=None):
  """Exports the newest checkpoint of a training `workdir`; returns the path.

  Rebuilds the model from `<workdir>/config.json` and
  `<workdir>/image_shape.json`, restores the newest
  checkpoint in `<workdir>/checkpoints/` and writes
  `<export_dir>/<step>/` (default `<workdir>/export/`).

  Raises:
    FileNotFoundError: no config or no checkpoint in `workdir`.
    FileExistsError: `<export_dir>/<step>` exists already.
  """
  config_path = os.path.join(workdir, 'config.json')
  if not tf.io.gfile.exists(config_path):
    raise FileNotFoundError(
        f'{config_path} not found: --workdir must be a training workdir '
        '(python -m train.main writes config.json there).')
  with tf.io.gfile.GFile(config_path) as f:
    config = flags_lib.Config(**json.load(f))
  latest = tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints'))
  if latest is None:
    raise FileNotFoundError(f'no checkpoint in {workdir}/checkpoints/.')
  step = int(tf.train.load_checkpoint(latest).get_tensor(
      'step/.ATTRIBUTES/VARIABLE_VALUE'))
  with tf.io.gfile.GFile(os.path.join(workdir, flow_lib.IMAGE_SHAPE_FILE)) as f:
    image_shape = json.load(f)['image_shape']
  dist = flow_lib.build_flow(config, image_shape)
  tf.train.Checkpoint(dist=dist).restore(latest).expect_partial()
  export_dir = export_dir or os.path.join(workdir, 'export')
  return _save(dist, export_dir, config.n_bits, step, dict(vars(config)))


def main(argv=None):
  """`python -m train.export --workdir=W [--export_dir=D]`."""
  parser = console.ArgumentParser(
      prog='python -m train.export',
      description='Export the newest checkpoint of a training workdir as a '
      'versioned SavedModel (<export_dir>/<step>/).')
  parser.add_argument('--workdir', required=True)
  parser.add_argument('--export_dir', default=None,
                      help='default: <workdir>/export')
  parser.add_argument(console.DEBUG_FLAG, action='store_true',
                      help=console.DEBUG_HELP)
  args = parser.parse_args(argv)

  def run():
    path = export_workdir(args.workdir, args.export_dir)
    print(f'Exported {path}', flush=True)

  return console.run(run, args.debug,
                     statuses={FileNotFoundError: 2, FileExistsError: 2})


if __name__ == '__main__':
  raise SystemExit(main())

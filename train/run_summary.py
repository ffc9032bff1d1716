"""The last lines of a finished run: where its files are, what to run next.

    Samples:      /tmp/glow_demo/samples/ (step_1000.png, interpolation.png,
                  reconstruction.png)
    TensorBoard:  /tmp/glow_demo/tensorboard/
    Checkpoint:   /tmp/glow_demo/checkpoints/ckpt-1000
    SavedModel:   /tmp/glow_demo/export/1000/
    Next:
      tensorboard --logdir=/tmp/glow_demo/tensorboard
      python -m tfp_glow.latent sample --model=/tmp/glow_demo ...
      docker run ... tensorflow/serving

`train.main` prints them after `train.run`'s own `Step N: test bits/dim`
line.
"""

import importlib.util
import os

__all__ = ['ending']


def ending(result, config):
  """The lines (one string) after a run's test bits/dim.

  Args:
    result: `train.run`'s dict of a run that finished (`samples`, `figures`,
      `checkpoint`, `export`, `step`).
    config: the run's `train.flags.Config`.
  """
  workdir = config.workdir
  saved_model = _saved_model(result, config)
  samples = os.path.join(workdir, 'samples')
  pictures = [os.path.basename(p) for p in
              [result.get('samples'), *(result.get('figures') or {}).values()]
              if isinstance(p, str)]
  lines = []
  figures = result.get('figures') or {}
  if figures.get('max_abs_error') is not None:
    lines.append(f'Reconstruction: max |decode(encode(x)) - x| = '
                 f'{figures["max_abs_error"]:.1e} on held-out test images')
  lines += [
      f'Samples:      {samples}{os.sep} ({", ".join(pictures)})',
      f'TensorBoard:  {os.path.join(workdir, "tensorboard")}{os.sep}',
      f'Checkpoint:   {result["checkpoint"]}',
      f'SavedModel:   {saved_model or "none (--noexport)"}',
      'Next:',
  ]
  install = ('' if importlib.util.find_spec('tensorboard') else
             'pip install tensorboard && ')
  lines.append(f'  {install}tensorboard --logdir='
               f'{os.path.join(workdir, "tensorboard")}')
  if saved_model:
    if config.flow == 'tfp_glow':  # The baseline's export has no latents.
      lines += [
          f'  python -m tfp_glow.latent sample --model={workdir} '
          '--out=samples.png --scale=4',
          f'  python -m tfp_glow.latent interpolate --model={workdir} '
          '--out=interpolation.png --scale=4',
      ]
    lines.append(f'  docker run -p 8501:8501 -v {os.path.dirname(saved_model)}:'
                 '/models/glow -e MODEL_NAME=glow tensorflow/serving')
  else:
    lines.append(f'  python -m train.export --workdir={workdir}   '
                 '# a SavedModel, for tfp_glow.latent and serving')
  lines.append(f'  the same command with --train_steps={2 * result["step"]} '
               'trains on from this checkpoint')
  return '\n'.join(lines)


def _saved_model(result, config):
  """The run's SavedModel: written now, or by an earlier run of this step."""
  if result['export'] or not config.export:
    return result['export']
  path = os.path.join(config.workdir, 'export', str(result['step']))
  return path if os.path.exists(os.path.join(path, 'saved_model.pb')) else None

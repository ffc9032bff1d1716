"""`run(config)`: one training run, from data to SavedModel.

    data      train.data.load (tfds / image folder / embedded MNIST), batched
    build     in strategy.scope(): the flow, the optimizer (built), the
              GlowTrainer, the checkpoint; resume from the latest checkpoint,
              or ActNorm data-dependent init on the first batch in
              cross-replica context (identical on every replica and worker)
    fit       Keras fit, one "epoch" per --log_every steps, until the global
              step reaches --train_steps; callbacks checkpoint, log (a
              progress line, `train.progress`, instead of Keras' bar),
              sample, stop on SIGTERM/Ctrl-C and apply --nan_policy
    end       final checkpoint, test bits/dim, sample grid, interpolation
              and reconstruction figures (`train.end_figures`), SavedModel
"""

import contextlib
import json
import math
import os
import time

import tensorflow as tf

import tfp_glow
from train import averaging
from train import baseline
from train import callbacks as callbacks_lib
from train import checkpoint as checkpoint_lib
from train import data as data_lib
from train import end_figures
from train import export as export_lib
from train import flags as flags_lib
from train import flow as flow_lib
from train import model as model_lib
from train import optim
from train import progress
from train import resume_check
from train import run_verdict
from train import stale_temporaries
from train import strategy as strategy_lib
from train import workdir_lock

__all__ = ['run']



def run(config, dataset=None, strategy=None):
  """Trains (or resumes) the run `config` describes; returns a summary dict.

  Args:
    config: a `train.flags.Config` (validated here).
    dataset: optional `(train, test)` pair of unbatched `tf.data.Dataset`s of
      uint8 images `[H, W, C]`, of `(image, label)` pairs or of dicts with
      `'image'` (and `config.label_key`), or a `train.data.Data`, used
      instead of `config.dataset`; labels need `--num_classes`.
    strategy: optional `tf.distribute.Strategy` instead of `config.strategy`.

  Returns:
    A dict: `step`, `chief` (this process writes the workdir), `test_bpd`
    (None if interrupted or stopped), `interrupted`
    (the signal number or None), `nan_stopped`, `diverged` (why the run is
    not a result, see `train.run_verdict`, or None), `checkpoint`, `export`,
    `skipped_steps`, `bad_images` (files left out), `resumed_from`,
    `samples` (a PNG path), `figures` (`train.end_figures.write_end_figures`'
    dict; --flow=tfp_glow) and, after a completed run, `dist`, the trained
    distribution.

  Raises:
    ValueError: bad flags; `train.workdir_lock.WorkdirLocked` (another run
      holds the workdir) and `train.resume_check.ResumeMismatch` (the flags
      do not match the saved run) among them: the workdir is left unchanged.
  """
  start = time.time()
  config = flags_lib.validate(config)
  strategy = strategy or strategy_lib.make_strategy(config.strategy,
                                                    config.tpu)
  chief = strategy_lib.is_chief(strategy)
  with (workdir_lock.WorkdirLock(config.workdir) if chief else
        contextlib.nullcontext()):
    return _run_holding_workdir(config, dataset, strategy, chief, start)


def _run_holding_workdir(config, dataset, strategy, chief, start):
  """`run`, once this process may write the workdir."""
  worker = strategy_lib.worker_index(strategy)
  replicas = strategy.num_replicas_in_sync
  if config.batch_size % replicas:
    raise ValueError(f'--batch_size={config.batch_size} must be divisible by '
                     f'the {replicas} replicas.')
  if chief and config.verbose:
    print(strategy_lib.describe_devices(strategy), flush=True)
  data = _data(config, dataset)
  if data.num_classes:  # The dataset's count, stored with the run's flags.
    config = config.replace(num_classes=int(data.num_classes))
  image_shape = tuple(int(d) for d in data.image_shape)
  if image_shape[:2] != (config.image_size, config.image_size):
    raise ValueError(f'the dataset gives images of shape {image_shape}, not '
                     f'--image_size={config.image_size}.')
  resume_check.check(config, image_shape)
  train_batches = data_lib.pipeline(
      data.train, config.batch_size, train=True, flip=config.flip,
      seed=config.seed, shuffle_buffer=config.shuffle_buffer)
  eval_batch_size = config.eval_batch_size or config.batch_size
  # tfp.bijectors.Glow fails on a batch of unknown size (a dtype mismatch in
  # its reshapes), so the baseline drops the last partial test batch.
  test_batches = data_lib.pipeline(
      data.test, eval_batch_size, train=False,
      drop_remainder=config.flow == 'tfb_glow')
  tf.io.gfile.makedirs(config.workdir)
  if chief:
    for path in stale_temporaries.remove(config.workdir):
      print(f'Removed {path}, left by a run that was killed.', flush=True)

  with strategy.scope():
    dist = flow_lib.build_flow(config, image_shape)
    optimizer = optim.make_optimizer(
        config.optimizer, config.learning_rate, config.warmup_steps,
        decay_steps=config.train_steps if config.lr_decay == 'cosine' else 0,
        ema_momentum=config.ema_momentum)
    optimizer.build(dist.trainable_variables)
    averaged = averaging.AveragedWeights(optimizer, dist.trainable_variables)
    trainer = model_lib.GlowTrainer(dist, config.n_bits,
                                    clip_grad_norm=config.clip_grad_norm,
                                    weight_y=config.weight_y)
    trainer.compile(optimizer=optimizer, jit_compile=config.jit_compile)
    checkpointer = checkpoint_lib.Checkpointer(
        config.workdir, config.keep_checkpoints, chief=chief, worker=worker,
        dist=dist, optimizer=optimizer, step=trainer.step,
        skipped=trainer.skipped)
    memory_line = flow_lib.describe_memory(config, dist,
                                           config.batch_size // replicas)
    if chief and config.verbose and memory_line:
      print(memory_line, flush=True)
    resumed_from = checkpointer.restore_latest()
    if resumed_from:
      print(f'Resumed from {resumed_from} (step {int(trainer.step.numpy())})',
            flush=True)
    else:
      # Cross-replica context: every replica (and every worker, which draws
      # the same seeded batch and noise) gets the same ActNorm values.
      first = next(iter(data.train.shuffle(
          config.shuffle_buffer, seed=config.seed).batch(
              config.init_batch_size)))
      first, labels = first if data.num_classes else (first, None)
      images = tfp_glow.dequantize(first, config.n_bits,
                                   seed=[config.seed, 1])
      if config.flow == 'tfb_glow':
        baseline.initialize(dist, images)
      else:
        tfp_glow.initialize(dist, images, labels)
  step = int(trainer.step.numpy())
  if chief and step < config.train_steps:  # Training starts: record the run.
    with open(os.path.join(config.workdir, resume_check.CONFIG_FILE),
              'w') as f:
      json.dump(vars(config), f, indent=2, sort_keys=True)
    with open(os.path.join(config.workdir, flow_lib.IMAGE_SHAPE_FILE),
              'w') as f:
      json.dump({'image_shape': list(image_shape)}, f)

  scalars = callbacks_lib.Scalars(
      config.workdir, config.batch_size, start, chief=chief,
      listeners=[progress.ProgressLines(config.train_steps)]
      if config.verbose else [])
  nan_stop = callbacks_lib.NanStop()
  interrupted, nan_stopped = None, False
  if step < config.train_steps:
    with callbacks_lib.catch_signals() as signal_state:
      callbacks = [
          callbacks_lib.StepLimit(config.train_steps),
          callbacks_lib.GracefulStop(signal_state),
          scalars,
          callbacks_lib.Checkpoints(checkpointer, config.checkpoint_every),
          callbacks_lib.SampleGrids(config.workdir, config.sample_every,
                                    config.num_samples, config.seed, chief,
                                    averaged=averaged),
          averaging.AveragedEvaluation(averaged),
      ]
      if config.nan_policy == 'stop':
        callbacks.insert(0, nan_stop)
      epochs = math.ceil(config.train_steps / config.log_every)
      trainer.fit(
          train_batches, epochs=epochs,
          initial_epoch=min(step // config.log_every, epochs - 1),
          steps_per_epoch=config.log_every, callbacks=callbacks,
          validation_data=test_batches if config.eval_every else None,
          validation_freq=max(1, config.eval_every // config.log_every),
          shuffle=False, verbose=0)
      interrupted = signal_state['signal']
    nan_stopped = nan_stop.stopped
  step = int(trainer.step.numpy())
  skipped = int(trainer.skipped.numpy())
  result = dict(step=step, chief=chief, test_bpd=None,
                interrupted=interrupted,
                nan_stopped=nan_stopped, diverged=None,
                checkpoint=checkpointer.latest, export=None,
                skipped_steps=skipped, bad_images=list(data.bad_images),
                resumed_from=resumed_from)
  if nan_stopped:
    print(f'Stopped at step {step}: non-finite loss or gradient '
          '(--nan_policy=stop); that update was not applied. The latest '
          f'checkpoint is {checkpointer.latest or "none (none was written)"}.',
          flush=True)
    return result
  if checkpointer.latest is None or not checkpointer.latest.endswith(
      f'-{step}'):
    checkpointer.save(step)
  result['checkpoint'] = checkpointer.latest
  if interrupted:
    print(f'Saved {checkpointer.latest}; rerun the same command to resume.',
          flush=True)
    return result

  # From here on (test bits/dim, figures, SavedModel) the model is the
  # averaged one, if --ema_momentum; the checkpoint above keeps both.
  averaged.adopt()
  test_bpd = trainer.evaluate(test_batches, verbose=0, return_dict=True)['bpd']
  result['test_bpd'] = float(test_bpd)
  scalars.write(dict(step=step, wall_s=round(time.time() - start, 3),
                     test_bpd=result['test_bpd'], final=True))
  if chief:
    print(f'Step {step}: test bits/dim {result["test_bpd"]:.4f}', flush=True)
  result['diverged'] = run_verdict.divergence(
      result['test_bpd'], skipped, step, config.max_skipped_fraction)
  if result['diverged']:
    if chief:
      _write_results(config.workdir, result)
    return result
  if chief:
    result['samples'] = callbacks_lib.save_grid(
        dist, config.workdir, step, config.num_samples, config.seed)
    if config.flow == 'tfp_glow':  # The latent tools need tfp_glow.encode.
      result['figures'] = end_figures.write_end_figures(
          dist, data.test, config.workdir, config.n_bits,
          conditional=bool(data.num_classes))
  if config.export:
    result['export'] = export_lib.export(
        dist, config.workdir, config.n_bits, step,
        config=dict(dataset=data.name, flow=config.flow,
                    test_bpd=result['test_bpd']),
        chief=chief, worker=worker)
  if chief:
    _write_results(config.workdir, result)
  result['dist'] = dist
  return result


def _write_results(workdir, result):
  with open(os.path.join(workdir, 'results.json'), 'w') as f:
    json.dump(result, f, indent=2)


def _data(config, dataset):
  if dataset is None:
    return data_lib.load(config)
  if isinstance(dataset, data_lib.Data):
    return dataset
  train, test = dataset

  def select(ds):
    if isinstance(ds.element_spec, dict):
      if config.conditional:
        return ds.map(lambda ex: (ex['image'], ex[config.label_key]))
      return ds.map(lambda ex: ex['image'])
    if isinstance(ds.element_spec, tuple) and not config.conditional:
      return ds.map(lambda x, *_: x)
    return ds

  train, test = select(train), select(test)
  num_classes = None
  if config.conditional:
    if not isinstance(train.element_spec, tuple):
      raise ValueError('--conditional needs labelled data: (image, label) '
                       'pairs or dicts with "image" and --label_key.')
    if not config.num_classes:
      raise ValueError('--conditional with an injected dataset needs '
                       '--num_classes.')
    num_classes = config.num_classes
    train, test = [data_lib.check_labels(ds, num_classes)
                   for ds in (train, test)]
  if config.max_test_examples:
    test = test.take(config.max_test_examples)
  return data_lib.Data(train, test, data_lib.image_spec(train).shape,
                       'injected', num_classes)

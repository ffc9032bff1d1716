r"""A minimal PyTorch Glow: the peer that the benchmarks compare against.

The architecture of the PyTorch port people use (multi-scale Glow with
affine couplings and LU 1x1 convolutions, [1] Section 3 and Figure 2),
written here from the paper's equations for `bench/throughput.py`. Tensors
are NCHW. In the data-to-latent direction, `L` levels of `K` steps:

    x in [0, 1]^(C, H, W)
      |  x - 0.5
      v
    level l:  squeeze (2x2 pixels -> 4 channels)
              K x [ActNorm -> InvertibleConv1x1 (LU) -> AffineCoupling]
              split: z = [z_1, z_2],  z_2 ~ N(mu(z_1), sigma(z_1)^2)
                     with (mu, log sigma) = ZeroConv3x3(z_1); go on with z_1
      v   ...
    level L:  squeeze -> K steps -> z_L ~ N(mu_top, sigma_top^2) (learned)

Each prior is written as a standardisation `eps = (z - mu) / sigma` with
log-det `-sum(log sigma)`, so the whole model is one bijection
`x -> eps = [eps_1, ..., eps_L]` and

    log p(x) = log N(eps; 0, I) + log |det d eps / d x|        (exact).

The step, with `c = C / 2` channels per half:

    ActNorm:     y = (x + b) * exp(s),          log-det = H W sum(s)
                 (b, s) set on the first batch so y has zero mean and unit
                 variance per channel ([1] Section 3.1)
    1x1 conv:    y = W x per pixel,  W = P L (U + diag(sign * exp(log_s))),
                 log-det = H W sum(log_s)       ([1] Section 3.2)
    coupling:    (x_a, x_b) = split(x);  (r, t) = NN(x_a)
                 y_b = (x_b + t) * sigmoid(r + 2),  y_a = x_a,
                 log-det = sum log sigmoid(r + 2)   ([1] Section 3.3; the
                 `+ 2` starts the scale near 1)
    NN:          conv3x3(c -> width) ReLU conv1x1(width -> width) ReLU
                 ZeroConv3x3(width -> 2 (C - c))
    ZeroConv:    (conv(x) + bias) * exp(3 scale), all zero-initialised, so
                 each coupling starts as y_b = x_b * sigmoid(2)

    model = TorchGlow(image_shape=(3, 32, 32), num_levels=3, num_steps=8,
                      hidden_channels=400)
    model.initialize(first_batch)        # ActNorm data-dependent init
    loss = -model.log_prob(images).mean()

[1]: Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1
     Convolutions. NeurIPS 2018. arXiv 1807.03039.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ['ActNorm', 'AffineCoupling', 'FlowStep', 'InvertibleConv1x1',
           'TorchGlow', 'ZeroConv2d', 'bits_per_dim', 'dequantize', 'images_nchw',
           'squeeze', 'train_step', 'unsqueeze']

_LOG_2PI = math.log(2 * math.pi)


def squeeze(x):
  """`[N, C, H, W] -> [N, 4 C, H / 2, W / 2]`: each 2x2 block to channels."""
  n, c, h, w = x.shape
  x = x.reshape(n, c, h // 2, 2, w // 2, 2)
  return x.permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x):
  """The inverse of `squeeze`."""
  n, c, h, w = x.shape
  x = x.reshape(n, c // 4, 2, 2, h, w)
  return x.permute(0, 1, 4, 2, 5, 3).reshape(n, c // 4, 2 * h, 2 * w)


def _pixels(x):
  return x.shape[2] * x.shape[3]


class ActNorm(nn.Module):
  """`y = (x + b) * exp(s)` per channel; `(b, s)` from the first batch."""

  def __init__(self, channels):
    super().__init__()
    self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
    self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
    self.register_buffer('initialized', torch.tensor(False))

  @torch.no_grad()
  def _initialize(self, x):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    self.shift.copy_(-mean)
    self.log_scale.copy_(-torch.log(std + 1e-6))
    self.initialized.fill_(True)

  def forward(self, x):
    if not self.initialized:
      self._initialize(x)
    log_det = _pixels(x) * self.log_scale.sum()
    return (x + self.shift) * torch.exp(self.log_scale), log_det

  def reverse(self, y):
    return y * torch.exp(-self.log_scale) - self.shift


class InvertibleConv1x1(nn.Module):
  """`y = W x` per pixel, `W = P L (U + diag(sign * exp(log_s)))`.

  `P` (a permutation) and `sign` are fixed; `L` (unit lower triangular), `U`
  (strictly upper triangular) and `log_s` are learned, so `log |det W| =
  sum(log_s)` costs O(C). Starts from a random rotation ([1] Section 3.2).
  """

  def __init__(self, channels, generator=None):
    super().__init__()
    q, _ = torch.linalg.qr(torch.randn(channels, channels,
                                       generator=generator,
                                       dtype=torch.float64))
    p, lower, upper = torch.linalg.lu(q)
    diag = torch.diagonal(upper)
    self.register_buffer('permutation', p.float())
    self.register_buffer('sign', torch.sign(diag).float())
    self.register_buffer('lower_mask', torch.tril(
        torch.ones(channels, channels), -1))
    self.register_buffer('eye', torch.eye(channels))
    self.lower = nn.Parameter(lower.float())
    self.upper = nn.Parameter(torch.triu(upper, 1).float())
    self.log_s = nn.Parameter(torch.log(torch.abs(diag)).float())

  def weight(self):
    lower = self.lower * self.lower_mask + self.eye
    upper = (self.upper * self.lower_mask.T +
             torch.diag(self.sign * torch.exp(self.log_s)))
    return self.permutation @ lower @ upper

  def forward(self, x):
    weight = self.weight()
    y = F.conv2d(x, weight[:, :, None, None])
    return y, _pixels(x) * self.log_s.sum()

  def reverse(self, y):
    weight = torch.inverse(self.weight().double()).to(y.dtype)
    return F.conv2d(y, weight[:, :, None, None])


class ZeroConv2d(nn.Module):
  """`(conv3x3(x) + bias) * exp(3 scale)`, zero-initialised ([1] Section
  3.3: the last layer of each network starts at zero)."""

  def __init__(self, in_channels, out_channels):
    super().__init__()
    self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
    self.conv.weight.data.zero_()
    self.conv.bias.data.zero_()
    self.scale = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

  def forward(self, x):
    return self.conv(x) * torch.exp(3 * self.scale)


class AffineCoupling(nn.Module):
  """`y_b = (x_b + t) * sigmoid(r + 2)` with `(r, t) = NN(x_a)`."""

  def __init__(self, channels, hidden_channels):
    super().__init__()
    self.kept = channels // 2
    rest = channels - self.kept
    conv_in = nn.Conv2d(self.kept, hidden_channels, 3, padding=1)
    conv_hidden = nn.Conv2d(hidden_channels, hidden_channels, 1)
    for conv in (conv_in, conv_hidden):  # openai/glow's N(0, 0.05^2).
      conv.weight.data.normal_(0, 0.05)
      conv.bias.data.zero_()
    self.net = nn.Sequential(conv_in, nn.ReLU(), conv_hidden, nn.ReLU(),
                             ZeroConv2d(hidden_channels, 2 * rest))

  def _scale_shift(self, a):
    r, t = self.net(a).chunk(2, dim=1)
    return torch.sigmoid(r + 2.), t  # [1]: +2 starts the scale near 1.

  def forward(self, x):
    a, b = x[:, :self.kept], x[:, self.kept:]
    scale, t = self._scale_shift(a)
    log_det = torch.log(scale).flatten(1).sum(1)
    return torch.cat([a, (b + t) * scale], dim=1), log_det

  def reverse(self, y):
    a, b = y[:, :self.kept], y[:, self.kept:]
    scale, t = self._scale_shift(a)
    return torch.cat([a, b / scale - t], dim=1)


class FlowStep(nn.Module):
  """ActNorm -> invertible 1x1 conv -> affine coupling."""

  def __init__(self, channels, hidden_channels, generator=None):
    super().__init__()
    self.layers = nn.ModuleList([
        ActNorm(channels), InvertibleConv1x1(channels, generator),
        AffineCoupling(channels, hidden_channels)])

  def forward(self, x):
    log_det = 0.
    for layer in self.layers:
      x, layer_log_det = layer(x)
      log_det = log_det + layer_log_det
    return x, log_det

  def reverse(self, y):
    for layer in reversed(self.layers):
      y = layer.reverse(y)
    return y


class _SplitPrior(nn.Module):
  """`z = [z_1, z_2]`; `eps = (z_2 - mu) / sigma`, `(mu, log sigma) =
  ZeroConv3x3(z_1)`; log-det `-sum(log sigma)`."""

  def __init__(self, channels):
    super().__init__()
    self.kept = channels // 2
    self.prior = ZeroConv2d(self.kept, 2 * (channels - self.kept))

  def forward(self, z):
    kept, rest = z[:, :self.kept], z[:, self.kept:]
    mean, log_std = self.prior(kept).chunk(2, dim=1)
    eps = (rest - mean) * torch.exp(-log_std)
    return kept, eps, -log_std.flatten(1).sum(1)

  def reverse(self, kept, eps):
    mean, log_std = self.prior(kept).chunk(2, dim=1)
    return torch.cat([kept, mean + torch.exp(log_std) * eps], dim=1)


class _TopPrior(nn.Module):
  """`eps = (z - mu) / sigma` with a learned, zero-initialised per-channel
  `(mu, log sigma)` (openai/glow's `learntop`)."""

  def __init__(self, channels):
    super().__init__()
    self.mean = nn.Parameter(torch.zeros(1, channels, 1, 1))
    self.log_std = nn.Parameter(torch.zeros(1, channels, 1, 1))

  def forward(self, z):
    eps = (z - self.mean) * torch.exp(-self.log_std)
    return eps, -_pixels(z) * self.log_std.sum()

  def reverse(self, eps):
    return self.mean + torch.exp(self.log_std) * eps


class TorchGlow(nn.Module):
  """Glow over `[N, C, H, W]` images in `[0, 1]` (see the module docstring).

  Args:
    image_shape: `(C, H, W)`; `H`, `W` divisible by `2 ** num_levels`.
    num_levels: `L`.
    num_steps: `K`, steps per level.
    hidden_channels: width of the coupling networks.
    seed: seed of the initial weights.
  """

  def __init__(self, image_shape=(3, 32, 32), num_levels=3, num_steps=8,
               hidden_channels=400, seed=0):
    super().__init__()
    c, h, w = (int(d) for d in image_shape)
    if h % 2 ** num_levels or w % 2 ** num_levels:
      raise ValueError(f'image height and width must be divisible by '
                       f'2**num_levels = {2 ** num_levels}, got {(h, w)}.')
    self.image_shape = (c, h, w)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    self.levels = nn.ModuleList()
    self.splits = nn.ModuleList()
    for level in range(num_levels):
      c = 4 * c
      self.levels.append(nn.ModuleList([
          FlowStep(c, hidden_channels, generator) for _ in range(num_steps)]))
      if level < num_levels - 1:
        self.splits.append(_SplitPrior(c))
        c //= 2
    self.top_prior = _TopPrior(c)

  def encode(self, x):
    """`x -> ([eps_1, ..., eps_L], log |det d eps / d x| [N])`."""
    h, log_det, eps = x - 0.5, 0., []
    for level, steps in enumerate(self.levels):
      h = squeeze(h)
      for step in steps:
        h, step_log_det = step(h)
        log_det = log_det + step_log_det
      if level < len(self.splits):
        h, level_eps, prior_log_det = self.splits[level](h)
      else:
        level_eps, prior_log_det = self.top_prior(h)
      eps.append(level_eps)
      log_det = log_det + prior_log_det
    return eps, log_det

  def decode(self, eps):
    """The inverse of `encode`: `[eps_1, ..., eps_L] -> x`."""
    h = self.top_prior.reverse(eps[-1])
    for level in reversed(range(len(self.levels))):
      if level < len(self.splits):
        h = self.splits[level].reverse(h, eps[level])
      for step in reversed(self.levels[level]):
        h = step.reverse(h)
      h = unsqueeze(h)
    return h + 0.5

  def log_prob(self, x):
    """The exact log-density of images `x` in `[0, 1]^D`, `[N]`."""
    eps, log_det = self.encode(x)
    normal = sum(-0.5 * (e ** 2 + _LOG_2PI).flatten(1).sum(1) for e in eps)
    return normal + log_det

  def initialize(self, x):
    """ActNorm's data-dependent init on `x`; returns `log_prob(x)`."""
    with torch.no_grad():
      return self.log_prob(x)


def dequantize(pixels, n_bits=8, generator=None):
  """Integer pixels in `0..255` -> `(k + u) / n_bins` in `[0, 1)`, with
  `k = floor(pixels / 2 ** (8 - n_bits))`, `u ~ U[0, 1)`."""
  n_bins = 2 ** n_bits
  k = torch.div(torch.as_tensor(pixels), 2 ** (8 - n_bits),
                rounding_mode='floor').float()
  return (k + torch.rand(k.shape, generator=generator)) / n_bins


def bits_per_dim(log_prob, num_dims, n_bits=8):
  """`-(log p(x) - D log n_bins) / (D log 2)`: the discrete images' bits."""
  return -(log_prob - num_dims * n_bits * math.log(2)) / (
      num_dims * math.log(2))


def train_step(model, optimizer, x):
  """One optimizer step on `-mean(log_prob(x))`; returns the loss."""
  optimizer.zero_grad(set_to_none=True)
  loss = -model.log_prob(x).mean()
  loss.backward()
  optimizer.step()
  return loss.detach()


def images_nchw(images_nhwc):
  """A float32 NCHW tensor from `[N, H, W, C]` numpy images."""
  return torch.from_numpy(np.ascontiguousarray(
      np.asarray(images_nhwc, np.float32).transpose(0, 3, 1, 2)))

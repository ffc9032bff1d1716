"""bench/torch_glow.py, the PyTorch peer of the benchmarks: it is a flow.

Skipped where torch is not installed (`pip install -e .[bench]`).
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from bench import torch_glow  # pylint: disable=g-import-not-at-top


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
  """One torch thread: tiny ops on a shared machine, where OpenMP's
  spinning threads would wait on each other."""
  threads = torch.get_num_threads()
  torch.set_num_threads(1)
  yield
  torch.set_num_threads(threads)


def _randomize(model, seed, scale=0.1):
  """Moves every parameter off its initial value (zero convs included), so
  that no layer is the identity and the checks see every term."""
  generator = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for p in model.parameters():
      p.add_(scale * torch.randn(p.shape, generator=generator,
                                 dtype=p.dtype))


def _images(shape, seed=0):
  rng = np.random.default_rng(seed)
  return torch.from_numpy(rng.beta(2., 3., shape).astype(np.float32))


def test_squeeze_is_a_permutation_undone_by_unsqueeze():
  x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
  y = torch_glow.squeeze(x)
  assert y.shape == (2, 12, 2, 2)
  assert sorted(y.flatten().tolist()) == sorted(x.flatten().tolist())
  assert torch.equal(y[0, :4, 0, 0], x[0, 0, :2, :2].flatten())
  assert torch.equal(torch_glow.unsqueeze(y), x)


def test_reverse_reconstructs_images_in_float32():
  model = torch_glow.TorchGlow((3, 16, 16), num_levels=3, num_steps=2,
                               hidden_channels=32, seed=0)
  x = _images((4, 3, 16, 16))
  model.initialize(x)
  _randomize(model, seed=1, scale=0.05)
  with torch.no_grad():
    eps, _ = model.encode(x)
    assert [tuple(e.shape) for e in eps] == [(4, 6, 8, 8), (4, 12, 4, 4),
                                             (4, 48, 2, 2)]
    x_back = model.decode(eps)
    # Not the identity: the first latent is not the pixels it came from.
    unchanged = torch_glow.squeeze(x - 0.5)[:, 6:]
  assert (x_back - x).abs().max() < 1e-4
  assert (eps[0] - unchanged).abs().max() > 1e-2


def _check_log_det(module, x, log_det_of):
  """`log_det_of(module, x)` (per example) against `log |det J|` of the
  flattened map, by brute force (float64, one example at a time)."""
  expected = []
  for i in range(x.shape[0]):
    xi = x[i:i + 1]
    jacobian = torch.autograd.functional.jacobian(
        lambda v: module(v)[0].flatten(), xi).reshape(xi.numel(), xi.numel())
    expected.append(torch.linalg.slogdet(jacobian)[1])
  got = log_det_of(module, x)
  np.testing.assert_allclose(got.detach().numpy(),
                             torch.stack(expected).numpy(), rtol=1e-8,
                             atol=1e-8)


def test_one_step_log_det_matches_the_jacobian():
  step = torch_glow.FlowStep(6, hidden_channels=8,
                             generator=torch.Generator().manual_seed(0))
  x = _images((2, 6, 3, 3)).double()
  step.double()
  step(x)  # ActNorm data init.
  _randomize(step, seed=2, scale=0.3)
  log_det = lambda m, v: m(v)[1] * torch.ones(v.shape[0], dtype=v.dtype)
  _check_log_det(step, x, log_det)


def test_model_log_prob_is_the_change_of_variables():
  model = torch_glow.TorchGlow((3, 4, 4), num_levels=2, num_steps=2,
                               hidden_channels=8, seed=0).double()
  x = _images((1, 3, 4, 4)).double()
  model.initialize(x)
  _randomize(model, seed=3, scale=0.05)

  def flat(v):
    eps, log_det = model.encode(v)
    return torch.cat([e.flatten(1) for e in eps], 1), log_det

  _check_log_det(flat, x, lambda m, v: m(v)[1])
  eps, _ = flat(x)
  normal = -0.5 * (eps ** 2 + math.log(2 * math.pi)).sum(1)
  np.testing.assert_allclose(
      model.log_prob(x).detach().numpy(),
      (normal + flat(x)[1]).detach().numpy(), rtol=1e-12)


def test_actnorm_data_init_standardizes_the_first_batch():
  actnorm = torch_glow.ActNorm(4)
  x = 3. + 2. * _images((8, 4, 5, 5))
  y, _ = actnorm(x)
  np.testing.assert_allclose(y.mean((0, 2, 3)).detach().numpy(), 0.,
                             atol=1e-5)
  np.testing.assert_allclose(y.std((0, 2, 3), unbiased=False).detach()
                             .numpy(), 1., atol=1e-4)
  y2, _ = actnorm(x + 1.)  # Initialized: no re-init on the next batch.
  assert not torch.allclose(y2.mean(), y.mean())


def test_training_lowers_the_loss():
  torch.manual_seed(0)
  model = torch_glow.TorchGlow((3, 8, 8), num_levels=2, num_steps=2,
                               hidden_channels=16, seed=0)
  pixels = np.random.default_rng(0).integers(0, 256, (16, 3, 8, 8))
  x = torch_glow.dequantize(pixels, n_bits=5,
                            generator=torch.Generator().manual_seed(0))
  assert 0. <= float(x.min()) and float(x.max()) < 1.
  model.initialize(x)
  optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
  losses = [float(torch_glow.train_step(model, optimizer, x))
            for _ in range(15)]
  assert all(np.isfinite(losses))
  assert losses[-1] < losses[0] - 0.5
  with torch.no_grad():
    bpd = torch_glow.bits_per_dim(model.log_prob(x).mean(), 3 * 8 * 8,
                                  n_bits=5)
  assert 0. < float(bpd) < 8.

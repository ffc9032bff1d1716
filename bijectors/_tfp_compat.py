"""The one place the project touches TensorFlow Probability's private names.

One private use, with its public fallback (correct, slower):

- `tfb.Bijector._cache.forward_attributes(x, **kwargs)` /
  `.inverse_attributes(y, **kwargs)`: the dict TFP keeps beside each cached
  `(x, y)` pair, where `Bijector._call_inverse_log_det_jacobian` looks for an
  `'ildj'` before calling `_inverse_log_det_jacobian`. `OnePassBijector`
  stores the log-det of its pass there, so `log_prob`'s `inverse(y)` and
  `inverse_log_det_jacobian(y)` run the coupling network once.
  Fallback: the log-det call runs its own pass (the network twice per layer).

`tests/test_compat.py` fails, naming the symbol, when it disappears or stops
meaning this, and runs the fallback.
"""

from tensorflow_probability import bijectors as tfb

__all__ = ['BIJECTOR_CACHE', 'bijector_cache_works', 'remember_ildj',
           'remembered_ildj']

BIJECTOR_CACHE = ('tfp.bijectors.Bijector._cache.forward_attributes / '
                  'inverse_attributes')
_DIRECTIONS = ('forward', 'inverse')


def bijector_cache_works():
  """Whether TFP's bijector cache keeps attributes beside cached pairs."""
  cache = getattr(tfb.Bijector, '_cache', None)
  return all(callable(getattr(cache, f'{d}_attributes', None))
             for d in _DIRECTIONS)


def _attributes(bijector, direction, value, kwargs):
  if not bijector_cache_works():
    return None
  return getattr(bijector._cache, f'{direction}_attributes')(value, **kwargs)  # pylint: disable=protected-access


def remember_ildj(bijector, direction, value, kwargs, ildj):
  """Keeps `ildj` beside the cached pass of `bijector` in `direction`
  ('forward' or 'inverse') on `value` (nothing without the cache)."""
  attributes = _attributes(bijector, direction, value, kwargs)
  if attributes is not None:
    attributes['ildj'] = ildj


def remembered_ildj(bijector, direction, value, kwargs):
  """The `ildj` kept by `remember_ildj`, or `None` where there is none."""
  attributes = _attributes(bijector, direction, value, kwargs)
  return None if attributes is None else attributes.get('ildj')

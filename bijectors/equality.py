"""How our bijectors compare and hash: the keys of TFP's bijector cache.

TFP compares and hashes bijectors by their constructor `parameters`
(`Bijector.__eq__`/`__hash__`), and bijectors that compare equal share
one forward/inverse cache. Every `forward`/`inverse` call hashes the bijector
to look the cache up. Two mixins adjust that for our bijectors; list them
before the `tfb.Bijector` base, e.g. `class ActNorm(OwnsVariables,
OnePassBijector)`.
"""

__all__ = ['HashOnce', 'OwnsVariables']


class OwnsVariables:
  """A bijector that creates its own `tf.Variable`s equals only itself.

  Structural equality is right for `tfb.Scale(v)`, whose variable `v` is a
  parameter, but not for a bijector that makes its variables in `__init__`:
  two `ActNorm(num_channels=3)` built alike but initialized on different data
  would be "equal", and `b.inverse(a.forward(x))` would return `x` from the
  cache without running `b`. Such a bijector's real parameters are its own
  variables, so it is equal to itself alone, as TFP already assumes for
  bijectors without `parameters`.
  """

  def __eq__(self, other):
    return self is other

  def __ne__(self, other):
    return self is not other

  def __hash__(self):
    return id(self)


class HashOnce:
  """A composite bijector that hashes its (immutable) parameters once.

  TFP's `hashable_structure` hashes each nested bijector twice (once to test
  that it is hashable, once inside the tuple), so hashing chains nested `d`
  deep costs `2^d` hashes of the innermost one: 0.13 s for a 3-level Glow,
  paid on every cache lookup while tracing. Constructor parameters do not
  change after `__init__`, so the first hash is kept. Equality stays TFP's
  structural one.
  """

  def __hash__(self):
    cached = self.__dict__.get('_hash_once')
    if cached is None:
      cached = super().__hash__()
      self.__dict__['_hash_once'] = cached
    return cached

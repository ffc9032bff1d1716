"""Named choices of a flow step's pieces: `glow(coupling='affine')`."""

__all__ = ['Registry']


class Registry:
  """Instances of `base` by their `name`, for choosing them by name.

  `register(instance)` adds one (a later one of the same name replaces
  it), `names()` lists them in registration order, and `get(name_or
  instance)` returns the instance, or raises `ValueError` naming the
  choices.
  """

  def __init__(self, kind, base):
    self._kind, self._base = kind, base
    self._entries = {}

  def register(self, instance):
    if not isinstance(instance, self._base) or not instance.name:
      raise TypeError(f'register_{self._kind} takes a named '
                      f'{self._base.__name__} instance, got {instance!r}.')
    self._entries[instance.name] = instance
    return instance

  def names(self):
    return tuple(self._entries)

  def get(self, choice):
    if isinstance(choice, self._base):
      return choice
    if choice not in self._entries:
      raise ValueError(f'`{self._kind}` must be one of {self.names()} (or a '
                       f'{self._base.__name__}), got {choice!r}.')
    return self._entries[choice]

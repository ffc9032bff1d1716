"""Reading one image file with Pillow, or saying which file is not an image.

    with image_file.open_image(path) as image:   # a loaded PIL image
      pixels = np.asarray(image.convert('RGB'))

Pillow opens lazily: a truncated file or a text file named `.png` fails later,
in `convert`, with a message that does not name the file. `open_image` reads
the pixels at once and raises `ValueError('<path>: not a readable image
(<reason>)')` instead.
"""

import contextlib

__all__ = ['open_image']


@contextlib.contextmanager
def open_image(path):
  """A context manager giving the loaded PIL image at `path`.

  Raises:
    FileNotFoundError: no file at `path`.
    ValueError: the file is not an image Pillow can decode (named).
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  try:
    image = Image.open(path)
    image.load()
  except FileNotFoundError:
    raise
  except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
    raise ValueError(f'{path}: not a readable image ({e})') from None
  with image:
    yield image

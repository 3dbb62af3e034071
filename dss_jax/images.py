"""Image helpers: the [-1, 1] <-> uint8 conversions, reading an image file, grids, PNG writing.

The one home of these conversions (numpy and PIL; the tf.data pipeline decodes with its own TF op).
"""

import os

import numpy as np
from PIL import Image


def to_uint8(images):
  """[..., H, W, 3] in [-1, 1] -> uint8 in [0, 255] (clipped, as the reference's denormalise + clamp)."""
  images = np.asarray(images, np.float32)
  return np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def from_uint8(images) -> np.ndarray:
  """uint8 [..., H, W, 3] in [0, 255] -> float32 in [-1, 1] (x / 127.5 - 1, as the input pipeline)."""
  return np.asarray(images, np.float32) / 127.5 - 1.0


def load_image(path: str, img_size: int) -> np.ndarray:
  """One image file -> float32 [img_size, img_size, 3] in [-1, 1] (RGB, PIL bilinear resize).

  Raises FileNotFoundError when there is no file at path, ValueError when PIL cannot read it.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f'No image file at {path!r}.')
  try:
    with Image.open(path) as image:
      image = image.convert('RGB').resize((img_size, img_size), Image.BILINEAR)
  except Exception as e:  # noqa: BLE001 - any decoding failure is the same user error.
    raise ValueError(f'{path!r} is not an image PIL can read ({e}).') from None
  return from_uint8(image)


def grid(rows, pad: int = 2):
  """rows: list of lists of [H, W, 3] images in [-1, 1] (equal sizes) -> one uint8 image with white gaps."""
  h, w = np.asarray(rows[0][0]).shape[:2]
  cols = max(len(r) for r in rows)
  out = np.full((len(rows) * (h + pad) - pad, cols * (w + pad) - pad, 3), 255, np.uint8)
  for i, row in enumerate(rows):
    for j, img in enumerate(row):
      out[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = to_uint8(img)
  return out


def save_png(path: str, image) -> str:
  """Writes a uint8 [H, W, 3] image atomically (temporary file, then rename)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + '.tmp.png'
  Image.fromarray(np.asarray(image)).save(tmp)
  os.replace(tmp, path)
  return path

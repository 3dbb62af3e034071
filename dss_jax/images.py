"""Image helpers: the [-1, 1] <-> uint8 conversions, reading an image file, grids (plain or labelled), PNG
writing.

The one home of these conversions (numpy and PIL; the tf.data pipeline decodes with its own TF op).
"""

import math
import os
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Labelled grids scale cells narrower than this up (nearest neighbour, an integer factor) so that a column's
# label, in PIL's default font (about 6 px a character), fits above it and the grid reads at 1x.
LABEL_MIN_CELL = 64
TEXT_COLOUR = (20, 20, 20)


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


def _wrap(text: str, width: float, font, space: str = ' ') -> list[str]:
  """text as lines no wider than width where it can (breaks at spaces and after hyphens; '\\n' is kept);
  words are joined by `space`."""
  lines = []
  for paragraph in str(text).split('\n'):
    line = ''
    for token in (t for t in re.split(r'(?<=-)(?=\S)|\s+', paragraph) if t):
      joined = token if not line else line + ('' if line.endswith('-') else space) + token
      if line and font.getlength(joined) > width:
        lines.append(line)
        line = token
      else:
        line = joined
    lines.append(line)
  return lines


def labelled_grid(rows, col_labels=None, row_labels=None, title=None, pad: int = 2) -> np.ndarray:
  """`grid(rows, pad)` with a label above each column, beside each row and a title line, readable at 1x.

  rows: list of lists of [H, W, 3] images in [-1, 1]; col_labels / row_labels: one string per column / row
  (None or '' for none; column labels wrap to the cell width, '\\n' breaks a line); title: one line above
  all. Cells narrower than LABEL_MIN_CELL are scaled up by an integer factor (nearest neighbour).
  Returns uint8 [H', W', 3] (white background, dark text in PIL's default font).
  """
  body = grid(rows, pad)
  h, w = np.asarray(rows[0][0]).shape[:2]
  scale = math.ceil(LABEL_MIN_CELL / w) if w < LABEL_MIN_CELL else 1
  body = np.repeat(np.repeat(body, scale, axis=0), scale, axis=1)
  cell, pitch = w * scale, (w + pad) * scale
  font = ImageFont.load_default()
  space = '  ' if isinstance(font, ImageFont.FreeTypeFont) else ' '  # Its 10 px space is too narrow to read.
  line_h = font.getbbox('Ag')[3] + 3
  cols = [_wrap(c or '', cell, font, space) for c in (col_labels or [])]
  rows_text = [str(r or '').replace(' ', space).split('\n') for r in (row_labels or [])]
  left = int(max((font.getlength(line) for r in rows_text for line in r), default=0))
  left = left + 8 if left else 0
  title_lines = _wrap(title, left + body.shape[1] - 8, font, space) if title else []
  top_title = len(title_lines) * line_h + (4 if title_lines else 0)
  top = top_title + (max(len(c) for c in cols) * line_h + 4 if any(any(c) for c in cols) else 0)
  canvas = Image.new('RGB', (left + body.shape[1], top + body.shape[0]), (255, 255, 255))
  canvas.paste(Image.fromarray(body), (left, top))
  draw = ImageDraw.Draw(canvas)
  for i, line in enumerate(title_lines):
    draw.text((4, 2 + i * line_h), line, fill=TEXT_COLOUR, font=font)
  for j, lines in enumerate(cols):
    for i, line in enumerate(lines):
      x = left + j * pitch + (cell - font.getlength(line)) / 2
      draw.text((max(x, 0), top_title + 2 + i * line_h), line, fill=TEXT_COLOUR, font=font)
  for r, lines in enumerate(rows_text):
    y = top + r * (h + pad) * scale + (h * scale - len(lines) * line_h) / 2
    for i, line in enumerate(lines):
      draw.text((4, y + i * line_h), line, fill=TEXT_COLOUR, font=font)
  return np.asarray(canvas)


def save_png(path: str, image) -> str:
  """Writes a uint8 [H, W, 3] image atomically (temporary file, then rename)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + '.tmp.png'
  Image.fromarray(np.asarray(image)).save(tmp)
  os.replace(tmp, path)
  return path

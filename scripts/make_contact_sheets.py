"""Writes docs/synthetic_<variant>.png: a few test images per domain of the synthetic dataset.

  PYTHONPATH=. python scripts/make_contact_sheets.py [--n_style=2] [--per_row=10] [--size=64] [--out_dir=docs]

One row per domain (label on the left). Images are rendered at --size (64 by default, so the sheet is
legible) and scaled up 2x with nearest-neighbour, so the anti-aliased edges are what you see.
"""

import argparse
import os

from PIL import Image, ImageDraw

from dss_jax import images
from dss_jax.datasets import synthetic


def contact_sheet(variant, n_style=2, per_row=10, size=64, zoom=2, seed=0):
  data = synthetic.load_split(n_style, variant, 'test', per_domain=per_row, size=size, seed=seed)
  names = synthetic.domain_names(n_style, variant)
  k, cell, pad, label_w = len(names), size * zoom, 4, 90
  sheet = Image.new('RGB', (label_w + per_row * (cell + pad), k * (cell + pad) + pad), 'white')
  draw = ImageDraw.Draw(sheet)
  for d in range(k):
    domain_images = data['image'][data['label'] == d]
    y = pad + d * (cell + pad)
    draw.text((4, y + cell // 2 - 6), names[d], fill='black')
    for j, img in enumerate(domain_images[:per_row]):
      pil = Image.fromarray(images.to_uint8(img)).resize((cell, cell), Image.NEAREST)
      sheet.paste(pil, (label_w + j * (cell + pad), y))
  return sheet


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--n_style', type=int, default=2)
  parser.add_argument('--per_row', type=int, default=10)
  parser.add_argument('--size', type=int, default=64)
  parser.add_argument('--out_dir', default='docs')
  args = parser.parse_args()
  os.makedirs(args.out_dir, exist_ok=True)
  for variant in synthetic.VARIANTS:
    path = os.path.join(args.out_dir, f'synthetic_{variant}.png')
    contact_sheet(variant, args.n_style, args.per_row, args.size).save(path)
    print('wrote', path)


if __name__ == '__main__':
  main()

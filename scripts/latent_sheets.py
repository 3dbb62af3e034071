"""Latent-guided diversity side by side: real images of each domain, then each run's G(x, F(z, u)).

  PYTHONPATH=. python scripts/latent_sheets.py --runs=stargan_v2_sd2_seed0,dss_sd2_seed0,dss_flow_nll_sd2_seed0

One panel per run (plus one of real test images first): a row per domain, a column per z. Every run
translates the same source image with the same z draws, so columns are comparable across panels. A
panel whose rows are constant shows a mapping that collapsed: the generator paints one style per
domain whatever z is. Runs are read from --workdir/<run> (the benchmark's workdirs); the sheet is
written to --out.
"""

import argparse
import os

import numpy as np
from PIL import Image, ImageDraw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _to_pil(img, cell):
  from dss_jax import images
  return Image.fromarray(images.to_uint8(img)).resize((cell, cell), Image.NEAREST)


def _panel(rows, title, cell, pad):
  """rows: [K, n, H, W, 3] -> a PIL panel with its title above."""
  k, n = len(rows), len(rows[0])
  panel = Image.new('RGB', (n * (cell + pad) + pad, 18 + k * (cell + pad) + pad), 'white')
  ImageDraw.Draw(panel).text((pad, 3), title, fill='black')
  for i, row in enumerate(rows):
    for j, img in enumerate(row):
      panel.paste(_to_pil(img, cell), (pad + j * (cell + pad), 18 + pad + i * (cell + pad)))
  return panel


def latent_sheet(workdirs, titles, num_z=6, source_index=0, zoom=2, seed=0):
  from dss_jax import inference
  from dss_jax.datasets import registry
  translators = [inference.Translator.from_workdir(w) for w in workdirs]
  config = translators[0].config
  data = registry.arrays(config, 'test')
  x, y = np.asarray(data['image']), np.asarray(data['label'])
  k, cell, pad = config.num_domains, config.img_size * zoom, 3
  source = x[source_index:source_index + 1].repeat(num_z, 0)
  panels = [_panel([x[y == u][:num_z] for u in range(k)], 'real images', cell, pad)]
  for t, title in zip(translators, titles):
    z = np.random.default_rng(seed).standard_normal((num_z, t.z_dim)).astype(np.float32)
    panels.append(_panel([t.translate(source, u, z=z) for u in range(k)], title, cell, pad))
  names = registry.domain_names(config)
  label_w = 8 + 7 * max(len(n) for n in names)
  height = max(p.height for p in panels)
  src_w = cell + 2 * pad
  sheet = Image.new('RGB', (label_w + src_w + sum(p.width for p in panels) + 8 * len(panels), height), 'white')
  draw = ImageDraw.Draw(sheet)
  for u, name in enumerate(names):
    draw.text((4, 18 + pad + u * (cell + pad) + cell // 2 - 6), name, fill='black')
  draw.text((label_w, 3), 'source', fill='black')
  sheet.paste(_to_pil(x[source_index], cell), (label_w, 18 + pad))
  left = label_w + src_w
  for p in panels:
    sheet.paste(p, (left, 0))
    left += p.width + 8
  return sheet


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--runs', required=True, help='comma-separated run names under --workdir')
  parser.add_argument('--titles', default='', help='comma-separated panel titles (default: the run names)')
  parser.add_argument('--workdir', default=os.path.join(REPO, 'runs', 'benchmark'))
  parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'results', 'latent_diversity.png'))
  parser.add_argument('--num_z', type=int, default=6)
  parser.add_argument('--source_index', type=int, default=0)
  args = parser.parse_args()
  runs = args.runs.split(',')
  titles = args.titles.split(',') if args.titles else runs
  missing = [r for r in runs if not os.path.isdir(os.path.join(args.workdir, r, 'checkpoints'))]
  if missing:
    raise SystemExit(f'No checkpoints for {", ".join(missing)} under {args.workdir}: run '
                     'scripts/synthetic_benchmark.py for them first.')
  sheet = latent_sheet([os.path.join(args.workdir, r) for r in runs], titles, args.num_z, args.source_index)
  os.makedirs(os.path.dirname(args.out), exist_ok=True)
  sheet.save(args.out)
  print(f'wrote {args.out} ({sheet.width} x {sheet.height})')


if __name__ == '__main__':
  main()

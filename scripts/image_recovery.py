"""What an image model's style encoder reads, and what each slider moves across its whole range (issue 28, item 5).

  python scripts/image_recovery.py runs/benchmark/main_sd2_seed8101 [more runs ...] [--oracle_dir=runs/benchmark/oracle]

On the synthetic image data, whose content (shape, position, size, rotation) and style (hue, background, ...)
factors are known, per run:
  R2 style / content   held-out linear R^2, per domain, of the true style and of the true numeric content
                       (x, y, size; rotation as its cos and sin) from E's codes (dss_jax/metrics/recovery.py);
                       shape (categorical) as the accuracy of a per-domain nearest-centroid read of the codes;
  MCC shared           the style MCC with one permutation for all domains;
  per-slider purity    each style component (the editing page's sliders, moved in z for DSS, in the code's
                       std units for StarGAN v2) stepped over -3..3 from test references of every domain; the
                       oracle reads the true style of every output. Per slider and range (|v| <= 1, 1 < |v| <= 3):
                       the factor it moves most, that factor's share of all style change (1 = one factor alone,
                       1/n = evenly), and the content change per unit of style change.
Writes <run>/image_recovery.json and prints one table. The oracle is the benchmark's cached one (trained once).
"""

import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

VALUES = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
RANGES = {'inner': lambda a, b: max(abs(a), abs(b)) <= 1.0, 'outer': lambda a, b: max(abs(a), abs(b)) > 1.0}


def numeric_content(content):
  """[N, 5] (shape, x, y, size, rotation in [0, 1)) -> [N, 5] numeric columns: x, y, size, cos, sin of rotation."""
  angle = 2 * np.pi * content[:, 4]
  return np.stack([content[:, 1], content[:, 2], content[:, 3], np.cos(angle), np.sin(angle)], axis=1)


def shape_accuracy(codes, shapes, labels):
  """Per domain: fit class centroids of the codes on half, classify the other half; mean accuracy."""
  accs = []
  for u in np.unique(labels):
    c, s = codes[labels == u], shapes[labels == u]
    half = len(c) // 2
    classes = np.unique(s[:half])
    centroids = np.stack([c[:half][s[:half] == k].mean(0) for k in classes])
    pred = classes[np.argmin(((c[half:, None] - centroids[None]) ** 2).sum(-1), axis=1)]
    accs.append(float(np.mean(pred == s[half:])))
  return float(np.mean(accs))


def slider_purity(t, orc, x, y, style, *, per_domain=8, seed=0):
  """[{component, range, factor, share, content_per_style}] (module docstring)."""
  from dss_jax.metrics import oracle
  rng = np.random.default_rng(9000 + seed)
  k, n = t.config.num_domains, style.shape[1]
  changes = {}  # (component, range) -> [style change per factor [n], content change]
  for u in range(k):
    ref = x[rng.choice(np.nonzero(y == u)[0], per_domain)]
    src = x[rng.integers(0, len(x), per_domain)]
    std = np.maximum(style[y == u].std(0), 1e-6)
    for c in range(t.style_dim):
      outs = np.clip(t.traverse(src, u, c, list(VALUES), reference=ref), -1.0, 1.0)
      reads = [oracle.oracle_predict(orc, o) for o in outs]
      for i in range(len(VALUES) - 1):
        a, b = VALUES[i], VALUES[i + 1]
        ds = (np.abs(reads[i + 1]['style'] - reads[i]['style']) / std).sum(0)
        dc = float(np.abs(reads[i + 1]['content'][:, 1:4] - reads[i]['content'][:, 1:4]).sum())
        for name, inside in RANGES.items():
          if inside(a, b):
            acc = changes.setdefault((c, name), [np.zeros(n), 0.0])
            acc[0] += ds
            acc[1] += dc
  rows = []
  for (c, name), (ds, dc) in sorted(changes.items()):
    total = max(float(ds.sum()), 1e-12)
    rows.append({'component': c, 'range': name, 'factor': int(np.argmax(ds)), 'share': float(ds.max() / total),
                 'style_change': [float(v) for v in ds / (per_domain * k)], 'content_per_style': dc / total})
  return rows


def image_recovery(t, orc, data, *, seed=0, per_domain=8) -> dict:
  """Every figure of the module docstring for a translator t on the synthetic test split `data`."""
  from dss_jax.metrics import recovery
  x, y = np.asarray(data['image']), np.asarray(data['label'])
  content, style = np.asarray(data['content']), np.asarray(data['style'])
  codes = t.encode_style(x, y)
  out = recovery.recovery(style, numeric_content(content), codes, y)
  out['r2_content_factor'] = recovery.r2_from_codes(numeric_content(content), codes, y)['per_factor']
  out['r2_style_factor'] = recovery.r2_from_codes(style, codes, y)['per_factor']
  out['shape_from_codes'] = shape_accuracy(codes, content[:, 0].astype(int), y)
  out['sliders'] = slider_purity(t, orc, x, y, style, per_domain=per_domain, seed=seed)
  return out


def table(name, result, style_names):
  lines = [f'{name}: R2 style {result["r2_style"]:.2f} (' + ', '.join(
      f'{s} {v:.2f}' for s, v in zip(style_names, result['r2_style_factor'])) + f'), R2 content '
      f'{result["r2_content"]:.2f}, shape from codes {result["shape_from_codes"]:.2f}, MCC shared '
      f'{result["mcc_shared"]:.3f}', '', '| slider | range | moves most | share | content per style |',
      '|---|---|---|---|---|']
  for row in result['sliders']:
    lines.append(f'| {row["component"]} | {row["range"]} | {style_names[row["factor"]]} | {row["share"]:.2f} | '
                 f'{row["content_per_style"]:.2f} |')
  return '\n'.join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('runs', nargs='+', help='workdirs of synthetic image runs')
  parser.add_argument('--oracle_dir', default='', help='default: <the first run\'s parent>/oracle')
  parser.add_argument('--per_domain', type=int, default=8, help='references per domain for the sliders')
  args = parser.parse_args()
  from dss_jax import inference
  from dss_jax.datasets import registry, synthetic
  from dss_jax.metrics import oracle
  for run in args.runs:
    t = inference.Translator.from_workdir(run)
    config = t.config
    if config.dataset != 'synthetic':
      raise SystemExit(f'{run} trained on {config.dataset!r}: this tool needs the synthetic data, whose factors are '
                       'known.')
    orc = oracle.get_oracle(args.oracle_dir or os.path.join(os.path.dirname(os.path.abspath(run)), 'oracle'),
                            config.synthetic.n_style, registry.synthetic_variant(config), config.img_size,
                            per_domain=config.synthetic.get('oracle_per_domain', 2000),
                            steps=config.synthetic.get('oracle_steps', 1500))
    result = image_recovery(t, orc, registry.arrays(config, 'test'), per_domain=args.per_domain)
    with open(os.path.join(run, 'image_recovery.json'), 'w') as f:
      json.dump(result, f, indent=1)
    print(table(os.path.basename(os.path.normpath(run)), result, synthetic.STYLE_NAMES), flush=True)


if __name__ == '__main__':
  main()

"""Can the synthetic image benchmark's domains identify its style components at all? The likelihood ceiling on
its style distribution.

  python scripts/image_style_ceiling.py                     # rows image_style and wide_k15, seeds 1-3
  python scripts/image_style_ceiling.py --rows=image_style --seeds=1,2,3,4,5
  python scripts/image_style_ceiling.py --table_only

On the image benchmark (dss_jax/datasets/synthetic.py, style_domains, n = 2) the main job's style encoder reads
the style plane (R2 0.88, content -0.03 on test seed 8101) but its components are mixed (shared MCC 0.67, each
slider moves both factors about evenly). Benchmark v2 showed that such a result can belong to the data, not the
method: with few domains whose spreads differ little, even the exact-likelihood estimator finds the plane and
not the axes. This script asks the same of the image benchmark, without images: vectors x = mix([c, s]) with
the image data's own p(s | u) (logit(s_i) ~ N(loc[u, i], scale[u, i]^2), `synthetic.style_distribution`: K = 5,
locations in [-1.6, 1.6], scales in [0.3, 0.75]), 2 Gaussian content components and benchmark v3's mixing
(3 leaky-ReLU layers of slope 0.2, drawn by the seed), fitted by the shipped ceiling (`dss_jax/ceiling.py`,
exact likelihood, the component-wise flow prior) and scored with the same columns as v3.

Rows (same mixing per seed):
  image_style   the image benchmark's p(s | u)
  wide_k15      n = 2 with v3's variation (K = 15, locations U(-2, 2), scales log-U(0.2, 2)): what a benchmark
                that can decide looks like at n = 2
and the floor: the true style turned at random inside its plane (`recovery.rotated_style`).

A diagnostic of the benchmark's data (no DSS run, no test seed): each fit writes
docs/results/image_style_ceiling/<row>_seed<k>.json as it finishes; the table (RESULTS.md there) is rebuilt from
what is present.
"""

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
OUT = os.path.join(REPO, 'docs', 'results', 'image_style_ceiling')
ROWS = ('image_style', 'wide_k15')
TEST_PER_DOMAIN = 2000


def make_data(row: str, seed: int):
  """The row's vector data (a `VectorDataV3`, so `ceiling.fit` and `log_prob_x` apply unchanged)."""
  from dss_jax.datasets import synthetic, vector, vector_v3
  rng = np.random.default_rng(50_000 + seed)
  n_style, n_content = 2, 2
  weights = tuple((vector._well_conditioned(rng, n_style + n_content), rng.uniform(-0.3, 0.3, n_style + n_content))
                  for _ in range(vector_v3.MIX_LAYERS))
  if row == 'image_style':
    loc, scale = (np.array(a) for a in synthetic.style_distribution(n_style))
  elif row == 'wide_k15':
    loc = rng.uniform(-vector_v3.LOC_RANGE, vector_v3.LOC_RANGE, (vector_v3.NUM_DOMAINS, n_style))
    scale = np.exp(rng.uniform(*np.log(vector_v3.SCALE_RANGE), (vector_v3.NUM_DOMAINS, n_style)))
  else:
    raise SystemExit(f'Unknown row {row!r}; choose from {", ".join(ROWS)}.')
  return vector_v3.VectorDataV3(n_style, n_content, len(loc), 'full', loc, scale, weights, row)


def run_one(row: str, seed: int) -> dict:
  from dss_jax import ceiling
  from dss_jax.metrics import recovery
  data = make_data(row, seed)
  fitted = ceiling.fit(data, seed=seed)
  t = ceiling.Translator(fitted)
  rng = np.random.default_rng(70_000 + seed)
  labels = np.repeat(np.arange(data.num_domains), TEST_PER_DOMAIN)
  test = data.sample(rng, len(labels), labels)
  codes = t.encode_style(test['x'], test['label'])
  out = recovery.recovery(test['style'], test['content'], codes, test['label'])
  per_domain = [recovery.mcc_shared(test['style'][test['label'] == u], codes[test['label'] == u],
                                    test['label'][test['label'] == u])['mcc'] for u in range(data.num_domains)]
  floor = recovery.rotated_style(test['style'], test['label'], seed)
  return {'row': row, 'seed': seed, 'num_domains': data.num_domains, **out,
          'mcc_per_domain': float(np.mean(per_domain)),
          'nll': fitted.nll, 'true_nll': fitted.true_nll, 'fit_seconds': fitted.seconds,
          'floor_rotated_style_mcc_shared': recovery.mcc_shared(test['style'], floor, test['label'])['mcc']}


def mean_sd(values, fmt='.2f'):
  """mean ± sd (the value alone for one; a dash where any is missing, nan)."""
  v = np.asarray(values, float)
  if np.isnan(v).any():
    return '–'
  return f'{v.mean():{fmt}} ± {v.std(ddof=1):{fmt}}' if len(v) > 1 else f'{v[0]:{fmt}}'


def summary(results) -> list:
  """The summary table's lines (also in docs/results.md's image recovery section): mean ± sd per row."""
  lines = ['| row | K | seeds | MCC shared | MCC per domain | R2 style | R2 content | rotation left (deg) | '
           'nll gap | floor: rotated true style |', '|---|---|---|---|---|---|---|---|---|---|']
  for row in ROWS:
    rs = sorted((r for r in results if r['row'] == row), key=lambda r: r['seed'])
    if rs:
      lines.append(f'| {row} | {rs[0]["num_domains"]} | {", ".join(str(r["seed"]) for r in rs)} | '
                   f'{mean_sd([r["mcc_shared"] for r in rs], ".3f")} | '
                   f'{mean_sd([r["mcc_per_domain"] for r in rs], ".3f")} | '
                   f'{mean_sd([r["r2_style"] for r in rs])} | {mean_sd([r["r2_content"] for r in rs])} | '
                   f'{mean_sd([r["rotation_deg"] for r in rs], ".0f")} | '
                   f'{mean_sd([r["nll"] - r["true_nll"] for r in rs], ".3f")}'
                   f' | {mean_sd([r["floor_rotated_style_mcc_shared"] for r in rs], ".3f")} |')
  return lines


def table(results) -> str:
  lines = ['# The likelihood ceiling on the image benchmark\'s style distribution', '',
           'Built by `python scripts/image_style_ceiling.py` (its docstring says what each row is). Per row: mean ± sd '
           'over mixing seeds; nll gap: the fit\'s held-out -log p(x | u) minus the true model\'s (nats; 0 = exact).',
           '', *summary(results)]
  lines += ['', 'Per fit:', '', '| row | seed | MCC shared | rotation left (deg) | nll gap | fit s |',
            '|---|---|---|---|---|---|']
  for r in sorted(results, key=lambda r: (ROWS.index(r['row']), r['seed'])):
    lines.append(f'| {r["row"]} | {r["seed"]} | {r["mcc_shared"]:.3f} | {r["rotation_deg"]:.0f} | '
                 f'{r["nll"] - r["true_nll"]:.3f} | {r["fit_seconds"]:.0f} |')
  return '\n'.join(lines) + '\n'


def load(folder=OUT) -> list:
  """Every JSON of `folder`, in file-name order (also image_recovery's recorded runs)."""
  results = []
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    with open(path) as f:
      results.append(json.load(f))
  return results


def write_table():
  text = table(load())
  with open(os.path.join(OUT, 'RESULTS.md'), 'w') as f:
    f.write(text)
  print(text, flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--rows', default=','.join(ROWS))
  parser.add_argument('--seeds', default='1,2,3')
  parser.add_argument('--table_only', action='store_true')
  args = parser.parse_args()
  os.makedirs(OUT, exist_ok=True)
  if not args.table_only:
    sys.path.insert(0, os.path.join(REPO, 'scripts'))
    import provenance
    for seed in [int(s) for s in args.seeds.split(',') if s]:
      for row in args.rows.split(','):
        path = os.path.join(OUT, f'{row}_seed{seed}.json')
        if os.path.exists(path):
          continue
        print(f'[{time.strftime("%H:%M:%S")}] {row} seed {seed}: fitting the ceiling ...', flush=True)
        files = ['dss_jax/ceiling.py', 'dss_jax/models/likelihood.py', 'dss_jax/datasets/vector_v3.py',
                 'dss_jax/metrics/recovery.py', 'scripts/image_style_ceiling.py']
        result = {**run_one(row, seed), **provenance.stamp(files)}
        with open(path, 'w') as f:
          json.dump(result, f, indent=1)
        print(f'[{time.strftime("%H:%M:%S")}] {row} seed {seed}: MCC shared {result["mcc_shared"]:.3f}, rotation '
              f'{result["rotation_deg"]:.0f} deg, nll gap {result["nll"] - result["true_nll"]:.3f}', flush=True)
  write_table()


if __name__ == '__main__':
  main()

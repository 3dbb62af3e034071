"""What benchmark v3's generator does with its source, and what E's codes are a function of (dev seeds only).

  python scripts/vector_v3_probe.py --rows=dss,dss+lambda_cyc=10 --seeds=0,1,2
  python scripts/vector_v3_probe.py --table          # rebuild docs/results/vector_v3_probe.md

The benchmark's columns are linear (R2 of the true factors from E's codes, content kept by translation). A
translation can keep its source in a bent form that a linear read misses, and E's codes can be a bent function
of the style alone, so this probe asks the same questions with a nonlinear regressor (15 nearest neighbours,
fitted on one half of the vectors, R2 on the other, averaged over the factor's components; the domain is one
more input where it is known). Per run:

  source content kept    the source's true content, read from the translation G(x, F(z, u)) and u
  source style kept      the source's true style, read the same way (a translation should drop it)
  painted style from s   the translation's true style, read from the target code s = F(z, u) and u
  E from style           E's codes, read from the true style and u (1: the codes are a function of the style)
  E from content         E's codes, read from the true content (0: no content in the codes)
  style from E           the true style, read from E's codes and u (1: nothing of the style lost)
  content from E         the true content, read from E's codes and u (the benchmark's R2 content, bent:
                         content can sit in a direction of the codes too small to count in `E from content`)

Each run writes docs/results/vector_v3/probe/<row>_seed<k>.json as it finishes (its commit and whether the tree
was clean). A dev diagnostic: it trains rows as vector_benchmark_v3.py does, and refuses the test seeds.
"""

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import provenance
import vector_benchmark as v2
import vector_benchmark_v3 as v3

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'docs', 'results', 'vector_v3', 'probe')
TABLE = os.path.join(REPO, 'docs', 'results', 'vector_v3_probe.md')
PER_DOMAIN = 200  # Vectors per domain (K = 15: 3,000, half to fit, half to score).
NEIGHBOURS = 15
COLUMNS = [('source_content_kept', 'source content kept'), ('source_style_kept', 'source style kept'),
           ('painted_from_s', 'painted style from s'), ('codes_from_style', 'E from style'),
           ('codes_from_content', 'E from content'), ('style_from_codes', 'style from E'),
           ('content_from_codes', 'content from E')]


def knn_r2(inputs, target) -> float:
  """Held-out R2 of target [N, d] from inputs [N, m] by nearest neighbours, averaged over the d components."""
  from sklearn.neighbors import KNeighborsRegressor
  half = len(inputs) // 2
  fit = KNeighborsRegressor(NEIGHBOURS).fit(inputs[:half], target[:half])
  residual = target[half:] - fit.predict(inputs[half:])
  spread = target[half:] - target[half:].mean(0)
  return float(np.mean(1 - (residual ** 2).sum(0) / (spread ** 2).sum(0)))


def probe(model, data, seed) -> dict:
  """The figures of the module docstring for a trained vector model on one seed's data."""
  rng = np.random.default_rng(8000 + seed)
  labels = np.tile(np.arange(data.num_domains), PER_DOMAIN).astype(np.int32)  # Interleaved: both halves see every u.
  domain = 3.0 * np.eye(data.num_domains)[labels]  # Scaled so that the neighbours stay within the domain.
  src = data.sample(rng, len(labels))
  s = model.map(rng.standard_normal((len(labels), model.z_dim)).astype(np.float32), labels)
  out = model.generate(src['x'], s)
  painted = data.unmix(out)[1]
  ref = data.sample(rng, len(labels), labels)
  codes = model.style(ref['x'], labels)
  with_u = lambda v: np.concatenate([v, domain], axis=1)
  return {'source_content_kept': knn_r2(with_u(out), src['content']),
          'source_style_kept': knn_r2(with_u(out), src['style']),
          'painted_from_s': knn_r2(with_u(s), painted),
          'codes_from_style': knn_r2(with_u(ref['style']), codes),
          'codes_from_content': knn_r2(ref['content'], codes),
          'style_from_codes': knn_r2(with_u(codes), ref['style']),
          'content_from_codes': knn_r2(with_u(codes), ref['content'])}


def run(rows, seeds, steps):
  from dss_jax.metrics import vector_eval
  stamp = provenance.stamp(v3.FILES)
  for row in rows:
    config, nets, fit = v3.trainer(row, steps)
    name = row if steps == 3000 else f'{row}+steps={steps}'
    for seed in seeds:
      path = os.path.join(OUT, f'{name}_seed{seed}.json')
      if os.path.exists(path):
        continue
      ema, skipped, train_s, data = fit('main', seed)
      result = probe(vector_eval.model_from_params(nets, ema), data, seed)
      result.update(row=name, seed=seed, steps=steps, non_finite_steps=skipped, train_seconds=train_s, **stamp)
      v2._write_json(path, result)
      print(f'[{time.strftime("%H:%M:%S")}] {name} seed {seed}: '
            + ', '.join(f'{header} {result[key]:.2f}' for key, header in COLUMNS), flush=True)


def table() -> str:
  runs = {}
  for path in sorted(glob.glob(os.path.join(OUT, '*.json'))):
    with open(path) as f:
      r = json.load(f)
    runs.setdefault(r['row'], []).append(r)
  lines = ['# Benchmark v3: what the generator keeps of its source, what E\'s codes are a function of (dev seeds)', '',
           f'Built by `scripts/vector_v3_probe.py --table` from `vector_v3/probe/`; the columns are defined in the '
           f'script\'s docstring (nonlinear, held-out R2 from {NEIGHBOURS} nearest neighbours; mean ± sd over seeds). '
           'Dev seeds: a diagnosis, not a claim. A row marked stale was trained by other code than today\'s.', '',
           '| row | seeds | ' + ' | '.join(h for _, h in COLUMNS) + ' |', '|---|---|' + '---|' * len(COLUMNS)]
  for row, rs in sorted(runs.items(), key=lambda kv: (len(kv[0]), kv[0])):
    stale = '' if all(provenance.is_current(r, v3.FILES) for r in rs) else ' (stale)'
    cells = [f'{np.mean([r[k] for r in rs]):.2f} ± {np.std([r[k] for r in rs]):.2f}' for k, _ in COLUMNS]
    lines.append(f'| {row}{stale} | {", ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"]))} | '
                 + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--rows', default='dss')
  parser.add_argument('--seeds', default='0,1,2')
  parser.add_argument('--steps', type=int, default=3000)
  parser.add_argument('--table', action='store_true')
  args = parser.parse_args()
  if not args.table:
    seeds = [int(s) for s in args.seeds.split(',')]
    if set(seeds) & set(v3.TEST_SEEDS):
      raise SystemExit('The probe is a dev diagnostic: it does not run on the test seeds.')
    run(args.rows.split(','), seeds, args.steps)
  with open(TABLE, 'w') as f:
    f.write(table())
  print(f'Wrote {os.path.relpath(TABLE, REPO)}.')


if __name__ == '__main__':
  sys.exit(main())

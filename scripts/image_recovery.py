"""What an image model's style encoder reads, and what each slider moves across its whole range (issue 28, item 5).

  python scripts/image_recovery.py runs/benchmark/main_sd2_seed8101 [more runs ...] [--oracle_dir=runs/benchmark/oracle]
  python scripts/image_recovery.py --record runs/benchmark/main_sd2_seed8101 ...   # + keep it in docs/results
  python scripts/image_recovery.py --table     # rebuild docs/results/image_test/RECOVERY.md and docs/results.md's
                                               # section from docs/results/image_test/recovery/*.json

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

--record (test runs of scripts/synthetic_benchmark.py) also keeps the figures in docs/results/image_test/recovery/
<run>.json, with the run's provenance (its benchmark JSON's commit and dirty flag, from --results) and the same
figures for an untrained encoder of the same configuration and seed (the floor of R2 and MCC); a run whose
image_recovery.json exists is not measured again. --table builds the tables from those files: per run, then per
configuration (mean and sd over seeds) and the paired difference of the main job and :stargan_v2 (t interval).
"""

import argparse
import json
import os
import sys

import image_style_ceiling
import numpy as np
import vector_benchmark
from image_style_ceiling import mean_sd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

RECORDS = os.path.join(REPO, 'docs', 'results', 'image_test', 'recovery')
TABLE = os.path.join(REPO, 'docs', 'results', 'image_test', 'RECOVERY.md')
PAGE = os.path.join(REPO, 'docs', 'results.md')
HEADING = '## Images: what the style encoder reads and what each slider moves (test seeds)'
BEFORE = '## Dev-seed record (chose the recipes; not evidence)'
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


def untrained(config, data) -> dict:
  """R2 style / content, shape from codes and shared MCC of an untrained style encoder (same config and seed)."""
  import jax

  from dss_jax import inference, models, state
  from dss_jax.metrics import recovery
  params = state.ema_trees(state.group(jax.jit(models.build(config).init)(jax.random.key(int(config.seed)))))
  t = inference.Translator(config, params)
  x, y = np.asarray(data['image']), np.asarray(data['label'])
  content = np.asarray(data['content'])
  codes = t.encode_style(x, y)
  out = recovery.recovery(np.asarray(data['style']), numeric_content(content), codes, y)
  out['shape_from_codes'] = shape_accuracy(codes, content[:, 0].astype(int), y)
  return out


def record(run, result, results_dir, config, data) -> str:
  """docs/results/image_test/recovery/<run>.json: the figures, the untrained floor and the run's provenance."""
  name = os.path.basename(os.path.normpath(run))
  bench_json = os.path.join(results_dir, name + '.json')
  if not os.path.exists(bench_json):
    raise SystemExit(f'{bench_json} is missing: --record keeps test runs of scripts/synthetic_benchmark.py, whose '
                     'JSON says which commit trained them (give its folder with --results).')
  with open(bench_json) as f:
    bench = json.load(f)
  out = {'run': name, 'configuration': bench['configuration'], 'seed': bench['seed'], 'steps': bench['steps'],
         'commit': bench['commit'], 'dirty': bench['dirty'], **result, 'untrained': untrained(config, data)}
  os.makedirs(RECORDS, exist_ok=True)
  path = os.path.join(RECORDS, name + '.json')
  with open(path, 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
  return path


def _sliders(record_, style_names):
  """Per component over -3..3: (factor it moves most, its share, share inside |v| <= 1, share beyond)."""
  change, inner, outer = {}, {}, {}
  for row in record_['sliders']:
    c = row['component']
    change[c] = change.get(c, 0) + np.asarray(row['style_change'])
    (inner if row['range'] == 'inner' else outer)[c] = row['share']
  return [(style_names[int(np.argmax(change[c]))], float(change[c].max() / max(change[c].sum(), 1e-12)), inner[c],
           outer[c]) for c in sorted(change)]


def _rotation(r) -> float:
  """The rotation column (nan when the codes have more components than the data has factors)."""
  return float(r.get('rotation_deg', np.nan))


def _paired(a, b):
  """Mean of a - b and its 95% t interval (vector_benchmark.paired_interval)."""
  d = np.asarray(a, float) - np.asarray(b, float)
  if np.isnan(d).any():
    return '–'
  if len(d) < 2:
    return f'{d.mean():+.2f} (one seed)'
  m, lo, hi, _ = vector_benchmark.paired_interval(d)
  return f'{m:+.2f} [{lo:+.2f}, {hi:+.2f}]'


def load_records(folder=RECORDS) -> list:
  return image_style_ceiling.load(folder)


def recovery_tables(records, style_names=('hue', 'background')) -> str:
  """The markdown of docs/results/image_test/RECOVERY.md and of docs/results.md's section (without heading)."""
  if not records:
    return 'No run recorded yet (python scripts/image_recovery.py --record RUN ...).\n'
  names = {'main': "main (README's main job)", 'stargan_v2': ':stargan_v2'}
  lines = ['Per run: R2 of the true style and content (x, y, size, cos and sin of the rotation) from E\'s codes, '
           'held out, per domain; shape read from the codes (nearest class centroid; chance 0.2); the style MCC with '
           'one permutation for all domains; rotation: the largest angle between the codes\' axes and the nearest '
           'signed permutation of the true ones, after standardising each domain (0 = the true axes, 45 = as far '
           'as two axes can be; a random turn of the plane leaves 22.5 on average, so at n = 2 an MCC near 0.9 can '
           'still be a turned plane; it means something only where R2 style is high, so no untrained figure is '
           'given for it); in brackets an untrained encoder of the same configuration and seed. '
           'Sliders: the factor each style component moves most over -3..3 (the editing page\'s whole range) and '
           'that factor\'s share of all style change the oracle reads (1 = one factor alone, 0.5 = both evenly), '
           'inside |v| <= 1 / beyond.', '',
           '| run | commit | R2 style | ' + ' | '.join(f'R2 {s}' for s in style_names) +
           ' | R2 content | shape from codes | MCC shared | rotation (deg) | slider 0 | slider 1 |',
           '|---|---|---|' + '---|' * len(style_names) + '---|---|---|---|---|---|']
  for r in records:
    u = r['untrained']
    sl = _sliders(r, style_names)
    lines.append(f'| {r["run"]} | {r["commit"][:7]}{" (dirty)" if r["dirty"] else ""} | {r["r2_style"]:.2f} '
                 f'({u["r2_style"]:.2f}) | ' + ' | '.join(f'{v:.2f}' for v in r['r2_style_factor']) +
                 f' | {r["r2_content"]:.2f} ({u["r2_content"]:.2f}) | {r["shape_from_codes"]:.2f} '
                 f'({u["shape_from_codes"]:.2f}) | {r["mcc_shared"]:.3f} ({u["mcc_shared"]:.3f}) | '
                 f'{mean_sd([_rotation(r)], ".0f")} | ' +
                 ' | '.join(f'{f} {s:.2f} ({i:.2f} / {o:.2f})' for f, s, i, o in sl[:2]) + ' |')
  by = {}
  for r in records:
    by.setdefault(r['configuration'], {})[r['seed']] = r
  lines += ['', 'Per configuration, mean ± sd over seeds (untrained encoder in brackets); slider share: the mean '
            'over components of the share of the factor each moves most; distinct: runs whose sliders move '
            'different factors (one slider per factor).', '',
            '| configuration | seeds | R2 style | R2 content | shape from codes | MCC shared | rotation (deg) | '
            'slider share (inner / outer) | distinct |', '|---|---|---|---|---|---|---|---|---|']
  for config_name in sorted(by, key=lambda c: (c != 'main', c)):
    rs = [by[config_name][s] for s in sorted(by[config_name])]
    sls = [_sliders(r, style_names) for r in rs]
    distinct = sum(len({f for f, *_ in sl}) == len(sl) for sl in sls)
    lines.append(f'| {names.get(config_name, config_name)} | {", ".join(str(r["seed"]) for r in rs)} | '
                 f'{mean_sd([r["r2_style"] for r in rs])} ({mean_sd([r["untrained"]["r2_style"] for r in rs])}) | '
                 f'{mean_sd([r["r2_content"] for r in rs])} ({mean_sd([r["untrained"]["r2_content"] for r in rs])})'
                 f' | {mean_sd([r["shape_from_codes"] for r in rs])} | '
                 f'{mean_sd([r["mcc_shared"] for r in rs], ".3f")}'
                 f' | {mean_sd([_rotation(r) for r in rs], ".0f")}'
                 f' | {mean_sd([np.mean([s for _, s, _, _ in sl]) for sl in sls])} '
                 f'({np.mean([np.mean([i for *_, i, _ in sl]) for sl in sls]):.2f} / '
                 f'{np.mean([np.mean([o for *_, o in sl]) for sl in sls]):.2f}) | {distinct} of {len(rs)} |')
  if 'main' in by and 'stargan_v2' in by:
    seeds = sorted(set(by['main']) & set(by['stargan_v2']))
    a, b = [by['main'][s] for s in seeds], [by['stargan_v2'][s] for s in seeds]
    share = lambda r: np.mean([s for _, s, _, _ in _sliders(r, style_names)])  # noqa: E731
    lines += ['', f'Main job minus :stargan_v2, paired by seed ({len(seeds)} seed{"s" * (len(seeds) > 1)}: '
              f'{", ".join(map(str, seeds))}; '
              '95% t interval; 6 figures compared, no correction):', '',
              '| R2 style | R2 content | shape from codes | MCC shared | rotation (deg) | slider share |',
              '|---|---|---|---|---|---|',
              '| ' + ' | '.join(_paired([f(r) for r in a], [f(r) for r in b]) for f in (
                  lambda r: r['r2_style'], lambda r: r['r2_content'], lambda r: r['shape_from_codes'],
                  lambda r: r['mcc_shared'], _rotation, share)) + ' |']
  return '\n'.join(lines) + '\n'


def splice(text, section, before=BEFORE):
  """docs/results.md's text with the section under HEADING replaced (when absent: inserted before the heading
  `before`, or appended)."""
  block = HEADING + '\n\n' + section + '\n'
  if HEADING + '\n' not in text:
    if before + '\n' in text:
      at = text.index(before + '\n')
      return text[:at] + block + text[at:]
    return text.rstrip('\n') + '\n\n' + block.rstrip('\n') + '\n'
  start = text.index(HEADING + '\n')
  nxt = text.find('\n## ', start + len(HEADING))
  if nxt < 0:
    return text[:start] + block.rstrip('\n') + '\n'
  return text[:start] + block + text[nxt + 1:]


def ceiling_lines() -> list:
  """The likelihood ceiling on this benchmark's style distribution (scripts/image_style_ceiling.py), when run."""
  results = image_style_ceiling.load()
  if not results:
    return []
  return ['', "Can this benchmark's domains identify the components at all? The likelihood ceiling "
          '(`dss_jax/ceiling.py`) on vectors that carry the image data\'s own p(s | u) (K = 5) under benchmark v3\'s '
          'mixing, beside n = 2 with v3\'s wide variation (K = 15); a diagnostic of the data, on mixing seeds, no test '
          'seed (`python scripts/image_style_ceiling.py`; [its page](results/image_style_ceiling/RESULTS.md)). '
          'Read the rotation: the floor is one random turn per seed, which at n = 2 scores anywhere from 0.7 to '
          '1.0.', '',
          *image_style_ceiling.summary(results)]


def section() -> str:
  """docs/results.md's section (without its heading) and RECOVERY.md's body, from the stored JSONs."""
  return recovery_tables(load_records()).rstrip('\n') + '\n'.join([''] + ceiling_lines()) + '\n'


def write_tables():
  section_ = section()

  with open(TABLE, 'w') as f:
    f.write('# ' + HEADING[3:] + '\n\nGenerated by `python scripts/image_recovery.py --table` from recovery/*.json.\n\n'
            + section_)
  with open(PAGE) as f:
    text = f.read()
  with open(PAGE, 'w') as f:
    f.write(splice(text, section_).rstrip('\n') + '\n')
  print(section_)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('runs', nargs='*', help='workdirs of synthetic image runs')
  parser.add_argument('--record', action='store_true', help='keep the figures in docs/results/image_test/recovery')
  parser.add_argument('--results', default=os.path.join(REPO, 'docs', 'results', 'image_test'),
                      help="the folder of the runs' benchmark JSONs (--record)")
  parser.add_argument('--table', action='store_true', help='rebuild the tables from the recorded runs')
  parser.add_argument('--oracle_dir', default='', help='default: <the first run\'s parent>/oracle')
  parser.add_argument('--per_domain', type=int, default=8, help='references per domain for the sliders')
  args = parser.parse_args()
  if args.table and not args.runs:
    return write_tables()
  if not args.runs:
    parser.error('give the workdirs of synthetic image runs (or --table)')
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
    data = registry.arrays(config, 'test')
    path = os.path.join(run, 'image_recovery.json')
    if args.record and os.path.exists(path):  # Measured before: keep it (the sliders take minutes).
      with open(path) as f:
        result = json.load(f)
    else:
      result = image_recovery(t, orc, data, per_domain=args.per_domain)
      with open(path, 'w') as f:
        json.dump(result, f, indent=1)
    if args.record:
      print(f'Recorded {os.path.relpath(record(run, result, args.results, config, data), REPO)}.', flush=True)
    print(table(os.path.basename(os.path.normpath(run)), result, synthetic.STYLE_NAMES), flush=True)
  if args.table:
    write_tables()


if __name__ == '__main__':
  main()

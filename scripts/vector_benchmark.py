"""Benchmark v2 on vector data: does DSS identify the style components where the theorem says it should?

  python scripts/vector_benchmark.py                                   # every missing run, then the tables
  python scripts/vector_benchmark.py --settings=main --configs=dss,stargan_v2 --seeds=0,1,2,3,4
  python scripts/vector_benchmark.py --table_only

Data: configs/vector.py (x = a fixed random invertible nonlinear mixing of 2 content and n = 2 style
components, style_dim = n). Settings:
  main           K = 2n+1 domains, loc and scale vary: the theorem's sufficient variation holds
  few_domains    K = n+1 < 2n+1 domains (negative control: too few domains)
  location_only  K = 2n+1 domains with equal scales (negative control: the variation condition fails)
Configurations are config arguments (configs/default.py VARIANTS). Seeds are paired: seed k fixes the data
(mixing and style distributions) and the initialisation for every configuration. Each run writes
docs/results/vector/<setting>/<config>_seed<k>.json as it finishes (with the commit it was trained with and
whether the tree was clean); the tables (docs/results/vector.md) hold mean ± std and paired bootstrap 95 %
intervals of each configuration's difference from StarGAN v2. Runs from another commit's training code are
flagged in the table.
"""

import argparse
import json
import os
import sys
import time

import provenance

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

SETTINGS = {'main': dict(variant='full', num_domains=None), 'few_domains': dict(variant='full', num_domains=3),
            'location_only': dict(variant='location_only', num_domains=None)}
CONFIGS = ['stargan_v2', 'stargan_v2_smooth', 'stargan_v2_uni', 'flow', 'flow_uni', 'dss', 'dss_uni_both',
           'dss_flow_nll', 'dss_anchored', 'dss_sty_z']  # (+ dss_sty_z with --set flow.affine_init=1.0
                                                          # --tag=anchored: the session-4 first image default)
CHUNK = 100  # Iterations per compiled call (steps must be a multiple).
# (metric, header, higher is better)
COLUMNS = [('mcc', 'MCC', True), ('latent_mcc', 'latent MCC', True), ('uni_gap', 'uni gap', False),
           ('style_w1', 'style W1', False), ('spread_error', 'spread err', False),
           ('ref_spearman_min', 'ref rho min', True), ('content_r2', 'content R2', True),
           ('edit_purity', 'edit purity', True)]
def make_config(config_name, setting, steps, overrides=()):
  from configs import vector
  config = vector.get_config(config_name)
  for item in overrides:  # 'key=value' (dotted keys), parsed as the key's current type.
    key, value = item.split('=', 1)
    *parents, leaf = key.split('.')
    node = config
    for p in parents:
      node = node[p]
    node[leaf] = type(node[leaf])(value)
  spec = SETTINGS[setting]
  config.vector.variant = spec['variant']
  if spec['num_domains']:
    config.num_domains = spec['num_domains']
  config.total_iters = steps
  config.ds_iter = steps
  return config


def train_seeds(config_name, setting, seeds, steps, out_dir, overrides=(), tag=''):
  """Trains one configuration on every seed with one compiled step; writes each run's JSON as it finishes."""
  import functools

  import jax
  import numpy as np

  from dss_jax import models, train_step
  from dss_jax import state as state_lib
  from dss_jax.datasets import vector
  from dss_jax.metrics import vector_eval
  config = make_config(config_name, setting, steps, overrides)
  label = config_name + (f'+{tag}' if tag else '')
  nets = models.build(config)
  step = functools.partial(train_step.train_step, config=config, nets=nets)

  @jax.jit
  def run_chunk(state, batches, rng):  # CHUNK iterations in one call: the step is tiny, dispatch would dominate.
    def body(s, batch):
      s, metrics = step(s, batch, rng)
      return s, metrics['finite']
    return jax.lax.scan(body, state, batches)

  stamp = provenance.stamp(provenance.VECTOR)
  for seed in seeds:
    path = os.path.join(out_dir, setting, f'{label}_seed{seed}.json')
    if os.path.exists(path):
      continue
    t0 = time.time()
    data = vector.make(config.vector.n_style, config.vector.n_content, config.num_domains, config.vector.variant, seed)
    init_rng, step_rng = jax.random.split(jax.random.key(seed))
    state = jax.jit(functools.partial(state_lib.init_state, config, nets))(init_rng)
    batches, skipped = data.batches(config.batch_size, seed), 0
    for _ in range(steps // CHUNK):
      chunk = [next(batches) for _ in range(CHUNK)]
      state, finite = run_chunk(state, {k: np.stack([b[k] for b in chunk]) for k in chunk[0]}, step_rng)
      skipped += int(CHUNK - np.sum(finite))
    train_s = time.time() - t0
    result = vector_eval.evaluate_vector(nets, jax.device_get(state.ema), data, config=config, seed=seed)
    result.update(configuration=label, overrides=list(overrides), setting=setting, seed=seed, steps=steps,
                  non_finite_steps=skipped, train_seconds=train_s, wall_seconds=time.time() - t0, **stamp,
                  num_domains=config.num_domains, variant=config.vector.variant)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
      json.dump(result, f, indent=1, default=float)
    print(f'[{time.strftime("%H:%M:%S")}] {setting}/{label} seed {seed}: MCC {result["mcc"]:.3f}, latent MCC '
          f'{result["latent_mcc"]:.3f}, uni gap {result["uni_gap"]:.3f}, {train_s:.0f} s', flush=True)


def _bootstrap_means(values, rng, n_boot):
  """[n_boot] means of `values` resampled with replacement."""
  import numpy as np
  v = np.asarray(values, np.float64)
  return v[rng.integers(0, len(v), (n_boot, len(v)))].mean(1)


def _interval(estimate, boot):
  import numpy as np
  return float(estimate), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def paired_interval(diffs, n_boot=10_000, seed=0):
  """Mean of paired differences and its bootstrap 95 % interval."""
  import numpy as np
  return _interval(np.mean(diffs), _bootstrap_means(diffs, np.random.default_rng(seed), n_boot))


def shift_interval(control, main, n_boot=10_000, seed=0):
  """Mean of `control` minus mean of `main` and its bootstrap 95 % interval (the two resampled independently:
  the settings' data differ, so their seeds are not pairs)."""
  import numpy as np
  rng = np.random.default_rng(seed)
  boot = _bootstrap_means(control, rng, n_boot) - _bootstrap_means(main, rng, n_boot)
  return _interval(np.mean(control) - np.mean(main), boot)


def controls_table(out_dir, baseline='stargan_v2', keys=('mcc', 'uni_gap')):
  """Does a configuration's advantage over the baseline shrink under the negative controls, as the theorem says?

  Per configuration and control setting: (its paired difference from the baseline in the control) minus (the
  same in main), with an interval; **bold** where the advantage shrinks decisively."""
  main = load(out_dir, 'main')
  controls = [s for s in SETTINGS if s != 'main' and os.path.isdir(os.path.join(out_dir, s))]
  if baseline not in main or not controls:
    return ''
  columns = [c for c in COLUMNS if c[0] in keys]
  lines = ['### The negative controls: the advantage in each control minus the advantage in main', '',
           f'Each cell: (configuration - {baseline}, paired by seed, in the control) minus (the same in main), mean '
           '[bootstrap 95 % interval, the settings resampled independently]. The theorem predicts that an '
           'advantage shrinks where its conditions fail: a negative MCC cell, a positive uni-gap cell; '
           '**bold**: the interval excludes 0 in that direction.', '',
           '| configuration | control | ' + ' | '.join(f'{h}: main effect -> shift' for _, h, _ in columns) + ' |',
           '|---|---|' + '---|' * len(columns)]
  for setting in controls:
    runs = load(out_dir, setting)
    if baseline not in runs:
      continue
    for name in [c for c in CONFIGS if c in runs and c in main and c != baseline]:
      cells = []
      for key, _, higher in columns:
        effect = {}
        for where, rs in (('main', main), ('control', runs)):
          seeds = sorted(set(rs[name]) & set(rs[baseline]))
          effect[where] = [rs[name][s][key] - rs[baseline][s][key] for s in seeds]
        if min(len(v) for v in effect.values()) < 2:
          cells.append('–')
          continue
        m, lo, hi = shift_interval(effect['control'], effect['main'])
        shrinks = hi < 0 if higher else lo > 0
        cell = f'{sum(effect["main"]) / len(effect["main"]):+.3f} -> {m:+.3f} [{lo:+.3f}, {hi:+.3f}]'
        cells.append(f'**{cell}**' if shrinks else cell)
      lines.append(f'| {name} | {setting} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def load(out_dir, setting):
  runs = {}
  directory = os.path.join(out_dir, setting)
  if os.path.isdir(directory):
    for name in sorted(os.listdir(directory)):
      with open(os.path.join(directory, name)) as f:
        r = json.load(f)
      # Latent outputs should vary as much as the data: mean |spread ratio - 1| over the factors (0 = right).
      r['spread_error'] = sum(abs(v - 1) for v in r['latent_spread_factor']) / len(r['latent_spread_factor'])
      runs.setdefault(r['configuration'], {})[r['seed']] = r
  return runs


def table(out_dir, setting, baseline='stargan_v2'):
  import numpy as np
  runs = load(out_dir, setting)
  lines = [f'### {setting}', '', '| configuration | seeds | ' + ' | '.join(h for _, h, _ in COLUMNS)
           + ' | MCC per factor |', '|---|---|' + '---|' * (len(COLUMNS) + 1)]
  names = [c for c in CONFIGS if c in runs] + sorted(c for c in runs if c not in CONFIGS)
  for name in names:
    rs = list(runs[name].values())
    stale = not all(provenance.is_current(r, provenance.VECTOR) for r in rs)
    cells = [f'{np.mean([r[k] for r in rs]):.3f} ± {np.std([r[k] for r in rs]):.3f}' for k, _, _ in COLUMNS]
    cells.append(' / '.join(f'{v:.3f}' for v in np.mean([r['mcc_factor'] for r in rs], axis=0)))  # Mean over seeds.
    lines.append(f'| {name}{" (stale)" if stale else ""} | {len(rs)} | ' + ' | '.join(cells) + ' |')
  if baseline in runs:
    lines += ['', f'Paired differences from {baseline} (mean [95 % bootstrap interval]; **bold**: the interval '
              'excludes 0 in the better direction):', '',
              '| configuration | ' + ' | '.join(h for _, h, _ in COLUMNS) + ' |', '|---|' + '---|' * len(COLUMNS)]
    for name in [c for c in names if c != baseline]:
      seeds = sorted(set(runs[name]) & set(runs[baseline]))
      if len(seeds) < 2:
        continue
      cells = []
      for key, _, higher in COLUMNS:
        m, lo, hi = paired_interval([runs[name][s][key] - runs[baseline][s][key] for s in seeds])
        better = lo > 0 if higher else hi < 0
        cell = f'{m:+.3f} [{lo:+.3f}, {hi:+.3f}]'
        cells.append(f'**{cell}**' if better else cell)
      lines.append(f'| {name} ({len(seeds)} seeds) | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def write_tables(out_dir, path):
  text = ['# Benchmark v2: vector data', '', 'Built by `scripts/vector_benchmark.py` from the JSON files in '
          f'`{os.path.relpath(out_dir, os.path.dirname(os.path.abspath(path)))}/`. Mean ± std over paired seeds; '
          'columns: see `dss_jax/metrics/vector_eval.py` (spread err: mean over factors of |latent spread / '
          'data spread - 1|). A row marked stale holds a run trained by other code than today\'s (or from a '
          'dirty tree): scripts/provenance.py.', '']
  for setting in SETTINGS:
    if os.path.isdir(os.path.join(out_dir, setting)):
      text += [table(out_dir, setting), '']
  shifts = controls_table(out_dir)
  if shifts:
    text += [shifts, '']
  with open(path, 'w') as f:
    f.write('\n'.join(text))
  print('\n'.join(text))


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--configs', default=','.join(CONFIGS))
  parser.add_argument('--settings', default=','.join(SETTINGS))
  parser.add_argument('--seeds', default='0,1,2,3,4')
  parser.add_argument('--steps', type=int, default=3000)
  parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'results', 'vector'))
  parser.add_argument('--table', default=os.path.join(REPO, 'docs', 'results', 'vector.md'))
  parser.add_argument('--table_only', action='store_true')
  parser.add_argument('--set', action='append', default=[], help='config override key=value (repeatable)')
  parser.add_argument('--tag', default='', help='name suffix of runs with --set overrides (configuration+tag)')
  args = parser.parse_args()
  if not args.table_only:
    seeds = [int(s) for s in args.seeds.split(',')]
    for setting in args.settings.split(','):
      if setting not in SETTINGS:
        raise SystemExit(f'Unknown setting {setting!r}; choose from {", ".join(SETTINGS)}.')
      for name in args.configs.split(','):
        if name not in CONFIGS:
          raise SystemExit(f'Unknown configuration {name!r}; choose from {", ".join(CONFIGS)}.')
        if args.set and not args.tag:
          raise SystemExit('--set needs a --tag naming the variant.')
        train_seeds(name, setting, seeds, args.steps, args.out, args.set, args.tag)
        write_tables(args.out, args.table)
  write_tables(args.out, args.table)


if __name__ == '__main__':
  main()

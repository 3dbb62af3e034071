"""Benchmark v2 on vector data: does DSS identify the style components where the theorem says it should?

  python scripts/vector_benchmark.py --split=dev --configs=dss,stargan_v2 --seeds=0,1,2   # explore freely
  python scripts/vector_benchmark.py --split=test --configs=stargan_v2,dss,dss_uni_both     # once, frozen
  python scripts/vector_benchmark.py --table_only

The protocol (pre-registered): recipes are chosen on dev seeds (any seed outside TEST_SEEDS), claims are made
on TEST_SEEDS only. A test run trains each configuration once per test seed from a clean, committed tree,
with no --set override, and never overwrites a test result; its JSON records split 'test', the commit and
the whole config. README and docs/results.md quote the test tables only.

Data: configs/vector.py (x = a fixed random invertible nonlinear mixing of 2 content and n = 2 style
components, style_dim = n). Settings, paired: seed k draws the same mixing and the same first domains in
every setting, so a control changes only the condition it tests:
  main           K = 2n+1 domains, loc and scale vary: the theorem's sufficient variation holds
  few_domains    K = n+1 < 2n+1 domains (negative control: too few domains; main's first n+1 domains)
  location_only  K = 2n+1 domains with equal scales (negative control: the variation condition fails)
Configurations are config arguments (configs/default.py VARIANTS); seed k also fixes the initialisation of
every configuration. Beside them, every seed scores the trivial baselines of dss_jax/metrics/vector_eval.py
(an untrained model, a copy-the-source generator, a random linear projection as the encoder) with the same
code. Each run writes docs/results/vector/<split>/<setting>/<config>_seed<k>.json as it finishes; the tables
(docs/results/vector_<split>.md) hold mean ± std, the trivial baselines, and paired t 95 % intervals of each
configuration's difference from StarGAN v2, with Holm-adjusted p-values over every comparison of the table.
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
           'dss_flow_nll', 'dss_anchored', 'dss_sty_z']
# Pre-registered on 2026-12-03, before any run on them: the claims' seeds. Every other seed is a dev seed
# (0-4 and 1001-1005 were used to choose and to review recipes).
TEST_SEEDS = tuple(range(7001, 7011))
SPLITS = ('dev', 'test')
TRIVIAL_PREFIX = 'trivial:'
CHUNK = 100  # Iterations per compiled call (steps must be a multiple).
# (metric, header, higher is better; None: no better direction, not tested)
COLUMNS = [('mcc', 'MCC', True), ('latent_mcc', 'latent MCC', True), ('uni_gap', 'uni gap', False),
           ('style_w1', 'style W1', False), ('z_effect_min', 'z-effect min', None),
           ('spread_error', 'pooled spread err', False), ('ref_spearman_min', 'ref rho min', True),
           ('content_r2', 'content R2', True), ('edit_purity_gain', 'edit purity gain', True)]
# The files whose code decides a vector result: a test run refuses to start when any is uncommitted; a result
# is current while provenance.VECTOR's are unchanged (the table code of this script may change meanwhile).
FROZEN_FILES = provenance.VECTOR + ['scripts/vector_benchmark.py']


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


def check_split(split, seeds, overrides=(), frozen_dirty=None, test_seeds=TEST_SEEDS, frozen_files=None):
  """Raises SystemExit with one sentence when a run would break the protocol: a test seed on the dev split,
  a dev seed on the test split, or a test run from uncommitted code or with overrides. test_seeds and
  frozen_files (default FROZEN_FILES) let another benchmark (vector_benchmark_v3.py) apply the same rules."""
  frozen_files = FROZEN_FILES if frozen_files is None else frozen_files
  if split not in SPLITS:
    raise SystemExit(f'Unknown split {split!r}; choose dev or test.')
  test = [s for s in seeds if s in test_seeds]
  if split == 'dev' and test:
    raise SystemExit(f'Seeds {test} are test seeds (TEST_SEEDS): they are run once, with --split=test.')
  if split == 'test':
    other = [s for s in seeds if s not in test_seeds]
    if other:
      raise SystemExit(f'Seeds {other} are not test seeds; the test split runs TEST_SEEDS = {list(test_seeds)}.')
    if overrides:
      raise SystemExit('A test run trains committed configurations as they are: drop --set (try it on dev seeds, '
                       'commit it as a configuration, then run the test split).')
    is_dirty = provenance.dirty(frozen_files) if frozen_dirty is None else frozen_dirty
    if is_dirty:
      raise SystemExit('The training or evaluation code has uncommitted changes (git status -- '
                       + ' '.join(frozen_files[-5:]) + ' ...): a test run must be made from a committed tree.')


def _flat(config) -> dict:
  """A config as flat JSON-able key -> value (the record of what trained): `workdir.flat`, with the values JSON
  cannot hold written as strings."""
  from dss_jax import workdir
  plain = (int, float, str, bool, type(None))
  return {k: v if isinstance(v, plain) else str(v) for k, v in workdir.flat(config).items()}


def _write_json(path, result):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(result, f, indent=1, default=float)
  os.replace(tmp, path)  # Atomic: a killed run leaves no half-written result.


def chunked_fit(config, nets):
  """The vector benchmarks' training loop (v2's and v3's) -> fit(data, seed, steps), which trains one seed's run
  and returns (EMA parameters, non-finite steps, train seconds). CHUNK iterations run in one call (the step is
  tiny: dispatch would dominate) with the learning rates as inputs, as train.py's step takes them; one compiled
  chunk serves every seed."""
  import functools

  import jax
  import numpy as np

  from dss_jax import state as state_lib
  from dss_jax import train_step
  step = functools.partial(train_step.train_step, config=config, nets=nets)
  hp = train_step.hyperparameters(config)
  init = jax.jit(functools.partial(state_lib.init_state, config, nets))

  @jax.jit
  def run_chunk(state, batches, rng, hp):
    def body(s, batch):
      s, metrics = step(s, batch, rng, hp)
      return s, metrics['finite']
    return jax.lax.scan(body, state, batches)

  def fit(data, seed, steps):
    t0 = time.time()
    init_rng, step_rng = jax.random.split(jax.random.key(seed))
    state = init(init_rng)
    batches, skipped = data.batches(config.batch_size, seed), 0
    for _ in range(steps // CHUNK):
      chunk = [next(batches) for _ in range(CHUNK)]
      state, finite = run_chunk(state, {k: np.stack([b[k] for b in chunk]) for k in chunk[0]}, step_rng, hp)
      skipped += int(CHUNK - np.sum(finite))
    return jax.device_get(state.ema), skipped, time.time() - t0

  return fit


def train_seeds(config_name, setting, seeds, steps, out_dir, overrides=(), tag='', split='dev'):
  """Trains one configuration on every seed with one compiled step; writes each run's JSON as it finishes."""
  from dss_jax import models
  from dss_jax.datasets import vector
  from dss_jax.metrics import vector_eval
  config = make_config(config_name, setting, steps, overrides)
  label = config_name + (f'+{tag}' if tag else '')
  nets = models.build(config)
  fit = chunked_fit(config, nets)
  stamp = provenance.stamp(provenance.VECTOR)
  for seed in seeds:
    path = os.path.join(out_dir, split, setting, f'{label}_seed{seed}.json')
    if os.path.exists(path):
      continue
    t0 = time.time()
    data = vector.make(config.vector.n_style, config.vector.n_content, config.num_domains, config.vector.variant, seed)
    ema, skipped, train_s = fit(data, seed, steps)
    result = vector_eval.evaluate_vector(nets, ema, data, config=config, seed=seed)
    result.update(configuration=label, overrides=list(overrides), setting=setting, seed=seed, steps=steps,
                  non_finite_steps=skipped, train_seconds=train_s, wall_seconds=time.time() - t0, **stamp,
                  num_domains=config.num_domains, variant=config.vector.variant, split=split, config=_flat(config))
    _write_json(path, result)
    print(f'[{time.strftime("%H:%M:%S")}] {split}/{setting}/{label} seed {seed}: MCC {result["mcc"]:.3f}, latent MCC '
          f'{result["latent_mcc"]:.3f}, uni gap {result["uni_gap"]:.3f}, z-effect min {result["z_effect_min"]:.3f}, '
          f'{train_s:.0f} s', flush=True)


def trivial_seeds(setting, seeds, out_dir, split='dev'):
  """Scores the trivial baselines of every seed (no training: seconds each) with the evaluation's own code."""
  import functools

  import jax

  from dss_jax import models
  from dss_jax import state as state_lib
  from dss_jax.datasets import vector
  from dss_jax.metrics import vector_eval
  config = make_config('dss_uni_both', setting, 100)  # The default's networks, untrained.
  nets = models.build(config)
  init = jax.jit(functools.partial(state_lib.init_state, config, nets))
  stamp = provenance.stamp(provenance.VECTOR)
  for seed in seeds:
    data = None
    for name in vector_eval.TRIVIAL:
      path = os.path.join(out_dir, split, setting, f'trivial_{name}_seed{seed}.json')
      if os.path.exists(path):
        continue
      if data is None:
        data = vector.make(config.vector.n_style, config.vector.n_content, config.num_domains,
                           config.vector.variant, seed)
        ema = jax.device_get(init(jax.random.split(jax.random.key(seed))[0]).ema)
      model = vector_eval.trivial_model(name, nets, ema, data, config=config, seed=seed)
      result = vector_eval.evaluate_vector(nets, ema, data, config=config, seed=seed, model=model)
      result.update(configuration=TRIVIAL_PREFIX + name, setting=setting, seed=seed, steps=0, **stamp, split=split,
                    num_domains=config.num_domains, variant=config.vector.variant, config=_flat(config))
      _write_json(path, result)
    print(f'[{time.strftime("%H:%M:%S")}] {split}/{setting} trivial baselines, seed {seed}', flush=True)


# ------------------------------------------------------------------------------------------ statistics

def paired_interval(diffs, level=0.95):
  """Mean of paired differences, its t interval and the two-sided t-test p-value: (mean, lo, hi, p).
  (A percentile bootstrap at n = 5 is about 1.6x narrower than this: it ignores that the spread itself is
  estimated from 5 values.)"""
  import numpy as np
  import scipy.stats
  d = np.asarray(diffs, np.float64)
  n, m = len(d), float(d.mean())
  se = float(d.std(ddof=1) / np.sqrt(n))
  if se == 0.0:
    return m, m, m, (1.0 if m == 0 else 0.0)
  half = float(scipy.stats.t.ppf(0.5 + level / 2, n - 1)) * se
  p = float(2 * scipy.stats.t.sf(abs(m) / se, n - 1))
  return m, m - half, m + half, p


def paired_cell(mean, lo, hi, p_adjusted, higher) -> str:
  """A paired difference as a table cell: '+m [lo, hi] p=..', **bold** when the adjusted p < 0.05 in the better
  direction (higher: whether larger is better), _italic_ when in the worse."""
  cell = f'{mean:+.3f} [{lo:+.3f}, {hi:+.3f}] p={p_adjusted:.2g}'
  if p_adjusted < 0.05:
    cell = f'**{cell}**' if (mean > 0) == higher else f'_{cell}_'
  return cell


def holm(pvalues):
  """Holm-adjusted p-values (same order): controls the family-wise error over all the comparisons."""
  import numpy as np
  p = np.asarray(pvalues, np.float64)
  order = np.argsort(p)
  adjusted = np.empty_like(p)
  running = 0.0
  for rank, i in enumerate(order):
    running = max(running, min(1.0, (len(p) - rank) * p[i]))
    adjusted[i] = running
  return adjusted.tolist()


def load(out_dir, setting, split='test'):
  """{configuration: {seed: result}} of one split and setting (trivial baselines as 'trivial:<name>')."""
  runs = {}
  directory = os.path.join(out_dir, split, setting)
  if os.path.isdir(directory):
    for name in sorted(os.listdir(directory)):
      if not name.endswith('.json'):
        continue
      with open(os.path.join(directory, name)) as f:
        r = json.load(f)
      # Latent outputs should vary as much as the data: mean |pooled spread ratio - 1| over the factors.
      r['spread_error'] = sum(abs(v - 1) for v in r['latent_spread_factor']) / len(r['latent_spread_factor'])
      runs.setdefault(r['configuration'], {})[r['seed']] = r
  return runs


def _mean(rs, key):
  import numpy as np
  values = [r[key] for r in rs if key in r]
  return (float(np.mean(values)), float(np.std(values))) if values else None


def uninformative(runs):
  """{metric: note} for each metric on which a trivial baseline's mean is not worse than every trained
  configuration's (it lands inside, or beyond, their range): such a metric cannot tell them apart."""
  trained = {n: rs for n, rs in runs.items() if not n.startswith(TRIVIAL_PREFIX)}
  trivial = {n: rs for n, rs in runs.items() if n.startswith(TRIVIAL_PREFIX)}
  notes = {}
  for key, _, higher in COLUMNS:
    means = [m[0] for m in (_mean(list(rs.values()), key) for rs in trained.values()) if m]
    if not means or higher is None:
      continue
    worst = min(means) if higher else max(means)
    for name, rs in trivial.items():
      m = _mean(list(rs.values()), key)
      if m is None:
        continue
      if (m[0] >= worst) if higher else (m[0] <= worst):
        notes.setdefault(key, []).append(f'{name} {m[0]:.3f}')
  return {k: ', '.join(v) for k, v in notes.items()}


def difference_rows(runs, baseline='stargan_v2', names=None):
  """[(name, n_seeds, [(key, mean, lo, hi, p) or None per COLUMNS])] of paired differences from baseline."""
  rows = []
  names = names or [c for c in CONFIGS if c in runs and c != baseline]
  for name in names:
    seeds = sorted(set(runs[name]) & set(runs.get(baseline, {})))
    if len(seeds) < 2:
      continue
    cells = []
    for key, _, higher in COLUMNS:
      if higher is None or any(key not in runs[x][s] for x in (name, baseline) for s in seeds):
        cells.append(None)
        continue
      cells.append((key, *paired_interval([runs[name][s][key] - runs[baseline][s][key] for s in seeds])))
    rows.append((name, len(seeds), cells))
  return rows


def table(out_dir, setting, split='test', baseline='stargan_v2'):
  import numpy as np
  runs = load(out_dir, setting, split)
  if not runs:
    return ''
  flags = uninformative(runs)
  heads = [h + (' †' if k in flags else '') for k, h, _ in COLUMNS]
  lines = [f'### {setting} ({split} seeds)', '', '| configuration | seeds | ' + ' | '.join(heads)
           + ' | MCC per factor |', '|---|---|' + '---|' * (len(COLUMNS) + 1)]
  names = ([c for c in CONFIGS if c in runs] + sorted(c for c in runs if c not in CONFIGS
                                                      and not c.startswith(TRIVIAL_PREFIX))
           + sorted(c for c in runs if c.startswith(TRIVIAL_PREFIX)))
  for name in names:
    rs = list(runs[name].values())
    stale = not all(provenance.is_current(r, provenance.VECTOR) for r in rs)
    cells = []
    for key, _, _ in COLUMNS:
      m = _mean(rs, key)
      cells.append('–' if m is None else f'{m[0]:.3f} ± {m[1]:.3f}')
    cells.append(' / '.join(f'{v:.3f}' for v in np.mean([r['mcc_factor'] for r in rs], axis=0)))
    label = f'_{name}_' if name.startswith(TRIVIAL_PREFIX) else name
    lines.append(f'| {label}{" (stale)" if stale else ""} | {len(rs)} | ' + ' | '.join(cells) + ' |')
  if flags:
    lines += ['', '† Uninformative in this setting: a trivial baseline (italic rows) scores no worse than some '
              'trained configuration (' + '; '.join(f'{dict((k, h) for k, h, _ in COLUMNS)[k]}: {v}'
                                                    for k, v in flags.items()) + ').']
  rows = difference_rows(runs, baseline)
  if rows:
    family = [c for _, _, cells in rows for c in cells if c is not None]
    adjusted = iter(holm([c[4] for c in family]))
    lines += ['', f'Paired differences from {baseline} (mean [t 95 % interval], Holm-adjusted p over the '
              f'{len(family)} comparisons of this table: {len(rows)} configurations x '
              f'{sum(1 for c in COLUMNS if c[2] is not None)} metrics; **bold**: adjusted p < 0.05, in the better '
              'direction; _italic_: adjusted p < 0.05 in the worse direction):', '',
              '| configuration | ' + ' | '.join(h for _, h, _ in COLUMNS) + ' |', '|---|' + '---|' * len(COLUMNS)]
    for name, n, cells in rows:
      out = []
      for (_, _, higher), c in zip(COLUMNS, cells):
        if c is None:
          out.append('–')
          continue
        _, m, lo, hi, _ = c
        out.append(paired_cell(m, lo, hi, next(adjusted), higher))
      lines.append(f'| {name} ({n} seeds) | ' + ' | '.join(out) + ' |')
  return '\n'.join(lines)


def controls_table(out_dir, split='test', baseline='stargan_v2', keys=('mcc', 'uni_gap')):
  """Does a configuration's advantage over the baseline shrink under the negative controls, as the theorem says?

  Per configuration and control: (its paired difference from the baseline in the control) minus (the same in
  main), paired by seed (the settings share each seed's mixing and first domains), with a t interval; Holm
  over the table's cells; **bold** where the advantage shrinks decisively, _italic_ where it grows."""
  main = load(out_dir, 'main', split)
  controls = [s for s in SETTINGS if s != 'main' and os.path.isdir(os.path.join(out_dir, split, s))]
  if baseline not in main or not controls:
    return ''
  columns = [c for c in COLUMNS if c[0] in keys]
  cells, rows = [], []
  for setting in controls:
    runs = load(out_dir, setting, split)
    if baseline not in runs:
      continue
    for name in [c for c in CONFIGS if c in runs and c in main and c != baseline]:
      seeds = sorted(set(runs[name]) & set(runs[baseline]) & set(main[name]) & set(main[baseline]))
      if len(seeds) < 2:
        continue
      row = []
      for key, _, _ in columns:
        effect_main = [main[name][s][key] - main[baseline][s][key] for s in seeds]
        effect_control = [runs[name][s][key] - runs[baseline][s][key] for s in seeds]
        m_main = paired_interval(effect_main)
        m_control = paired_interval(effect_control)
        shift = paired_interval([c - m for c, m in zip(effect_control, effect_main)])
        row.append((m_main, m_control, shift))
        cells.append(shift[3])
      rows.append((name, setting, len(seeds), row))
  if not rows:
    return ''
  adjusted = iter(holm(cells))
  lines = ['### The negative controls: the advantage in each control against the advantage in main', '',
           f'Each cell: configuration - {baseline} (paired by seed) in main -> in the control [t 95 % interval]; '
           'shift = control - main, paired by seed [t 95 % interval], Holm-adjusted p over the '
           f'{len(cells)} shifts of this table. The theorem predicts that an advantage shrinks where its '
           'conditions fail: a negative MCC shift, a positive uni-gap shift; **bold**: adjusted p < 0.05 in that '
           'direction, _italic_: in the other.', '',
           '| configuration | control | seeds | ' + ' | '.join(f'{h}: main -> control; shift' for _, h, _ in columns)
           + ' |', '|---|---|---|' + '---|' * len(columns)]
  for name, setting, n, row in rows:
    out = []
    for (_, _, higher), (m_main, m_control, shift) in zip(columns, row):
      p_adj = next(adjusted)
      cell = (f'{m_main[0]:+.3f} -> {m_control[0]:+.3f} [{m_control[1]:+.3f}, {m_control[2]:+.3f}]; shift '
              f'{shift[0]:+.3f} [{shift[1]:+.3f}, {shift[2]:+.3f}] p={p_adj:.2g}')
      if p_adj < 0.05:
        shrinks = shift[0] < 0 if higher else shift[0] > 0
        cell = f'**{cell}**' if shrinks else f'_{cell}_'
      out.append(cell)
    lines.append(f'| {name} | {setting} | {n} | ' + ' | '.join(out) + ' |')
  return '\n'.join(lines)


# README's small table (<= 8 columns, main setting): tests/test_docs.py checks README against the generated copy.
README_COLUMNS = ['mcc', 'latent_mcc', 'uni_gap', 'z_effect_min', 'ref_spearman_min', 'edit_purity_gain']
README_CONFIGS = ['stargan_v2', 'dss', 'dss_uni_both', 'trivial:random_projection', 'trivial:copy_source',
                  'trivial:untrained']


def readme_table(out_dir, split='test'):
  """Mean over seeds of README_COLUMNS in main, a row per README_CONFIGS present ('' when none)."""
  runs = load(out_dir, 'main', split)
  heads = dict((k, h) for k, h, _ in COLUMNS)
  lines = ['| configuration | seeds | ' + ' | '.join(heads[k] for k in README_COLUMNS) + ' |',
           '|---|---|' + '---|' * len(README_COLUMNS)]
  for name in [c for c in README_CONFIGS if c in runs]:
    rs = list(runs[name].values())
    cells = [('–' if m is None else f'{m[0]:.2f}') for m in (_mean(rs, k) for k in README_COLUMNS)]
    label = f'_{name}_' if name.startswith(TRIVIAL_PREFIX) else f'`:{name}`'
    lines.append(f'| {label} | {len(rs)} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) if len(lines) > 2 else ''


def write_tables(out_dir, path, split='test'):
  text = [f'# Benchmark v2: vector data, {split} seeds', '',
          'Built by `scripts/vector_benchmark.py` from the JSON files in '
          f'`{os.path.relpath(os.path.join(out_dir, split), os.path.dirname(os.path.abspath(path)))}/`. '
          + ('Test seeds (TEST_SEEDS, pre-registered): every run made once, from a committed tree. '
             if split == 'test' else 'Dev seeds: where recipes were chosen; not evidence for a claim. ')
          + 'Mean ± std over paired seeds; columns: `dss_jax/metrics/vector_eval.py` (pooled spread err: mean over '
          'factors of |pooled latent spread / data spread - 1|; z-effect min: the smallest factor\'s fixed-source '
          'std over z, 1 = as varied as the data, 0 = collapse). Italic rows are trivial baselines scored by the '
          'same code. A row marked stale holds a run trained by other code than today\'s (or from a dirty tree): '
          'scripts/provenance.py.', '']
  for setting in SETTINGS:
    block = table(out_dir, setting, split)
    if block:
      text += [block, '']
  shifts = controls_table(out_dir, split)
  if shifts:
    text += [shifts, '']
  write_with_readme_table(path, text, readme_table(out_dir, split), split)


def write_with_readme_table(path, text, small, split):
  """Writes the lines `text` to `path`, then README's small table `small` under its own heading (tests/test_docs.py
  reads it there), and prints the page."""
  if small:
    text = text + ["## README's table", '', f'Main setting, {split} seeds, means (README.md shows this table, checked '
                   'by tests/test_docs.py):', '', small, '']
  with open(path, 'w') as f:
    f.write('\n'.join(text))
  print('\n'.join(text))


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--split', default='dev', choices=SPLITS)
  parser.add_argument('--configs', default='stargan_v2,dss,dss_uni_both')
  parser.add_argument('--settings', default=','.join(SETTINGS))
  parser.add_argument('--seeds', default='', help='comma-separated; default: 0-4 on dev, TEST_SEEDS on test')
  parser.add_argument('--steps', type=int, default=3000)
  parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'results', 'vector'))
  parser.add_argument('--table', default='', help='default: docs/results/vector_<split>.md')
  parser.add_argument('--table_only', action='store_true')
  parser.add_argument('--no_trivial', action='store_true', help='skip the trivial baselines')
  parser.add_argument('--set', action='append', default=[], help='config override key=value (repeatable; dev only)')
  parser.add_argument('--tag', default='', help='name suffix of runs with --set overrides (configuration+tag)')
  args = parser.parse_args()
  table_path = args.table or os.path.join(REPO, 'docs', 'results', f'vector_{args.split}.md')
  if not args.table_only:
    seeds = ([int(s) for s in args.seeds.split(',')] if args.seeds
             else list(TEST_SEEDS) if args.split == 'test' else [0, 1, 2, 3, 4])
    if args.split == 'test' and args.steps != 3000:
      raise SystemExit('A test run trains the committed length (3,000 steps): drop --steps.')
    check_split(args.split, seeds, args.set)
    names, settings = args.configs.split(','), args.settings.split(',')
    for setting in settings:
      if setting not in SETTINGS:
        raise SystemExit(f'Unknown setting {setting!r}; choose from {", ".join(SETTINGS)}.')
    for name in names:
      if name not in CONFIGS:
        raise SystemExit(f'Unknown configuration {name!r}; choose from {", ".join(CONFIGS)}.')
    if args.set and not args.tag:
      raise SystemExit('--set needs a --tag naming the variant.')
    for setting in settings:
      if not args.no_trivial:
        trivial_seeds(setting, seeds, args.out, args.split)
      for name in names:
        train_seeds(name, setting, seeds, args.steps, args.out, args.set, args.tag, args.split)
        write_tables(args.out, table_path, args.split)
  write_tables(args.out, table_path, args.split)


if __name__ == '__main__':
  main()

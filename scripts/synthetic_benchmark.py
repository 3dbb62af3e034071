"""The synthetic identifiability benchmark on images: the main job against StarGAN v2 and the ablations.

  python scripts/synthetic_benchmark.py                       # every run that has no result yet
  python scripts/synthetic_benchmark.py --configs=dss --seeds=0   # one run
  python scripts/synthetic_benchmark.py --table_only          # rebuild docs/results/RESULTS.md and docs/results.md
  python scripts/make_results_docs.py                         # then docs/results.md's image test section
  python scripts/synthetic_benchmark.py --reevaluate          # new metrics for finished runs, from their checkpoints
  python scripts/synthetic_benchmark.py --split=test --variant=species --configs=main,stargan_v2  # 2nd dataset

Configurations (configs/synthetic.py, style_domains variant, 32 px, n = 2 style factors, K = 5, the file's
own recipe: style_dim = n, its length, its diversity schedule; each is one config argument):
  main        configs/synthetic.py without an argument: README's main job (METHOD.md's DSS; link its finished
              workdir as <workdir>/main_sd2_seed<seed> to evaluate it instead of training it again)
  stargan_v2  the baseline (MLP mapping, lambda_uni = lambda_smooth = 0)
  dss         DSS as METHOD.md writes it (the same config as main, trained here)
and ablations and extensions, run only when named in --configs: dss_sty_z, dss_anchored, flow, flow_uni,
stargan_v2_smooth, stargan_v2_uni, dss_uni_both, dss_flow_nll. On dev seeds a configuration may carry
config changes to try, NAME+KEY=VALUE+... (e.g. `--configs=main+lambda_sty=3 --seeds=777`); a test run refuses
them. Each (configuration, style_dim, seed) run
trains in its own workdir (a killed run resumes), is evaluated with `evaluate_synthetic`, and writes
docs/results/<run>.json (with the commit and config it was trained with) and a grid PNG as soon as it
finishes; the table is rebuilt from whatever results are present. Seeds are paired: seed k fixes the
initialisation, the data order and the noise of every configuration.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import time

import provenance

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# Each configuration is a config argument of configs/synthetic.py (configs/default.py VARIANTS), so any
# row runs alone as `python -m dss_jax.main --config=configs/synthetic.py:<name>`.
CONFIGS = ['main', 'stargan_v2', 'dss']
# Pre-registered on 2026-12-03, before any run on them: the image claims' seeds (777 chose the recipe: dev).
# 8101-8103 first; 8104-8110 added on 2026-12-03 at 16:30 UTC, before any run on them, after 8101-8103 had been
# read. They are run in order (each seed for the default and :stargan_v2 together) as machine time allows, and
# every finished run is reported: the number of seeds is set by time, not by the results.
TEST_SEEDS = (8101, 8102, 8103, 8104, 8105, 8106, 8107, 8108, 8109, 8110)
# Ablations and experiments beyond METHOD.md, run only when named in --configs.
EXPERIMENTS = ['dss_sty_z', 'dss_anchored', 'flow', 'flow_uni', 'stargan_v2_smooth', 'stargan_v2_uni', 'dss_uni_both',
               'dss_flow_nll']
ALL = CONFIGS + EXPERIMENTS
# Columns of the results table: (flattened metric name, header).
COLUMNS = [  # The main job's must-show figures first (the benchmark issue), then the identifiability metrics.
    ('z_effect/per_factor/0', 'z-effect hue'),
    ('z_effect/per_factor/1', 'z-effect bg'),
    ('latent_quality/style_spread_ratio/0', 'pooled spread hue'),
    ('latent_quality/style_spread_ratio/1', 'pooled spread bg'),
    ('reference_style/spearman/0', 'ref rho hue'),
    ('reference_style/spearman/1', 'ref rho bg'),
    ('latent_quality/shape_accuracy', 'shape acc'),
    ('latent_quality/content_corr/size', 'size r'),
    ('latent_quality/rotation_agreement', 'rotation'),
    ('latent_quality/style_wasserstein_mean', 'style W1'),
    ('mcc/mean', 'MCC'),
    ('mcc_random_encoder/mean', 'MCC untrained'),
    ('latent_mcc/mean', 'latent MCC'),
    ('latent_mcc_untrained/mean', 'latent MCC untrained'),
    ('unification/accuracy_mean', 'uni acc'),
    ('unification/frechet_relative_mean', 'uni FD rel'),
    ('edit/purity', 'edit purity'),
    ('edit/purity_gain', 'edit purity gain'),
    ('edit_untrained/purity', 'edit purity untrained'),
    ('dci/disentanglement', 'DCI D'),
    ('counterfactual/model/l1_object', 'CF L1 obj'),
    ('counterfactual/model/iou', 'CF IoU'),
    ('latent_quality/domain_accuracy', 'dom acc'),
    ('smoothness/mean', 'smooth'),
    ('train_minutes', 'train min'),
]


def run_name(config_name, style_dim, seed, variant='style_domains'):
  suffix = '' if variant == 'style_domains' else f'_{variant}'
  return f'{config_name}_sd{style_dim}_seed{seed}{suffix}'


def _base(config_name):
  """The committed configuration a dev-seed trial 'NAME+KEY=VALUE+...' changes (NAME; a configuration itself)."""
  return config_name.split('+')[0]


def _argument(config_name):
  """The config argument of a configuration: 'main' -> '', 'dss' -> 'dss', and a dev-seed trial
  'NAME+KEY=VALUE+...' (e.g. main+lambda_sty=3) -> 'NAME,KEY=VALUE,...' (configs/args.py)."""
  name, *changes = config_name.split('+')
  return ','.join(([] if name == 'main' else [name]) + changes)


def make_config(config_name, style_dim, seed, steps, variant='style_domains'):
  """The configuration's config; style_dim and steps None keep the file's (n and its total_iters); variant:
  the built-in dataset (configs/synthetic.py's recipe unchanged on `species`: no retuning)."""
  from configs import synthetic
  config = synthetic.get_config(_argument(config_name))
  config.synthetic.variant = variant
  if style_dim:
    config.style_dim = style_dim
  config.seed = seed
  if steps:
    config.total_iters = steps
  config.checkpoint_every = max(config.total_iters // 4, 1)
  config.sample_every = config.total_iters
  return config


def run_one(config_name, style_dim, seed, steps, workdir_root, out_dir, eval_kwargs, variant='style_domains'):
  from dss_jax import evaluate, inference, train
  from dss_jax import workdir as workdir_lib
  from dss_jax.metrics import report
  config = make_config(config_name, style_dim, seed, steps, variant)
  style_dim, steps = int(config.style_dim), int(config.total_iters)
  name = run_name(config_name, style_dim, seed, variant)
  workdir = os.path.join(workdir_root, name)
  print(f'[{time.strftime("%H:%M:%S")}] {name}: training {steps} steps in {workdir}', flush=True)
  # A workdir that already holds the finished run (e.g. a link to README's main job) is evaluated, not retrained.
  trained_before = workdir_lib.latest_step(workdir) == steps
  # The code that trains is the code imported now: stamp it before training (a commit made while a run trains
  # must not be recorded as its code); a tree edited meanwhile marks the run dirty.
  stamp = provenance.stamp(provenance.IMAGE)
  t0 = time.time()
  state = train.train_and_evaluate(config, workdir)
  train_s = None if trained_before else time.time() - t0
  print(f'[{time.strftime("%H:%M:%S")}] {name}: evaluating', flush=True)
  metrics = evaluate.evaluate_synthetic(config, state, workdir, seed=seed,
                                        oracle_dir=os.path.join(workdir_root, 'oracle'), **eval_kwargs)
  metrics.update(configuration=config_name, style_dim=style_dim, seed=seed, steps=steps, variant=variant,
                 train_minutes=None if train_s is None else train_s / 60, wall_minutes=(time.time() - t0) / 60,
                 trained_here=not trained_before, config=_flat(inference.load_config(workdir)),  # What it trained.
                 machine=f'{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}',
                 **stamp)
  metrics['dirty'] = metrics['dirty'] or provenance.dirty(provenance.IMAGE)
  os.makedirs(os.path.join(out_dir, 'grids'), exist_ok=True)
  report.write_json(metrics, os.path.join(out_dir, f'{name}.json'))
  grid = os.path.join(workdir, 'samples', f'{steps:06d}.png')
  if os.path.exists(grid):
    shutil.copyfile(grid, os.path.join(out_dir, 'grids', f'{name}.png'))
  print(f'[{time.strftime("%H:%M:%S")}] {name}: done, MCC {metrics["mcc"]["mean"]:.3f} '
        f'(untrained {metrics["mcc_random_encoder"]["mean"]:.3f})', flush=True)


def reevaluate(config_name, style_dim, seed, workdir_root, out_dir, eval_kwargs):
  """Evaluates a finished run whose JSON lacks a column of the table again, from its last checkpoint (same
  seed), keeping its training figures."""
  from dss_jax import evaluate, inference
  from dss_jax.metrics import report
  name = run_name(config_name, style_dim, seed)
  path, workdir = os.path.join(out_dir, f'{name}.json'), os.path.join(workdir_root, name)
  if not os.path.isdir(os.path.join(workdir, 'checkpoints')):
    print(f'{name}: no checkpoints in {workdir}, kept as it is (rerun it to evaluate it again).', flush=True)
    return
  with open(path) as f:
    old = json.load(f)
  flat = report.flatten(old)
  missing = [key for key, _ in COLUMNS if key not in flat]
  if not missing:
    return
  print(f'[{time.strftime("%H:%M:%S")}] {name}: evaluating again (missing {", ".join(missing)})', flush=True)
  t = inference.Translator.from_workdir(workdir)
  metrics = evaluate.evaluate_synthetic(t.config, t, workdir, seed=seed,
                                        oracle_dir=os.path.join(workdir_root, 'oracle'), **eval_kwargs)
  keep = ('configuration', 'style_dim', 'seed', 'steps', 'train_minutes', 'wall_minutes', 'machine')
  metrics.update({k: old[k] for k in keep if k in old})
  report.write_json(metrics, path)
  print(f'[{time.strftime("%H:%M:%S")}] {name}: MCC {metrics["mcc"]["mean"]:.3f} (was {old["mcc"]["mean"]:.3f}), '
        f'latent MCC {metrics["latent_mcc"]["mean"]:.3f}', flush=True)


# README's small table (<= 8 columns): (header, flattened metrics joined by ' / ' in one cell).
SMALL_COLUMNS = [
    ('z-effect hue / bg', ['z_effect/per_factor/0', 'z_effect/per_factor/1']),
    ('ref rho hue / bg', ['reference_style/spearman/0', 'reference_style/spearman/1']),
    ('shape / size r / rotation', ['latent_quality/shape_accuracy', 'latent_quality/content_corr/size',
                                   'latent_quality/rotation_agreement']),
    ('style W1', ['latent_quality/style_wasserstein_mean']),
    ('latent MCC', ['latent_mcc/mean']),
    ('MCC', ['mcc/mean']),
]
README_NAMES = {'main': '`configs/synthetic.py`'}  # Others: `:<configuration>`.


def display_name(config_name):
  return README_NAMES.get(config_name, f'`:{config_name}`')


# Keys that decide when to log, sample and save, never what is trained: not compared by provenance.
_IO_KEYS = ('log_every', 'sample_every', 'checkpoint_every', 'keep_checkpoints', 'eval_every')


def _flat(config):
  """The config as the JSON stores it (flattened, JSON types, without _IO_KEYS), for provenance.is_current."""
  from dss_jax import state as state_lib
  flat = json.loads(json.dumps(state_lib.flat_config(config), default=str))
  return {k: v for k, v in flat.items() if k not in _IO_KEYS}


def _current(m):
  """A result is current when its code is today's and its configuration still builds its config."""
  now = _flat(make_config(m['configuration'], m['style_dim'], m['seed'], m['steps'],
                          m.get('variant', 'style_domains')))
  return provenance.is_current(m, provenance.IMAGE, now)


def _config_default(config_name):
  config = make_config(config_name, None, 0, None)
  return int(config.style_dim), int(config.total_iters)


def _trivial_key(key, suffix):
  """Where a trivial model's figure of a column is stored: 'z_effect/..' -> 'z_effect_<suffix>/..' (and the same
  for latent_quality and reference_style); the untrained model's MCC and latent MCC have columns of their own."""
  head, _, rest = key.partition('/')
  if head in ('z_effect', 'latent_quality', 'reference_style'):
    return f'{head}_{suffix}/{rest}'
  if suffix == 'untrained' and head == 'edit':
    return f'edit_untrained/{rest}'
  return None


def small_table(runs):
  """The small table of README: one row per configuration at the config's own style_dim and length, means
  over the seeds present (the generated copy in RESULTS.md is what tests/test_docs.py checks README against)."""
  import numpy as np

  from dss_jax.metrics import report
  lines = ['| configuration | seeds | ' + ' | '.join(h for h, _ in SMALL_COLUMNS) + ' |',
           '|---|---|' + '---|' * len(SMALL_COLUMNS)]
  for (c, _, _), ms in runs:
    flat = [report.flatten(m) for m in ms]
    cells = [' / '.join(f'{np.mean([f[k] for f in flat]):.{3 if h == "style W1" else 2}f}'
                        if all(k in f for f in flat) else '–' for k in keys) for h, keys in SMALL_COLUMNS]
    lines.append(f'| {display_name(c)} | {len(ms)} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


# The main job's must-show figures and their targets (the benchmark issues); paired tests also cover style W1
# (lower is better), latent MCC and MCC.
TARGETS = {'z_effect/per_factor/0': 0.7, 'z_effect/per_factor/1': 0.7, 'reference_style/spearman/0': 0.8,
           'reference_style/spearman/1': 0.8, 'latent_quality/shape_accuracy': 0.9,
           'latent_quality/content_corr/size': 0.8, 'latent_quality/rotation_agreement': 0.8}
PAIRED = list(TARGETS) + ['latent_quality/style_wasserstein_mean', 'latent_mcc/mean', 'mcc/mean']
# Targets a dataset makes meaningless: on `species` a translation must change the shape (each domain is its own
# shape), and the rotation of a shape with another symmetry (or of a circle source) has no counterpart to keep.
NOT_APPLICABLE = {'species': ('latent_quality/shape_accuracy', 'latent_quality/rotation_agreement')}
BASELINE = 'stargan_v2'


def paired_comparisons(runs, stale):
  """What paired_section reports, as data: (by_config, targets, skip, comparisons). by_config: {configuration:
  {seed: flattened metrics}} of the current runs at their own style_dim/length; targets: TARGETS without the
  ones the dataset makes meaningless (skip); comparisons: (configuration, metric, seeds, (mean, lo, hi, p),
  Holm p) of each configuration against :stargan_v2 on the seeds both have, Holm over all of them."""
  import vector_benchmark

  from dss_jax.metrics import report
  by_config = {key[0]: {m['seed']: report.flatten(m) for m in ms} for key, ms in runs.items()
               if key[1:] == _config_default(key[0]) and not stale[key]}
  variants = {m['dataset'].split('/')[-1] for ms in runs.values() for m in ms}  # evaluate.py: 'synthetic/<variant>'
  if len(variants) > 1:
    raise ValueError(f'One results folder holds runs of several datasets: {sorted(variants)}.')
  skip = NOT_APPLICABLE.get(next(iter(variants), 'style_domains'), ())
  targets = {k: t for k, t in TARGETS.items() if k not in skip}
  comparisons = []
  base = by_config.get(BASELINE, {})
  for config_name in [c for c in ALL if c in by_config and c != BASELINE]:
    seeds = sorted(set(by_config[config_name]) & set(base))
    if len(seeds) < 2:
      continue
    for key in [k for k in PAIRED if k not in skip]:
      if all(key in by_config[config_name][s] and key in base[s] for s in seeds):
        diffs = [by_config[config_name][s][key] - base[s][key] for s in seeds]
        comparisons.append((config_name, key, seeds, vector_benchmark.paired_interval(diffs)))
  adjusted = vector_benchmark.holm([c[3][3] for c in comparisons]) if comparisons else []
  return by_config, targets, skip, [(*c, p) for c, p in zip(comparisons, adjusted)]


def target_rows(by_config, targets):
  """The rows of the must-show targets table: each run of every configuration, the targets it misses named."""
  header = dict(COLUMNS)
  rows = []
  for config_name in [c for c in ALL if c in by_config]:
    for seed, flat in sorted(by_config[config_name].items()):
      missed = [f'{header[k]} {flat[k]:.2f}' for k, t in targets.items() if k in flat and flat[k] < t]
      outcome = 'all met' if not missed else 'misses ' + ', '.join(missed)
      rows.append(f'| {display_name(config_name)} | {seed} | {outcome} |')
  return rows


def paired_section(runs, stale) -> str:
  """Each configuration against :stargan_v2 on the seeds both have: mean paired difference, its t 95 %
  interval and Holm-adjusted p over every comparison of the section; then each run of every configuration
  against the targets (a seed that misses one is named). Only current runs at their own style_dim/length."""
  header = dict(COLUMNS)
  by_config, targets, skip, comparisons = paired_comparisons(runs, stale)
  lines = []
  if comparisons:
    lines += ['## Paired against `:stargan_v2`', '',
              f'Mean paired difference (configuration − `:stargan_v2`, same seeds), t 95 % interval, and the p value '
              f'Holm-adjusted over all {len(comparisons)} comparisons of this table (style W1: lower is better).', '',
              '| configuration | metric | seeds | difference [95 % CI] | Holm p |', '|---|---|---|---|---|']
    for config_name, key, seeds, (m, lo, hi, _), p in comparisons:
      lines.append(f'| {display_name(config_name)} | {header.get(key, key)} | {len(seeds)} | '
                   f'{m:+.3f} [{lo:+.3f}, {hi:+.3f}] | {p:.2f} |')
  rows = target_rows(by_config, targets)
  if rows:
    listed = ', '.join(f'{header[k]} >= {t}' for k, t in targets.items())
    not_applied = (f' Not applied to this dataset: {", ".join(header[k] for k in skip)} '
                   '(`NOT_APPLICABLE` in scripts/synthetic_benchmark.py).' if skip else '')
    lines += ['', '## The must-show targets per run', '', f'Targets: {listed}.{not_applied}', '',
              '| configuration | seed | outcome |', '|---|---|---|', *rows]
  return '\n'.join(lines)


def load_runs(out_dir):
  """The run JSONs of a results folder, {(configuration, style_dim, steps): [metrics, ...]} in file order, and
  which rows are stale ({key: '' or ' (stale)'}: a run whose code or config is no longer today's)."""
  runs = {}
  for file in sorted(os.listdir(out_dir)):
    if file.endswith('.json'):
      with open(os.path.join(out_dir, file)) as f:
        m = json.load(f)
      if not isinstance(m, dict) or 'configuration' not in m:  # e.g. docs/results/code_equivalence.json
        continue
      runs.setdefault((m['configuration'], m['style_dim'], m['steps']), []).append(m)
  # Once per row: each check rebuilds the run's config and hashes the training code at two commits.
  stale = {key: '' if all(_current(m) for m in ms) else ' (stale)' for key, ms in runs.items()}
  return runs, stale


def order(name):
  """Where a configuration's row goes: ALL's order, a dev trial (NAME+KEY=VALUE) after NAME."""
  return ALL.index(_base(name)), name


def default_runs(runs, stale):
  """README's rows: the current runs of each committed configuration at its own style_dim and length."""
  return [(key, ms) for key, ms in sorted(runs.items(), key=lambda kv: order(kv[0][0]))
          if key[1:] == _config_default(key[0]) and not stale[key] and _base(key[0]) == key[0]]


def build_table(out_dir):
  """docs/results/RESULTS.md: configuration x metric, mean ± std over the seeds present, and README's table."""
  from dss_jax.metrics import report
  runs, stale = load_runs(out_dir)
  rows = {f'{c} (style_dim {d}, {s} steps){stale[(c, d, s)]}': [{k: report.flatten(m).get(k) for k, _ in COLUMNS}
                                                                 for m in ms]
          for (c, d, s), ms in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][2], order(kv[0][0])))}
  # The trivial models, scored by the same code on each run's own test pairs (the runs' JSONs carry them).
  for name, suffix in (('_trivial: copy source_', 'copy_source'), ('_trivial: untrained model_', 'untrained')):
    trivial = [{k: report.flatten(m).get(_trivial_key(k, suffix)) for k, _ in COLUMNS}
               for ms in runs.values() for m in ms if f'z_effect_{suffix}' in m]
    if trivial:
      rows[name] = trivial
  rows = {r: [{k: v for k, v in m.items() if v is not None} for m in ms] for r, ms in rows.items()}
  table = report.markdown_table(rows, [k for k, _ in COLUMNS])
  for key, header in COLUMNS:
    table = table.replace(f'| {key} ', f'| {header} ', 1)
  machines = sorted({m['machine'] for ms in runs.values() for m in ms})
  # The reference points do not depend on the model: the trivial answers of the first run's pairs.
  first = next(iter(runs.values()))[0] if runs else None
  if first:
    cf = first['counterfactual']
    lines = ['', '| trivial answer (same test pairs) | CF L1 | CF L1 obj | CF PSNR obj | CF IoU |',
             '|---|---|---|---|---|']
    for answer in ('copy_source', 'copy_reference', 'flat_reference_background'):
      a = cf[answer]
      lines.append(f"| {answer.replace('_', ' ')} | {a['l1']:.3f} | {a['l1_object']:.3f} | {a['psnr_object']:.2f} | "
                   f"{a['iou']:.3f} |")
    lq = first['latent_quality']
    lines.append('')
    lines.append(f"Domain accuracy ceiling: Bayes {lq['bayes_domain_accuracy']:.3f}; the oracle on real test images "
                 f"{lq['oracle_real_domain_accuracy']:.3f}. Chance: shape 0.2.")
    table += '\n'.join(lines)
  default = default_runs(runs, stale)
  text = ('# Synthetic benchmark results\n\nBuilt by `scripts/synthetic_benchmark.py` from the JSON files in this '
          f'folder. Machine(s): {", ".join(machines) or "none yet"}. Cells are mean ± std over seeds.\n\n'
          + table + '\n\n## README\'s table\n\nThe current runs at each configuration\'s own style_dim and length, '
          'means over seeds (README.md shows this table, checked by tests/test_docs.py):\n\n'
          + small_table(default) + '\n')
  paired = paired_section(runs, stale)
  if paired:
    text += '\n' + paired + '\n'
  with open(os.path.join(out_dir, 'RESULTS.md'), 'w') as f:
    f.write(text)
  print(text)
  if os.path.abspath(out_dir) == os.path.join(REPO, 'docs', 'results'):  # Not for results kept elsewhere.
    _splice_results_page(table)


def _splice_results_page(table, path=None):
  """Puts the table between docs/results.md's generated-table markers, keeping the prose around them.

  README.md is written by hand (its small table included) and no script rewrites it."""
  path = path or os.path.join(REPO, 'docs', 'results.md')
  start, end = '<!-- results table: start', '<!-- results table: end -->'
  if not os.path.exists(path):
    return
  with open(path) as f:
    text = f.read()
  if start not in text or end not in text:
    return
  head, rest = text.split(start, 1)
  marker_line, _ = rest.split('\n', 1)
  _, tail = rest.split(end, 1)
  with open(path, 'w') as f:
    f.write(f'{head}{start}{marker_line}\n{table}\n{end}{tail}')


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--configs', default=','.join(CONFIGS), help=f'any of {", ".join(ALL)}')
  parser.add_argument('--style_dims', default='', help="'' = the config's (n = 2, the theorem's setting); e.g. 2,16")
  parser.add_argument('--split', default='dev', choices=('dev', 'test'),
                      help='test: TEST_SEEDS, committed code and configs as they are, into docs/results/image_test')
  parser.add_argument('--seeds', default='', help='default: 777 on dev, TEST_SEEDS on test')
  parser.add_argument('--steps', type=int, default=0, help="0 = the config's total_iters (the main job's length)")
  parser.add_argument('--workdir', default=os.path.join(REPO, 'runs', 'benchmark'))
  parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'results'))
  parser.add_argument('--num_pairs', type=int, default=500)
  parser.add_argument('--num_latent', type=int, default=500)
  parser.add_argument('--variant', default='style_domains', choices=('style_domains', 'species'),
                      help="the built-in dataset; species (each domain its own shape) runs the recipe unchanged, "
                           "into <out>_species")
  parser.add_argument('--table_only', action='store_true')
  parser.add_argument('--reevaluate', action='store_true',
                      help='evaluate finished runs that lack a metric of the table again, from their checkpoints')
  args = parser.parse_args()
  seeds = [int(v) for v in args.seeds.split(',') if v] or (list(TEST_SEEDS) if args.split == 'test' else [777])
  if args.variant != 'style_domains':
    if args.reevaluate:
      raise SystemExit('--reevaluate is for the style_domains runs.')
    if args.out == parser.get_default('out') and args.split == 'dev':
      args.out = os.path.join(REPO, 'docs', 'results', f'image_dev_{args.variant}')
  if args.split == 'test':
    if args.out == parser.get_default('out'):
      args.out = os.path.join(REPO, 'docs', 'results', 'image_test' + (
          '' if args.variant == 'style_domains' else f'_{args.variant}'))
    if [v for v in seeds if v not in TEST_SEEDS] or args.steps or args.style_dims:
      raise SystemExit(f'A test run trains the committed configurations at their own length and style_dim on '
                       f'TEST_SEEDS = {list(TEST_SEEDS)}: drop --steps, --style_dims and other seeds.')
    trials = [c for c in args.configs.split(',') if _base(c) != c]
    if trials:
      raise SystemExit(f'{trials[0]!r} changes a committed configuration: try it on dev seeds, and commit it as a '
                       'configuration before a test run.')
    if not args.table_only and provenance.dirty(provenance.IMAGE + ['configs/synthetic.py']):
      raise SystemExit('The training or evaluation code has uncommitted changes: a test run must be made from a '
                       'committed tree.')
  elif [v for v in seeds if v in TEST_SEEDS]:
    raise SystemExit(f'Seeds {[v for v in seeds if v in TEST_SEEDS]} are test seeds: run them with --split=test.')
  os.makedirs(args.out, exist_ok=True)
  if not args.table_only:
    eval_kwargs = dict(num_pairs=args.num_pairs, num_latent=args.num_latent)
    for seed in seeds:
      for style_dim in [int(d) for d in args.style_dims.split(',') if d] or [None]:
        for config_name in args.configs.split(','):
          if _base(config_name) not in ALL:
            raise SystemExit(f'Unknown configuration {config_name!r}; choose from {", ".join(ALL)}.')
          d = style_dim or int(make_config(config_name, None, seed, None, args.variant).style_dim)
          done = os.path.exists(os.path.join(args.out, run_name(config_name, d, seed, args.variant) + '.json'))
          if args.reevaluate:
            if done:
              reevaluate(config_name, d, seed, args.workdir, args.out, eval_kwargs)
            continue
          if done:
            continue
          run_one(config_name, style_dim, seed, args.steps, args.workdir, args.out, eval_kwargs, args.variant)
          build_table(args.out)
  build_table(args.out)


if __name__ == '__main__':
  main()

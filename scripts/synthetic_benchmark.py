"""The synthetic identifiability benchmark: StarGAN v2 against DSS and its ablations, on a CPU.

  python scripts/synthetic_benchmark.py                       # every run that has no result yet
  python scripts/synthetic_benchmark.py --configs=dss --style_dims=2 --seeds=0   # one run
  python scripts/synthetic_benchmark.py --table_only          # rebuild docs/results/RESULTS.md and docs/results.md
  python scripts/synthetic_benchmark.py --reevaluate          # new metrics for finished runs, from their checkpoints

Configurations (configs/synthetic.py, style_domains variant, 32 px, n = 2 style factors, K = 5):
  stargan_v2  the baseline (MLP mapping, lambda_uni = lambda_smooth = 0)
  flow        DSS's flow mapping only (lambda_uni = lambda_smooth = 0)
  flow_uni    flow + unification loss
  dss         flow + unification + smoothness (full DSS)
and experiments beyond METHOD.md, run only when named in --configs (docs/experiments.md):
  dss_uni_both   full DSS, L_uni moves the flow as well as the style encoder
  dss_flow_nll   full DSS, the flow also fits the reference codes E(x, u) by maximum likelihood
  dss_sty_z      full DSS, L_sty compares F^-1(E(G(x, s)), u) with z (the flow's base space)
each at style_dim = n (the theorem's setting) and at the config's default style_dim, with the same
budget, widths and seeds. Each (configuration, style_dim, seed) run trains in its own workdir (a killed
run resumes), is evaluated with `evaluate_synthetic`, and writes docs/results/<run>.json and a grid PNG
as soon as it finishes; the table is rebuilt from whatever results are present.
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
CONFIGS = ['stargan_v2', 'flow', 'flow_uni', 'dss']
# Ablations and experiments beyond METHOD.md, run only when named in --configs.
EXPERIMENTS = ['stargan_v2_smooth', 'stargan_v2_uni', 'dss_uni_both', 'dss_flow_nll', 'dss_sty_z']
ALL = CONFIGS + EXPERIMENTS
# Columns of the results table: (flattened metric name, header).
COLUMNS = [
    ('mcc/mean', 'MCC'),
    ('mcc_random_encoder/mean', 'MCC untrained'),
    ('dci/disentanglement', 'DCI D'),
    ('dci_random_encoder/disentanglement', 'DCI D untrained'),
    ('dci/completeness', 'DCI C'),
    ('dci/informativeness', 'DCI I'),
    ('counterfactual/model/l1', 'CF L1'),
    ('counterfactual/model/l1_object', 'CF L1 obj'),
    ('counterfactual/model/psnr_object', 'CF PSNR obj'),
    ('counterfactual/model/iou', 'CF IoU'),
    ('latent_quality/domain_accuracy', 'dom acc'),
    ('latent_quality/content_corr/x', 'x r'),
    ('latent_quality/content_corr/size', 'size r'),
    ('latent_quality/shape_accuracy', 'shape acc'),
    ('latent_quality/style_wasserstein_mean', 'style W1'),
    ('unification/frechet_mean', 'uni FD'),
    ('unification/frechet_relative_mean', 'uni FD rel'),
    ('unification/accuracy_mean', 'uni acc'),
    ('smoothness/mean', 'smooth'),
    ('latent_mcc/mean', 'latent MCC'),
    ('latent_mcc_untrained/mean', 'latent MCC untrained'),
    ('wall_minutes', 'min'),
]


def run_name(config_name, style_dim, seed):
  return f'{config_name}_sd{style_dim}_seed{seed}'


def make_config(config_name, style_dim, seed, steps):
  from configs import synthetic
  config = synthetic.get_config(config_name)
  config.style_dim = style_dim
  config.seed = seed
  config.total_iters = steps
  config.ds_iter = steps
  config.checkpoint_every = max(steps // 4, 1)
  config.sample_every = steps
  return config


def run_one(config_name, style_dim, seed, steps, workdir_root, out_dir, eval_kwargs):
  from dss_jax import evaluate, train
  from dss_jax.metrics import report
  name = run_name(config_name, style_dim, seed)
  config = make_config(config_name, style_dim, seed, steps)
  workdir = os.path.join(workdir_root, name)
  print(f'[{time.strftime("%H:%M:%S")}] {name}: training {steps} steps in {workdir}', flush=True)
  t0 = time.time()
  state = train.train_and_evaluate(config, workdir)
  train_s = time.time() - t0
  print(f'[{time.strftime("%H:%M:%S")}] {name}: evaluating', flush=True)
  metrics = evaluate.evaluate_synthetic(config, state, workdir, seed=seed,
                                        oracle_dir=os.path.join(workdir_root, 'oracle'), **eval_kwargs)
  metrics.update(configuration=config_name, style_dim=style_dim, seed=seed, steps=steps,
                 train_minutes=train_s / 60, wall_minutes=(time.time() - t0) / 60,
                 machine=f'{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}',
                 **provenance.stamp(provenance.IMAGE))
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


def build_table(out_dir):
  """docs/results/RESULTS.md: configuration x metric, mean ± std over the seeds present."""
  from dss_jax.metrics import report
  runs = {}
  for file in sorted(os.listdir(out_dir)):
    if file.endswith('.json'):
      with open(os.path.join(out_dir, file)) as f:
        m = json.load(f)
      runs.setdefault((m['configuration'], m['style_dim'], m['steps']), []).append(m)
  order = list(ALL)
  stale = lambda ms: '' if all(provenance.is_current(m, provenance.IMAGE) for m in ms) else ' (stale)'
  rows = {f'{c} (style_dim {d}, {s} steps){stale(ms)}': [{k: report.flatten(m).get(k) for k, _ in COLUMNS} for m in ms]
          for (c, d, s), ms in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][2], order.index(kv[0][0])))}
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
  text = ('# Synthetic benchmark results\n\nBuilt by `scripts/synthetic_benchmark.py` from the JSON files in this '
          f'folder. Machine(s): {", ".join(machines) or "none yet"}. Cells are mean ± std over seeds.\n\n'
          + table + '\n')
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
  parser.add_argument('--style_dims', default='2,16', help='2 = n (the theorem), 16 = configs/synthetic.py default')
  parser.add_argument('--seeds', default='0,1')
  parser.add_argument('--steps', type=int, default=1000)
  parser.add_argument('--workdir', default=os.path.join(REPO, 'runs', 'benchmark'))
  parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'results'))
  parser.add_argument('--num_pairs', type=int, default=500)
  parser.add_argument('--num_latent', type=int, default=500)
  parser.add_argument('--table_only', action='store_true')
  parser.add_argument('--reevaluate', action='store_true',
                      help='evaluate finished runs that lack a metric of the table again, from their checkpoints')
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  if not args.table_only:
    eval_kwargs = dict(num_pairs=args.num_pairs, num_latent=args.num_latent)
    for seed in [int(s) for s in args.seeds.split(',')]:
      for style_dim in [int(d) for d in args.style_dims.split(',')]:
        for config_name in args.configs.split(','):
          if config_name not in ALL:
            raise SystemExit(f'Unknown configuration {config_name!r}; choose from {", ".join(ALL)}.')
          done = os.path.exists(os.path.join(args.out, run_name(config_name, style_dim, seed) + '.json'))
          if args.reevaluate:
            if done:
              reevaluate(config_name, style_dim, seed, args.workdir, args.out, eval_kwargs)
            continue
          if done:
            continue
          run_one(config_name, style_dim, seed, args.steps, args.workdir, args.out, eval_kwargs)
          build_table(args.out)
  build_table(args.out)


if __name__ == '__main__':
  main()

"""Makes the model shipped with dss_jax (dss_jax/assets/synthetic_main: `python -m dss_jax.demo` opens it).

  python scripts/make_shipped_model.py                 # train README's main job (seed 8101), measure it, bundle it
  python scripts/make_shipped_model.py --run=runs/benchmark/main_sd2_seed8101 \\
      --results=docs/results/image_test/main_sd2_seed8101.json   # bundle a finished run of the same job

The shipped model is README's main job (configs/synthetic.py, no argument: the configuration README recommends;
`--config_arg` names another when the recommendation changes) on the built-in synthetic data, 3,000 steps. Steps:

1. train it, unless --run already holds its last checkpoint: `python -m dss_jax.main --config=configs/synthetic.py
   --config.seed=SEED --workdir=RUN` (the benchmark trains the same run as `main_sd2_seed<SEED>`);
2. measure it against the data's true factors (scripts/image_recovery.py, unless RUN/image_recovery.json exists):
   R2 of the true style and content from E's codes, the shared-permutation MCC, and what each slider moves over
   -3..3 (the factor it moves most and that factor's share), which the page uses to name the sliders;
3. write the bundle (dss_jax/bundle.py): config.json, the EMA weights, and model.json with the command, the commit
   and whether the tree was clean, the steps, the minutes it trained, the measured figures and, with --results
   (the benchmark's JSON of the same run), its benchmark row (MCC, latent MCC, edit purity).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import provenance

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

BENCHMARK_KEYS = [('mcc', 'mean'), ('mcc_random_encoder', 'mean'), ('latent_mcc', 'mean'), ('edit', 'purity_gain'),
                  ('reference_style', 'spearman_min'), ('latent_quality', 'shape_accuracy')]


def slider_names(sliders: list, style_names) -> list:
  """image_recovery's per-(component, range) rows -> per component over the whole range -3..3: the factor it
  moves most, that factor's share of all style change, and the shares inside |v| <= 1 and beyond."""
  import numpy as np
  out = {}
  for row in sliders:
    entry = out.setdefault(row['component'], {'component': row['component'], 'change': np.zeros(len(style_names))})
    entry['change'] += np.asarray(row['style_change'])
    entry[f'share_{row["range"]}'] = row['share']
    entry[f'factor_{row["range"]}'] = style_names[row['factor']]
  result = []
  for c in sorted(out):
    entry = out[c]
    change = entry.pop('change')
    factor = int(np.argmax(change))
    result.append({**entry, 'factor': style_names[factor], 'share': float(change[factor] / max(change.sum(), 1e-12))})
  return result


def made_by(run, args) -> str:
  """This script's command line as it reads inside the repository (the run in runs/benchmark, its JSON in
  docs/results/image_test, where the benchmark puts them), so no machine's path is recorded."""
  name = os.path.basename(run)
  words = ['python scripts/make_shipped_model.py', f'--run=runs/benchmark/{name}']
  if args.results:
    words.append(f'--results=docs/results/image_test/{name}.json')
  if args.config_arg:
    words.append(f'--config_arg={args.config_arg}')
  return ' '.join(words)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--run', default=os.path.join(REPO, 'runs', 'shipped'), help='workdir of the run to ship')
  parser.add_argument('--seed', type=int, default=8101, help='config.seed when this script trains the run')
  parser.add_argument('--config_arg', default='', help="configs/synthetic.py's argument ('' = README's main job)")
  parser.add_argument('--results', default='', help="the benchmark's JSON of the same run (optional)")
  parser.add_argument('--out', default=os.path.join(REPO, 'dss_jax', 'assets', 'synthetic_main'))
  args = parser.parse_args()
  from configs import synthetic
  from dss_jax import bundle, inference
  from dss_jax import workdir as workdir_lib
  from dss_jax.datasets import synthetic as synthetic_data
  config_flag = 'configs/synthetic.py' + (f':{args.config_arg}' if args.config_arg else '')
  steps = int(synthetic.get_config(args.config_arg).total_iters)
  run = os.path.abspath(args.run)
  results = {}
  if args.results:
    with open(args.results) as f:
      results = json.load(f)
  if workdir_lib.latest_step(run) != steps:
    command = [sys.executable, '-m', 'dss_jax.main', f'--config={config_flag}', f'--config.seed={args.seed}',
               f'--workdir={run}']
    print(f'[{time.strftime("%H:%M:%S")}] training: {" ".join(command[1:])}', flush=True)
    stamp = provenance.stamp(provenance.IMAGE + ['configs/synthetic.py'])
    start = time.time()
    subprocess.run(command, cwd=REPO, check=True)
    trained = {'command': 'python ' + ' '.join(command[1:]).replace(REPO + '/', ''),
               'train_minutes': (time.time() - start) / 60, 'commit': stamp['commit'], 'dirty': stamp['dirty']}
  elif results:
    trained = {'command': (f'python scripts/synthetic_benchmark.py --split=test --configs={results["configuration"]} '
                           f'--seeds={results["seed"]} (README\'s main job with config.seed={results["seed"]})'),
               'train_minutes': results.get('train_minutes'), 'commit': results['commit'], 'dirty': results['dirty']}
  else:
    raise SystemExit(f'{run} is trained but this script did not train it: give --results (the benchmark JSON that '
                     'records its command and commit), or a new --run to train.')
  recovery_path = os.path.join(run, 'image_recovery.json')
  if not os.path.exists(recovery_path):
    subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'image_recovery.py'), run], cwd=REPO, check=True)
  with open(recovery_path) as f:
    recovery = json.load(f)
  t = inference.Translator.from_workdir(run)
  names = synthetic_data.STYLE_NAMES[:t.config.synthetic.n_style]
  meta = {
      'description': "README's main job on the synthetic data" if not args.config_arg else
                     f'configs/synthetic.py:{args.config_arg} on the synthetic data',
      'config': config_flag, 'seed': int(t.config.seed), **trained,
      'made_by': made_by(run, args),
      'measured': {
          'r2_style': recovery['r2_style'], 'r2_content': recovery['r2_content'],
          'r2_style_factor': dict(zip(names, recovery['r2_style_factor'])),
          'shape_from_codes': recovery['shape_from_codes'], 'mcc_shared': recovery['mcc_shared'],
          'by': 'scripts/image_recovery.py on the synthetic test split'},
      'sliders': slider_names(recovery['sliders'], names),
  }
  if results:
    meta['benchmark'] = {f'{a}/{b}': results[a][b] for a, b in BENCHMARK_KEYS if a in results and b in results[a]}
  path = bundle.write(os.path.abspath(args.out), t, meta)
  size = sum(os.path.getsize(os.path.join(path, n)) for n in bundle.FILES)
  print(f'Wrote {os.path.relpath(path, REPO)} ({size / 1e6:.2f} MB): step {t.step}, trained at {meta["commit"][:10]}'
        f'{" (dirty tree)" if meta["dirty"] else ""}; sliders: ' + ', '.join(
            f'{s["component"]} -> {s["factor"]} ({s["share"]:.2f})' for s in meta['sliders']), flush=True)


if __name__ == '__main__':
  main()

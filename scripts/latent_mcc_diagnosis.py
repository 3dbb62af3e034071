"""Why a model's latent codes align with the true factors less (or more) than its encoder: one run at a time.

  python scripts/latent_mcc_diagnosis.py runs/benchmark/main_sd2_seed8101 runs/benchmark/stargan_v2_sd2_seed8101

Latent MCC (evaluate.py) asks whether the components of a latent code s = F(z, u) are painted as separate
true factors: |Spearman| between s and the style the oracle reads from G(x, s), matched one to one, per domain.
Its failure can come from three places, measured here on the same sources, per target domain u, by the same
oracle and the same matching (identifiability.mcc):
  latent MCC      s = F(z, u) (z ~ N(0, I)) against the style read from G(x, s): the number to explain;
  reference MCC   s = E(x_ref, u) (test images of u) against the style read from G(x, s): the same generator
                  on the encoder's codes. High here and low above: G paints the encoder's region of the style
                  space faithfully and the latent codes land somewhere it does not;
  encoder MCC     the true factors of x_ref against E(x_ref, u) (evaluate.py's MCC);
  read-back       |Spearman| of each component of s = F(z, u) with the same component of E(G(x, s), u), mean
                  over components: does the encoder recover the latent code (L_sty's job)? Low: the generator
                  ignores the component (or paints it where E does not look);
  coverage        per component, std of F(z, u) over std of E(x_ref, u), and their means' distance in units
                  of the encoder's std: where the latent codes lie relative to the reference codes.
Writes <run>/latent_mcc_diagnosis.json and prints one table. Uses the benchmark's cached oracle
(<runs root>/oracle, `--oracle_dir`). `--pooled` reads finished diagnoses instead, and asks over every (run, target
domain) what tracks the codes' step:
  python scripts/latent_mcc_diagnosis.py --pooled docs/results/image_test/latent_mcc_diagnosis/*.json
"""

import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def repo_path(path):
  """`path` relative to the repository root when it lies inside it (e.g. 'runs/benchmark/main_sd2_seed8101'), so a
  result copied into docs/results names the same run on every checkout; a path outside the repository stays
  absolute (it has no name that holds elsewhere; tests/test_docs.py refuses it under docs/results)."""
  path = os.path.abspath(path)
  relative = os.path.relpath(path, REPO)
  return path if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


def diagnose(workdir, oracle_dir, per_domain=200, seed=0):
  from dss_jax import inference
  from dss_jax.datasets import registry
  from dss_jax.metrics import identifiability, oracle

  t = inference.Translator.from_workdir(workdir)
  config = t.config
  data = registry.arrays(config, 'test')
  x, y, style = (np.asarray(data[k]) for k in ('image', 'label', 'style'))
  orc = oracle.get_oracle(oracle_dir, config.synthetic.n_style, registry.synthetic_variant(config), config.img_size,
                          per_domain=config.synthetic.get('oracle_per_domain', 2000),
                          steps=config.synthetic.get('oracle_steps', 1500))
  rng = np.random.default_rng(seed)
  rows = {}
  for u in range(config.num_domains):
    refs = np.nonzero(y == u)[0]
    sources = x[rng.choice(np.nonzero(y != u)[0], per_domain)]
    s_lat = t.style_from_z(rng.standard_normal((per_domain, t.z_dim)).astype(np.float32), np.full(per_domain, u))
    s_ref = t.encode_style(x[refs], np.full(len(refs), u))
    out_lat = np.clip(t.generate(sources, s_lat), -1.0, 1.0)
    out_ref = np.clip(t.generate(sources[rng.integers(0, per_domain, len(refs))], s_ref), -1.0, 1.0)
    read_lat = oracle.oracle_predict(orc, out_lat)['style']
    read_ref = oracle.oracle_predict(orc, out_ref)['style']
    back = t.encode_style(out_lat, np.full(per_domain, u))
    read_back = np.abs(np.diag(identifiability.spearman_matrix(s_lat, back)))  # Component i against i.
    ref_std = s_ref.std(0)
    rows[u] = {
        'latent_mcc': identifiability.mcc(read_lat, s_lat)['mcc'],
        'reference_mcc': identifiability.mcc(read_ref, s_ref)['mcc'],
        'encoder_mcc': identifiability.mcc(style[refs], s_ref)['mcc'],
        'read_back': float(np.mean(read_back)),
        'coverage_std_ratio': [float(v) for v in s_lat.std(0) / np.maximum(ref_std, 1e-9)],
        'coverage_mean_shift': [float(v) for v in np.abs(s_lat.mean(0) - s_ref.mean(0)) / np.maximum(ref_std, 1e-9)],
    }
  keys = ('latent_mcc', 'reference_mcc', 'encoder_mcc', 'read_back')
  summary = {k: float(np.mean([r[k] for r in rows.values()])) for k in keys}
  summary['coverage_std_ratio'] = float(np.mean([np.mean(r['coverage_std_ratio']) for r in rows.values()]))
  summary['coverage_mean_shift'] = float(np.mean([np.mean(r['coverage_mean_shift']) for r in rows.values()]))
  result = {'workdir': repo_path(workdir), 'step': t.step, 'per_domain': rows, 'mean': summary,
            'settings': {'per_domain': per_domain, 'seed': seed}}
  with open(os.path.join(workdir, 'latent_mcc_diagnosis.json'), 'w') as f:
    json.dump(result, f, indent=1)
  return result


# What might explain the codes' step (latent MCC - reference MCC) of a target domain: its read-back, and how far
# the mapping's codes spread beyond (the largest component's std F/E) or lie away from the encoder's codes.
CANDIDATES = (('read-back', lambda d: d['read_back']), ('std F/E (max)', lambda d: max(d['coverage_std_ratio'])),
              ('mean shift (max)', lambda d: max(d['coverage_mean_shift'])))


def pooled(paths):
  """Spearman rho (and p) over every (run, target domain) of the diagnosis JSONs at `paths` between the codes'
  step and each of CANDIDATES, for all runs and per configuration (the file name before '_sd'). Returns
  {group: {candidate: (rho, p, n)}}."""
  from scipy import stats
  rows = []
  for path in paths:
    with open(path) as f:
      per_domain = json.load(f)['per_domain']
    group = os.path.basename(path).split('_sd')[0]
    rows += [(group, d['latent_mcc'] - d['reference_mcc'], [f(d) for _, f in CANDIDATES]) for d in per_domain.values()]
  out = {}
  for group in ['all'] + sorted({r[0] for r in rows}):
    chosen = [r for r in rows if group in ('all', r[0])]
    step = np.array([r[1] for r in chosen])
    values = np.array([r[2] for r in chosen])
    out[group] = {name: (*(float(v) for v in stats.spearmanr(values[:, i], step)), len(chosen))
                  for i, (name, _) in enumerate(CANDIDATES)}
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('workdirs', nargs='+', help='run folders; with --pooled, diagnosis JSON files')
  parser.add_argument('--oracle_dir', default='', help="default: the runs' parent folder's oracle/")
  parser.add_argument('--per_domain', type=int, default=200)
  parser.add_argument('--pooled', action='store_true',
                      help="read finished diagnoses (JSON files) and print what tracks the codes' step")
  args = parser.parse_args()
  if args.pooled:
    print("| runs | n (run, domain) | " + ' | '.join(f"rho with {name} (p)" for name, _ in CANDIDATES) + ' |')
    print('|' + '---|' * (2 + len(CANDIDATES)))
    for group, result in pooled(args.workdirs).items():
      n = next(iter(result.values()))[2]
      print(f'| {group} | {n} | ' + ' | '.join(f'{rho:+.2f} ({p:.3f})' for rho, p, _ in result.values()) + ' |')
    return
  head = ('run', 'latent MCC', 'reference MCC', 'encoder MCC', 'read-back', 'std F/E', 'mean shift')
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for workdir in args.workdirs:
    oracle_dir = args.oracle_dir or os.path.join(os.path.dirname(os.path.abspath(workdir)), 'oracle')
    m = diagnose(workdir, oracle_dir, args.per_domain)['mean']
    lines.append(f'| {os.path.basename(os.path.normpath(workdir))} | ' + ' | '.join(
        f'{m[k]:.3f}' for k in ('latent_mcc', 'reference_mcc', 'encoder_mcc', 'read_back', 'coverage_std_ratio',
                                'coverage_mean_shift')) + ' |')
    print(lines[-1], flush=True)
  print('\n'.join(lines))


if __name__ == '__main__':
  main()

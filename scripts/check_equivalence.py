"""Shows that a code change did not move stored results, by rerunning them at HEAD.

  python scripts/check_equivalence.py docs/results/vector/test/main/dss_uni_both_seed7001.json [more.json ...]
  python scripts/check_equivalence.py docs/results/vector_v3/test/main/dss_seed9001.json
  python scripts/check_equivalence.py docs/results/image_test/main_sd2_seed8101.json --reran=NEW.json

Each named vector result (benchmark v2 or v3) is trained again from its seed with today's code (the benchmark's
own loop, into a scratch folder) and every number of the two JSONs is compared exactly (timings, stamps and the
config record excepted). An image run takes ~27 CPU-minutes, so it is rerun beforehand by
`scripts/synthetic_benchmark.py --split=test --configs=<c> --seeds=<s> --out=<scratch>` at HEAD from a clean tree,
and --reran names that rerun's JSON (its commit's image code must be HEAD's). When all are identical, the pair
(code at the results' commit, code at HEAD) is recorded in docs/results/code_equivalence.json for the files that
benchmark's numbers depend on, and scripts/provenance.py counts those results as current again. One differing number
refuses, and says which. HEAD must be clean: the attestation names it.
"""

import argparse
import json
import os
import sys
import tempfile

import provenance
import vector_benchmark

SKIP = {'train_seconds', 'wall_seconds', 'train_minutes', 'wall_minutes', 'machine', 'trained_here', 'commit',
        'dirty', 'cpu', 'cpu_id', 'cpu_simd', 'jax', 'jaxlib', 'xla_flags', 'cores', 'config', 'variant'}


def differences(old: dict, new: dict, prefix=''):
  """Keys whose values differ (exactly), recursively; SKIP keys ignored at the top level."""
  out = []
  for key in sorted(set(old) | set(new)):
    if not prefix and key in SKIP:
      continue
    a, b = old.get(key), new.get(key)
    if isinstance(a, dict) and isinstance(b, dict):
      out += differences(a, b, f'{prefix}{key}.')
    elif a != b:
      out.append(f'{prefix}{key}: {a!r} -> {b!r}')
  return out


def _rerun_vector(path: str, old: dict, scratch: str) -> tuple[dict, list]:
  """Trains a stored vector result again at HEAD -> (new result, the files its numbers depend on)."""
  if old.get('overrides') or old['configuration'].startswith(vector_benchmark.TRIVIAL_PREFIX):
    raise SystemExit(f'{path}: only trained runs without overrides can be rerun here.')
  split = old.get('split', 'dev')
  if os.sep + 'vector_v3' + os.sep in os.path.abspath(path):
    import vector_benchmark_v3 as v3
    if old['configuration'] == 'ceiling' or old['configuration'].startswith('trivial:') or '+' in old['configuration']:
      raise SystemExit(f'{path}: only a trained configuration without trial keys can be rerun here.')
    v3.model_runs(old['configuration'], old['setting'], [old['seed']], scratch, split, old['steps'])
    with open(v3.run_path(scratch, split, old['setting'], old['configuration'], old['seed'])) as f:
      return json.load(f), v3.FILES
  vector_benchmark.train_seeds(old['configuration'], old['setting'], [old['seed']], old['steps'], scratch, split=split)
  with open(os.path.join(scratch, split, old['setting'], f'{old["configuration"]}_seed{old["seed"]}.json')) as f:
    return json.load(f), provenance.VECTOR


def _reran_image(path: str, reran: str) -> tuple[dict, list]:
  """An image result's rerun, made beforehand from a clean tree whose image code is HEAD's -> (its result,
  provenance.IMAGE)."""
  with open(reran) as f:
    new = json.load(f)
  commit = str(new.get('commit'))
  same = (not new.get('dirty', True) and commit != 'None'
          and provenance._code_hash(commit, provenance.IMAGE) == provenance._code_hash('HEAD', provenance.IMAGE))
  if not same:
    raise SystemExit(f'{reran}: it was trained at {commit[:7]}{" from a dirty tree" if new.get("dirty", True) else ""}'
                     '; the attestation needs a rerun of HEAD\'s image code from a clean tree.')
  return new, provenance.IMAGE


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('results', nargs='+')
  parser.add_argument('--reran', default='', help="an image result's rerun at HEAD (one result only)")
  parser.add_argument('--note', default='')
  args = parser.parse_args()
  if provenance.dirty(sorted(set(vector_benchmark.FROZEN_FILES + provenance.IMAGE))):
    raise SystemExit('Commit first: the attestation names HEAD, so the code must be committed.')
  if args.reran and len(args.results) != 1:
    raise SystemExit('--reran pairs one stored image result with its rerun: name one result.')
  attest = {}  # (files, commit) -> reruns
  for path in args.results:
    with open(path) as f:
      old = json.load(f)
    if args.reran:
      new, files = _reran_image(path, args.reran)
    else:
      with tempfile.TemporaryDirectory() as scratch:
        new, files = _rerun_vector(path, old, scratch)
    diff = differences(old, new)
    if diff:
      raise SystemExit(f'{path}: the rerun differs, so the change moves results ({"; ".join(diff[:5])}).')
    print(f'{path}: identical', flush=True)
    attest.setdefault((tuple(files), old['commit']), []).append(os.path.relpath(path, vector_benchmark.REPO))
  for (files, commit), reruns in attest.items():
    provenance.attest(list(files), commit, reruns, args.note)
  commits = sorted({c for _, c in attest})
  print(f'Recorded in {os.path.relpath(provenance.EQUIVALENCE, vector_benchmark.REPO)}: the code at '
        f'{", ".join(c[:7] for c in commits)} and at HEAD give identical results.')


if __name__ == '__main__':
  sys.exit(main())

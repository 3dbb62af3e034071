"""Shows that a code change did not move benchmark v2's results, by rerunning stored runs at HEAD.

  python scripts/check_equivalence.py docs/results/vector/test/main/dss_uni_both_seed7001.json [more.json ...]

Each named result is trained again from its seed with today's code (scripts/vector_benchmark.py's own loop, into
a scratch folder) and every number of the two JSONs is compared exactly (timings, stamps and the config record
excepted). When all are identical for every run, the pair (code at the results' commit, code at HEAD) is recorded
in docs/results/code_equivalence.json, and scripts/provenance.py counts those results as current again. One
differing number refuses, and says which. HEAD must be clean: the attestation names it.
"""

import argparse
import json
import os
import sys
import tempfile

import provenance
import vector_benchmark

SKIP = {'train_seconds', 'wall_seconds', 'commit', 'dirty', 'cpu', 'cpu_id', 'cpu_simd', 'jax', 'jaxlib', 'xla_flags',
        'cores', 'config'}


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


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('results', nargs='+')
  parser.add_argument('--note', default='')
  args = parser.parse_args()
  if provenance.dirty(vector_benchmark.FROZEN_FILES):
    raise SystemExit('Commit first: the attestation names HEAD, so the code must be committed.')
  commits, reruns = set(), []
  for path in args.results:
    with open(path) as f:
      old = json.load(f)
    if old.get('overrides') or old['configuration'].startswith(vector_benchmark.TRIVIAL_PREFIX):
      raise SystemExit(f'{path}: only trained runs without overrides can be rerun here.')
    with tempfile.TemporaryDirectory() as scratch:
      vector_benchmark.train_seeds(old['configuration'], old['setting'], [old['seed']], old['steps'], scratch,
                                   split=old.get('split', 'dev'))
      new_path = os.path.join(scratch, old.get('split', 'dev'), old['setting'],
                              f'{old["configuration"]}_seed{old["seed"]}.json')
      with open(new_path) as f:
        new = json.load(f)
    diff = differences(old, new)
    if diff:
      raise SystemExit(f'{path}: the rerun differs, so the change moves results ({"; ".join(diff[:5])}).')
    print(f'{path}: identical', flush=True)
    commits.add(old['commit'])
    reruns.append(os.path.relpath(path, vector_benchmark.REPO))
  for commit in sorted(commits):
    provenance.attest(provenance.VECTOR, commit, reruns, args.note)
  print(f'Recorded in {os.path.relpath(provenance.EQUIVALENCE, vector_benchmark.REPO)}: the code at '
        f'{", ".join(c[:7] for c in sorted(commits))} and at HEAD give identical results.')


if __name__ == '__main__':
  sys.exit(main())

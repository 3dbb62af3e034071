"""Which code a benchmark result was trained with, and whether that is still the current code.

Each run's JSON records `commit` (HEAD when it trained) and `dirty` (whether the files that decide its
numbers had uncommitted changes then). A result is current when it was trained from a clean tree and those
files are the same at its commit as at HEAD; otherwise the tables flag it as stale instead of mixing it
with current rows. Each benchmark names its files: a change of the console output in the image training
loop does not make a vector-data result stale, a change of the step does; Python files are compared by
their syntax trees without docstrings, so rewording documentation stales nothing. Config files are not hashed
whole: a result that records the config it trained with (`config`, flattened) is current only while its
configuration still builds that same config, so a new default in configs/synthetic.py stales the runs
it changes and no other.
"""

import ast
import functools
import hashlib
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The code every benchmark's numbers depend on.
COMMON = ['dss_jax/train_step.py', 'dss_jax/losses.py', 'dss_jax/state.py', 'dss_jax/models/__init__.py',
          'dss_jax/models/mapping.py', 'dss_jax/models/layers.py', 'dss_jax/models/discriminators.py',
          'dss_jax/inference.py', 'dss_jax/metrics/identifiability.py', 'configs/default.py']
VECTOR = COMMON + ['dss_jax/models/vector.py', 'dss_jax/datasets/vector.py', 'dss_jax/metrics/vector_eval.py',
                   'configs/vector.py']  # (+ scripts/vector_benchmark.py's train_seeds loop: rerun after changing it)
IMAGE = COMMON + ['dss_jax/models/generator.py', 'dss_jax/models/encoders.py', 'dss_jax/train.py',
                  'dss_jax/input_pipeline.py', 'dss_jax/datasets/synthetic.py', 'dss_jax/datasets/registry.py',
                  'dss_jax/evaluate.py', 'dss_jax/metrics/oracle.py']  # + the run's own config (is_current).


def _git(*args) -> str:
  return subprocess.run(['git', *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def _cpu() -> dict:
  """The processor as XLA's CPU code generation sees it: model name, family / model / stepping, and the SIMD
  flags it can target (a virtual machine may report only 'AMD EPYC' as its name; the rest tells two apart)."""
  info = {}
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if ':' not in line:
          if info:
            break  # The first processor's block is enough.
          continue
        key, value = (part.strip() for part in line.split(':', 1))
        info.setdefault(key, value)
  except OSError:
    return {'cpu': 'unknown'}
  simd = sorted(flag for flag in info.get('flags', '').split()
                if flag.startswith(('avx', 'sse', 'fma', 'f16c', 'amx')) or flag in ('bmi1', 'bmi2'))
  return {'cpu': info.get('model name', 'unknown'),
          'cpu_id': '/'.join(info.get(k, '?') for k in ('vendor_id', 'cpu family', 'model', 'stepping', 'microcode')),
          'cpu_simd': ' '.join(simd)}


def dirty(files) -> bool:
  """Whether any of `files` has uncommitted changes now."""
  return bool(_git('status', '--porcelain', '--', *files))


def stamp(files) -> dict:
  """The tree and machine now, for a result's JSON: commit, dirty, the processor (`_cpu`), jax and jaxlib,
  XLA_FLAGS and the number of cores. XLA's CPU code (so the last digits of a result, and after thousands of
  steps sometimes more) depends on the processor, the flags, the thread count and the versions, so a rerun on
  another machine type matches to a tolerance (docs/results.md measures it), not bit for bit."""
  import jax
  import jaxlib
  return {'commit': _git('rev-parse', 'HEAD'), 'dirty': dirty(files), **_cpu(), 'jax': jax.__version__,
          'jaxlib': jaxlib.__version__, 'xla_flags': os.environ.get('XLA_FLAGS', ''), 'cores': os.cpu_count()}


def _code(path: str, source: bytes) -> bytes:
  """What of a file decides results: for Python, its syntax tree without docstrings (comments are not in
  it), so that rewording documentation does not stale a result; other files byte for byte."""
  if not path.endswith('.py'):
    return source
  try:
    tree = ast.parse(source)
  except SyntaxError:
    return source
  for node in ast.walk(tree):
    body = getattr(node, 'body', None)
    if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
        and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)):
      node.body = body[1:] or [ast.Pass()]
  return ast.dump(tree).encode()


@functools.cache
def _code_hash_at(sha: str, files: tuple) -> str:
  h = hashlib.sha256()
  for path in files:
    h.update(path.encode())
    source = subprocess.run(['git', 'show', f'{sha}:{path}'], cwd=REPO, capture_output=True).stdout
    h.update(_code(path, source))
  return h.hexdigest()


def _code_hash(commit: str, files) -> str:
  """Hash of what decides results in `files` at `commit` (a sha or HEAD). Cached per sha: a table checks every
  run against HEAD, and HEAD is resolved on each call, so a commit made meanwhile is seen."""
  return _code_hash_at(_git('rev-parse', commit), tuple(files))


# Code changes shown not to move results: scripts/check_equivalence.py reruns stored results at a new commit and,
# when every number comes back identical, records the pair of code hashes here.
EQUIVALENCE = os.path.join(REPO, 'docs', 'results', 'code_equivalence.json')


def _attested() -> list:
  import json
  if not os.path.exists(EQUIVALENCE):
    return []
  with open(EQUIVALENCE) as f:
    return json.load(f)


def _equivalent(old: str, new: str) -> bool:
  """Whether code hash `old` reaches `new` through attested equivalences (each one a rerun with identical
  numbers)."""
  edges = {}
  for entry in _attested():
    edges.setdefault(entry['from_hash'], set()).add(entry['to_hash'])
  seen, frontier = {old}, [old]
  while frontier:
    for nxt in edges.get(frontier.pop(), ()):
      if nxt == new:
        return True
      if nxt not in seen:
        seen.add(nxt)
        frontier.append(nxt)
  return False


def attest(files, from_commit: str, runs: list, note: str = ''):
  """Records that the code of `files` at HEAD gives the same numbers as at from_commit (runs: what was rerun)."""
  import datetime
  import json
  entries = _attested()
  entries.append({'files': list(files), 'from_commit': _git('rev-parse', from_commit),
                  'from_hash': _code_hash(from_commit, files), 'to_commit': _git('rev-parse', 'HEAD'),
                  'to_hash': _code_hash('HEAD', files), 'runs': runs, 'note': note,
                  'date': datetime.date.today().isoformat(), **_cpu()})
  tmp = EQUIVALENCE + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(entries, f, indent=1)
  os.replace(tmp, EQUIVALENCE)


def is_current(result: dict, files, config_now=None) -> bool:
  """Whether a result was trained from a clean tree whose `files` are the same as at HEAD (or shown by a rerun
  to give the same numbers: `attest`) and, with config_now (the flattened config its configuration builds
  today), from that same config."""
  commit = result.get('commit')
  if result.get('dirty', True) or not commit:
    return False
  if config_now is not None and result.get('config') != config_now:
    return False
  old, new = _code_hash(commit, files), _code_hash('HEAD', files)
  return old == new or _equivalent(old, new)

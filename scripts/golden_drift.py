"""How far tests/test_golden.py's 20-step run drifts when XLA compiles it for other processors: its tolerances.

  PYTHONPATH=. python scripts/golden_drift.py            # runs the 20 steps 4 times (~5-10 min each on 2 cores)
  PYTHONPATH=. python scripts/golden_drift.py --write    # and stores 3 x the largest drift as the tolerances

Bit identity of the trained trees holds only on one processor: XLA's CPU code (vector width, fused
multiply-adds, reduction order, exp/log approximations) differs between processors, and GAN training
amplifies a last-bit difference over 20 steps. To see how far, the run is repeated in fresh processes with
the tests' XLA_FLAGS plus each of --variants (code for an older processor's instruction set, fast math) and
compared with the run under the tests' flags alone: per tree (params, ema, Adam's nu of generator, style,
discriminator), the distance |a - b| and, for scale, how far 20 steps move the parameters from their start
(|x_20 - x_0| of the baseline). --write stores TOLERANCE_FACTOR x the largest distance of each tree in
tests/golden/train_20_steps.json, with the baseline's projections (test_golden.projections).

--dumps=base.npz,variant.npz,... analyses dumps written earlier (--dump=PATH writes one: the child mode).
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests'))

import conftest  # noqa: E402, F401  (the tests' XLA_FLAGS, before jax is imported)
import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

_DUMP = flags.DEFINE_string('dump', None, 'Child mode: run the 20 steps of both configs and save the trees here.')
_DUMPS = flags.DEFINE_list('dumps', [], 'Analyse these dumps (the first is the baseline) instead of running.')
_VARIANTS = flags.DEFINE_list('variants', ['--xla_cpu_max_isa=SSE4_2', '--xla_cpu_max_isa=AVX2',
                                           '--xla_cpu_enable_fast_math=true'], 'XLA flags added to the tests\' flags.')
_WRITE = flags.DEFINE_bool('write', False, 'Store the tolerances (and the baseline projections) in the golden file.')

TOLERANCE_FACTOR = 3.0
CONFIGS = {'dss': '', 'stargan_v2': 'stargan_v2'}


def _dump(path):
  import test_golden
  jax.config.update('jax_enable_compilation_cache', False)  # The cache would hand back the baseline's code.
  arrays = {}
  for name, arg in CONFIGS.items():
    state = test_golden.run_20_steps(arg, tempfile.mkdtemp(prefix='golden_drift_'))
    for part, tree, path_str, leaf in test_golden.state_items(state):
      arrays[f"{name}|{part}['{tree}']{path_str}"] = np.asarray(leaf)
  np.savez(path, **arrays)


def _load(path, config_name):
  """A dump's trees of one config -> test_golden.flat_trees vectors."""
  import test_golden
  data = np.load(path)
  items = []
  for key in data.files:
    m = re.match(r"(\w+)\|(params|ema|opt_state)\['([^']+)'\](.*)$", key)
    if m and m.group(1) == config_name:
      items.append((m.group(2), m.group(3), m.group(4), data[key]))
  return test_golden.flat_trees(items)


def _initial(arg):
  """The baseline's starting trees (train_and_evaluate's init), for the scale |x_20 - x_0|."""
  import test_golden
  from conftest import tiny_config

  from dss_jax import train
  config = tiny_config(arg)
  state = train.create_train_state(config, jax.random.split(jax.random.key(config.seed))[0])
  return test_golden.flat_trees(test_golden.state_items(state))


def main(argv):
  del argv
  if _DUMP.value:
    return _dump(_DUMP.value)
  import json

  import test_golden
  dumps = list(_DUMPS.value)
  labels = ['tests\' flags'] + list(_VARIANTS.value)
  if not dumps:
    out = tempfile.mkdtemp(prefix='golden_drift_')
    base_flags = os.environ.get('XLA_FLAGS', '')
    for i, extra in enumerate([''] + list(_VARIANTS.value)):
      dumps.append(os.path.join(out, f'run{i}.npz'))
      env = dict(os.environ, XLA_FLAGS=f'{base_flags} {extra}'.strip())
      print(f'running the 20 steps with XLA_FLAGS={env["XLA_FLAGS"]!r} ...', flush=True)
      subprocess.run([sys.executable, __file__, f'--dump={dumps[-1]}'], env=env, check=True)
  else:
    labels = [os.path.basename(d) for d in dumps]
  golden = json.loads(test_golden.GOLDEN.read_text())
  for name, arg in CONFIGS.items():
    base = _load(dumps[0], name)
    start = _initial(arg)
    key = f'synthetic:{arg}' if arg else 'synthetic'
    print(f'\n{key}: distance to the baseline ({labels[0]}) per tree; travel = |x_20 - x_0| of the baseline')
    tolerance = {}
    for tree, vector in base.items():
      distances = [float(np.linalg.norm(_load(d, name)[tree] - vector)) for d in dumps[1:]]
      travel = float(np.linalg.norm(vector - start[tree]))
      tolerance[tree] = TOLERANCE_FACTOR * max(distances)
      cells = ', '.join(f'{label} {d:.3g}' for label, d in zip(labels[1:], distances))
      print(f'  {tree:24s} travel {travel:.3g}; {cells}; max/travel {max(distances) / travel:.3f}; '
            f'tolerance {tolerance[tree]:.3g}')
    if _WRITE.value:
      entry = golden.setdefault(key, {})
      if 'exact' not in entry:  # The hashes of before per-machine keys: made by this baseline's machine.
        old = {k: entry.pop(k) for k in ('params', 'ema', 'opt_state', 'step') if k in entry}
        entry['exact'] = {test_golden.fingerprint(): old} if old else {}
      entry.update(step=test_golden.STEPS, tolerance=tolerance,
                   projections={tree: test_golden.projections(v) for tree, v in base.items()})
  if _WRITE.value:
    test_golden.GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + '\n')
    print(f'\nwrote {test_golden.GOLDEN}')


if __name__ == '__main__':
  app.run(main)

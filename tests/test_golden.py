"""Behaviour lock: a fixed-seed 20-step run of the tiny synthetic config (DSS and `:stargan_v2`), and the
`--mode=summary` parameter counts of every shipped config, against `tests/golden/train_20_steps.json`.

Two locks on the 20-step run's parameters, optimizer states and EMA:

- **Bit identity, on the machine that made the hashes.** The sha256 of every tree is stored under a
  fingerprint of the processor and software (CPU vendor, family, model, stepping and feature flags, core
  count, jax/jaxlib, XLA_FLAGS: what decides the code XLA generates and its reduction orders). Where this
  machine's fingerprint has hashes, a refactor must not change a single bit. Elsewhere they are not
  checked: XLA's CPU code is not bit-identical across processors (another 2-core AMD EPYC got other bits).
- **Everywhere, a tolerance.** Each tree (params, ema and Adam's second moments, of generator, style
  and discriminator: `flat_trees`) is summarised by 16 fixed random projections (`projections`); the RMS
  difference of two runs' projections estimates the distance between their trees, and must stay under
  the tree's tolerance: 3 times (scripts/golden_drift.py's TOLERANCE_FACTOR) the largest distance
  measured between this run and the same run compiled for other processors' code (--xla_cpu_max_isa=SSE4_2,
  --xla_cpu_max_isa=AVX2, --xla_cpu_enable_fast_math). GAN training amplifies a last-bit difference:
  after 20 steps those runs ended 3-20% of the way the parameters travel in 20 steps (|x_20 - x_0|)
  from this one (AVX2 code gave the same bits as this AVX-512 machine's). What this lock sees, measured
  on the DSS run: the learning rate x 1.25 is caught (Adam's second moments of the generator 11 times
  their tolerance away, the discriminator's parameters 3.5 times); a tree left untrained would sit its
  whole travel away, 1.7 (style) to 9.5 (discriminator) tolerances; lambda_sty x 1.25 is not caught (0.79
  of a tolerance at most): a small reweighting is lost in the rounding noise 20 GAN steps amplify. The
  hashes catch it on their machine.

A change that is meant to alter training regenerates the hashes (on this machine only) and projections,
then the tolerances, and says so in its commit:

  DSS_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py && python scripts/golden_drift.py --write
"""

import hashlib
import json
import os

import jax
import numpy as np
import pytest
from conftest import REPO, tiny_config

GOLDEN = REPO / 'tests' / 'golden' / 'train_20_steps.json'
STEPS = 20
UPDATE = os.environ.get('DSS_UPDATE_GOLDEN') == '1'


def _batches(config, seed=0):
  """Fixed numpy batches (no TensorFlow): the step, not the input pipeline, is under test."""
  rng = np.random.default_rng(seed)
  shape = (config.batch_size, config.img_size, config.img_size, 3)
  while True:
    yield {'x_src': rng.uniform(-1, 1, shape).astype(np.float32),
           'y_src': rng.integers(0, config.num_domains, config.batch_size).astype(np.int32),
           'x_ref': rng.uniform(-1, 1, shape).astype(np.float32),
           'x_ref2': rng.uniform(-1, 1, shape).astype(np.float32),
           'y_trg': rng.integers(0, config.num_domains, config.batch_size).astype(np.int32)}


def tree_digest(tree) -> str:
  """sha256 over every leaf's path, dtype, shape and bytes (leaves in path order)."""
  h = hashlib.sha256()
  leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(tree))[0]
  for path, leaf in sorted(leaves, key=lambda pl: jax.tree_util.keystr(pl[0])):
    leaf = np.asarray(leaf)
    h.update(f'{jax.tree_util.keystr(path)}|{leaf.dtype}|{leaf.shape}|'.encode())
    h.update(np.ascontiguousarray(leaf).tobytes())
  return h.hexdigest()


def fingerprint() -> str:
  """What decides the bits XLA's CPU code computes: processor (vendor, family, model, stepping, feature flags),
  core count, jax / jaxlib versions and XLA_FLAGS. Exact hashes are stored and checked under it."""
  import platform

  import jaxlib
  cpu = {}
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        key, _, value = line.partition(':')
        cpu.setdefault(key.strip(), value.strip())
  except OSError:
    cpu['processor'] = platform.processor()
  flags = hashlib.sha256(cpu.get('flags', '').encode()).hexdigest()[:12]
  return (f"{platform.machine()} {cpu.get('vendor_id', '?')} family {cpu.get('cpu family', '?')} model "
          f"{cpu.get('model', '?')} stepping {cpu.get('stepping', '?')} flags {flags} cores {os.cpu_count()}; "
          f"jax {jax.__version__} jaxlib {jaxlib.__version__}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')}")


NUM_PROJECTIONS = 16


def flat_trees(items) -> dict[str, np.ndarray]:
  """(part, tree, leaf path string, array) items -> {'part/tree': float64 vector of its float leaves, in path
  order}: one vector per tree, the same from a state or from scripts/golden_drift.py's dumps. Parts: params,
  ema, adam_nu (the optimizer state's second moments). Adam's first moments are left out: after 20 GAN steps
  they differ by 5-25% of their norm between processors' code (the parameters they moved are compared)."""
  groups = {}
  for part, tree, path, leaf in items:
    leaf = np.asarray(leaf)
    if part == 'opt_state':
      if '.nu' not in path:
        continue
      part = 'adam_nu'
    if np.issubdtype(leaf.dtype, np.floating):
      groups.setdefault(f'{part}/{tree}', []).append((path, leaf))
  return {key: np.concatenate([leaf.astype(np.float64).ravel() for _, leaf in sorted(leaves, key=lambda x: x[0])])
          for key, leaves in sorted(groups.items())}


def state_items(state):
  """A TrainState's (part, tree, path, leaf) items for `flat_trees`."""
  for part in ('params', 'ema', 'opt_state'):
    for tree, value in getattr(state, part).items():
      for path, leaf in jax.tree_util.tree_flatten_with_path(jax.device_get(value))[0]:
        yield part, tree, jax.tree_util.keystr(path), leaf


def projections(vector: np.ndarray) -> list[float]:
  """NUM_PROJECTIONS dot products with fixed standard-normal vectors (numpy's seeded generator: the same on
  every machine). For two trees a and b, the RMS of their projections' differences estimates |a - b|."""
  return [float(np.random.default_rng([j, len(vector)]).standard_normal(len(vector)) @ vector)
          for j in range(NUM_PROJECTIONS)]


def projection_distance(got: list[float], want: list[float]) -> float:
  return float(np.sqrt(np.mean((np.asarray(got) - np.asarray(want)) ** 2)))


def run_20_steps(arg, workdir):
  """The locked run: the tiny config (arg '' or 'stargan_v2'), 20 steps on `_batches` -> the final TrainState."""
  from dss_jax import train
  config = tiny_config(arg)
  config.total_iters = STEPS
  config.ds_iter = 2 * STEPS
  config.sample_every = STEPS
  config.checkpoint_every = STEPS
  config.log_every = 5
  return train.train_and_evaluate(config, str(workdir), train_iterator=_batches(config))


def _run(arg, tmp_path):
  state = run_20_steps(arg, tmp_path / (arg or 'dss'))
  return state, {'step': int(state.step),
                 'params': {k: tree_digest(v) for k, v in state.params.items()},
                 'ema': {k: tree_digest(v) for k, v in state.ema.items()},
                 'opt_state': {k: tree_digest(v) for k, v in state.opt_state.items()}}


def _summary_counts():
  from configs import afhq, celeba_hq, synthetic
  from dss_jax import summary
  out = {}
  for name, module in (('synthetic', synthetic), ('afhq', afhq), ('celeba_hq', celeba_hq)):
    for arg in ('', 'stargan_v2'):
      out[f'{name}:{arg}' if arg else name] = summary.param_counts(module.get_config(arg))
  return out


def _golden():
  if not GOLDEN.exists():
    pytest.fail(f'{GOLDEN} is missing; create it with DSS_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py')
  return json.loads(GOLDEN.read_text())


def _update(key, value):
  data = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
  data[key] = value
  GOLDEN.parent.mkdir(exist_ok=True)
  GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')


@pytest.mark.parametrize('arg', ['', 'stargan_v2'])
def test_twenty_steps_match_the_golden_run(arg, tmp_path):
  """Bit-identical where this machine's fingerprint has hashes; within the measured tolerance everywhere."""
  state, digests = _run(arg, tmp_path)
  key = f'synthetic:{arg}' if arg else 'synthetic'
  got = {name: projections(v) for name, v in flat_trees(state_items(state)).items()}
  if UPDATE:  # Training changed on purpose: other machines' hashes are void, and the tolerances are re-measured.
    _update(key, {'exact': {fingerprint(): digests}, 'projections': got, 'step': STEPS})
  golden = _golden()[key]
  assert digests['step'] == golden['step'] == STEPS
  if 'tolerance' not in golden:
    pytest.fail(f'{GOLDEN} has no tolerances for {key}: measure them with python scripts/golden_drift.py --write')
  far = {name: (round(projection_distance(got[name], want), 6), golden['tolerance'][name])
         for name, want in golden['projections'].items()
         if projection_distance(got[name], want) > golden['tolerance'][name]}
  assert set(got) == set(golden['projections']) and not far, f'(distance, tolerance) of the trees that moved: {far}'
  exact = golden['exact'].get(fingerprint())
  if exact is not None:  # The machine (and software) the hashes were made on: every bit.
    assert digests == exact, 'bit identity on the machine of the golden hashes: training computes something else'


def test_summary_counts_unchanged():
  got = _summary_counts()
  if UPDATE:
    _update('summary_counts', got)
  assert got == _golden()['summary_counts']

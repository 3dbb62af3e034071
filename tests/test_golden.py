"""Behaviour lock: a fixed-seed 20-step run ends with bit-identical parameters, optimizer states and EMA.

A refactor of the step, the state or the networks must not change a single bit of what training
computes; this test compares the sha256 of every tree after 20 iterations of the tiny synthetic config
(DSS and `:stargan_v2`) against `tests/golden/train_20_steps.json`, and the `--mode=summary` parameter
counts of every shipped config against the same file.

A change that is meant to alter training regenerates the file (and says so in its commit):

  DSS_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
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


def _run(arg, tmp_path):
  from dss_jax import train
  config = tiny_config(arg)
  config.total_iters = STEPS
  config.ds_iter = 2 * STEPS
  config.sample_every = STEPS
  config.checkpoint_every = STEPS
  config.log_every = 5
  state = train.train_and_evaluate(config, str(tmp_path / (arg or 'dss')), train_iterator=_batches(config))
  return {'step': int(state.step),
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
def test_twenty_steps_are_bit_identical(arg, tmp_path):
  got = _run(arg, tmp_path)
  key = f'synthetic:{arg}' if arg else 'synthetic'
  if UPDATE:
    _update(key, got)
  assert got == _golden()[key]


def test_summary_counts_unchanged():
  got = _summary_counts()
  if UPDATE:
    _update('summary_counts', got)
  assert got == _golden()['summary_counts']

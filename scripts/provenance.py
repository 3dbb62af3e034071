"""Which code a benchmark result was trained with, and whether it is still the current training code.

Each run's JSON records `commit` (HEAD when it trained) and `dirty` (uncommitted changes in the training
code then). A result is stale when it was trained from a dirty tree or before the last commit that changed
the training code: the tables flag such rows instead of mixing them with current ones.
"""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What a change of alters what a run computes.
TRAINING_CODE = ['dss_jax/train_step.py', 'dss_jax/losses.py', 'dss_jax/state.py', 'dss_jax/models',
                 'dss_jax/datasets/vector.py', 'dss_jax/datasets/synthetic.py', 'dss_jax/input_pipeline.py',
                 'dss_jax/train.py', 'configs']


def _git(*args) -> str:
  return subprocess.run(['git', *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def stamp() -> dict:
  """{'commit', 'dirty'} of the tree now, for a result's JSON."""
  return {'commit': _git('rev-parse', 'HEAD'), 'dirty': bool(_git('status', '--porcelain', '--', *TRAINING_CODE))}


def is_current(result: dict) -> bool:
  """Whether a result was trained, from a clean tree, by code that contains the last training-code change."""
  last = _git('log', '-1', '--format=%H', '--', *TRAINING_CODE)
  commit = result.get('commit')
  if result.get('dirty', True) or not commit or not last:
    return False
  return subprocess.run(['git', 'merge-base', '--is-ancestor', last, commit], cwd=REPO).returncode == 0

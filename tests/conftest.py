"""Shared fixtures: one tiny config and one set of initialised networks for the whole session.

Compile time dominates on CPU, so tests share the tiny config and the jitted functions built here.
"""

import os
import pathlib
import tempfile

# Two host devices so the sharded-step test can build a 2-device mesh, and LLVM's cheapest optimisation
# level: it quarters compile time, and tests run few steps (must precede importing jax).
os.environ.setdefault('XLA_FLAGS', '--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import jax  # noqa: E402
import pytest  # noqa: E402

# Identical computations compiled by different tests (or an earlier run) are read from disk.
jax.config.update('jax_compilation_cache_dir', os.path.join(tempfile.gettempdir(), 'dss_jax_test_jit_cache'))
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data' / 'representative'


def tiny_config(arg=''):
  """The synthetic config shrunk to a size that compiles in seconds: configs/synthetic.py's `tiny` preset."""
  from configs import synthetic
  return synthetic.get_config(','.join(word for word in (arg, 'tiny') if word))


@pytest.fixture(scope='session')
def config():
  return tiny_config()


@pytest.fixture(scope='session')
def nets(config):
  from dss_jax import models
  return models.build(config)


@pytest.fixture(scope='session')
def params(nets, config):
  return jax.jit(nets.init)(jax.random.key(0))


@pytest.fixture(scope='session')
def shared_data():
  if not SHARED_DATA.is_dir():
    pytest.skip(f'{SHARED_DATA} is absent: the real sample images ship beside the repository only in CI.')
  return SHARED_DATA


@pytest.fixture(scope='module', autouse=True)
def _close_checkpoint_managers():
  """After each module, closes the Orbax managers its training runs left open (each holds a thread until it is
  closed; live threads from earlier modules crashed a later, unrelated test's process once)."""
  yield
  from dss_jax import checkpoint
  checkpoint.close_all()

"""The spline-flow mapping network, tested in the spirit of distrax's bijector tests."""

import flow_numerics
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dss_jax.models import FlowMapping

D, K = 3, 4


@pytest.fixture(scope='module')
def flow():
  return FlowMapping(num_domains=K, style_dim=D, num_layers=2, num_bins=4, range=3.0, cond_width=16, cond_depth=1)


@pytest.fixture(scope='module')
def init_vars(flow):
  return flow.init(jax.random.key(0), jnp.zeros((1, D)), jnp.zeros((1,), jnp.int32))


@pytest.fixture(scope='module')
def trained_vars(init_vars):
  """Random (non-identity) conditioner outputs: the state of a flow after training."""
  leaves, treedef = jax.tree_util.tree_flatten(init_vars)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  return jax.tree_util.tree_unflatten(treedef, [0.5 * jax.random.normal(k, v.shape) for k, v in zip(keys, leaves)])


def _inputs(n=16):
  z = 1.5 * jax.random.normal(jax.random.key(2), (n, D))
  return z, jnp.arange(n) % K


def test_identity_at_initialisation(flow, init_vars):
  z, y = _inputs()
  s, log_det = flow.apply(init_vars, z, y, method=FlowMapping.forward_and_log_det)
  np.testing.assert_allclose(s, z, atol=1e-5)
  np.testing.assert_allclose(log_det, 0.0, atol=1e-5)


@pytest.mark.parametrize('transform', [jax.jit, lambda f: f], ids=['jit', 'nojit'])
def test_inverse_round_trip_and_log_dets(flow, trained_vars, transform):
  z, y = _inputs()
  fwd = transform(lambda z, y: flow.apply(trained_vars, z, y, method=FlowMapping.forward_and_log_det))
  inv = transform(lambda s, y: flow.apply(trained_vars, s, y, method=FlowMapping.inverse_and_log_det))
  s, fwd_log_det = fwd(z, y)
  assert not np.allclose(s, z, atol=1e-2)  # Not the identity any more.
  z_back, inv_log_det = inv(s, y)
  # Tolerances from float32's error analysis at these z (tests/flow_numerics.py), not fixed numbers.
  params = trained_vars['params']
  assert np.all(np.abs(z_back - z) <= flow_numerics.round_trip_tolerance(flow, params, z, y))
  assert np.all(np.abs(fwd_log_det + inv_log_det) <= flow_numerics.log_det_tolerance(flow, params, z, y))


def test_variants_agree(flow, trained_vars):
  z, y = _inputs()
  f = lambda z, y: flow.apply(trained_vars, z, y)  # noqa: E731
  np.testing.assert_allclose(jax.jit(f)(z, y), f(z, y), atol=1e-5)


def test_jacobian_is_diagonal_positive_and_matches_log_det(flow, trained_vars):
  z, y = _inputs(8)
  for i in range(z.shape[0]):
    jac = jax.jacfwd(lambda zi, yi=y[i:i + 1]: flow.apply(trained_vars, zi[None], yi)[0])(z[i])
    off_diagonal = jac - jnp.diag(jnp.diag(jac))
    np.testing.assert_allclose(off_diagonal, 0.0, atol=1e-6)  # No component leaks into another.
    assert jnp.all(jnp.diag(jac) > 0)  # Monotone in every component.
    _, log_det = flow.apply(trained_vars, z[i:i + 1], y[i:i + 1], method=FlowMapping.forward_and_log_det)
    np.testing.assert_allclose(log_det[0], jnp.linalg.slogdet(jac)[1], atol=1e-4)


def test_log_prob_is_a_normalised_density_and_matches_change_of_variables(flow, trained_vars):
  # exp(log p(s|u)) integrates to 1: checked on a 1-D flow, where a grid integral is exact enough.
  flow1 = FlowMapping(num_domains=K, style_dim=1, num_layers=2, num_bins=4, range=3.0, cond_width=16, cond_depth=1)
  v = flow1.init(jax.random.key(0), jnp.zeros((1, 1)), jnp.zeros((1,), jnp.int32))
  leaves, treedef = jax.tree_util.tree_flatten(v)
  keys = jax.random.split(jax.random.key(4), len(leaves))
  v = jax.tree_util.tree_unflatten(treedef, [0.5 * jax.random.normal(k, x.shape) for k, x in zip(keys, leaves)])
  grid = jnp.linspace(-30, 30, 60001)[:, None]
  for u in range(K):
    logp = flow1.apply(v, grid, jnp.full((grid.shape[0],), u), method=FlowMapping.log_prob)
    np.testing.assert_allclose(jnp.exp(logp).sum() * (grid[1, 0] - grid[0, 0]), 1.0, atol=2e-3)
  # In D dimensions: log p(f(z)) = log N(z) - log|det df/dz|.
  z, y = _inputs(64)
  s, log_det = flow.apply(trained_vars, z, y, method=FlowMapping.forward_and_log_det)
  logp_s = flow.apply(trained_vars, s, y, method=FlowMapping.log_prob)
  np.testing.assert_allclose(logp_s, jax.scipy.stats.norm.logpdf(z).sum(-1) - log_det, atol=2e-3)


def test_parameters_differ_by_domain(flow, trained_vars):
  z = jnp.tile(_inputs()[0][:1], (K, 1))
  s = flow.apply(trained_vars, z, jnp.arange(K))
  for a in range(K):
    for b in range(a + 1, K):
      assert not np.allclose(s[a], s[b], atol=1e-3)

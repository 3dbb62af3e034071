"""How closely the flow's float32 round trip F^-1(F(z)) can return z: a bound from an error analysis.

Each bijector of the chain (splines 0..L-1, then the affine map) computes its output h_l with a rounding
error of a few float32 eps times the size of the numbers it works with, max(|h_l|, 1) (inside the spline's
range the knots are O(1) numbers; in the linear tails |h_l| dominates). An error e in h_l moves the
recovered z by e / (dh_l/dz), the chain's derivative from z to h_l, and the inverse, layer by layer, commits
the same kind of error at the same values. So the round trip's error is a few eps times the condition

  K(z) = sum over l = 0..L+1 of max(|h_l|, 1) / (dh_l/dz),   h_0 = z, h_{L+1} = s,

elementwise (the flow is component-wise, so each component has its own K). A random, non-identity flow
has derivatives from ~1e-3 to ~1e3, so K ranges from ~2 to ~1e4: no fixed tolerance fits all z.

Measured with scripts/flow_precision.py (tiny_config's flow perturbed as tests/test_edit.py does, 200,000 z:
half N(0, 1.5^2), half U(-6, 6)): the round trip's error / (eps K) had median 0.12, 99.9th percentile 1.7,
max 3.3 (3.3 with --xla_cpu_max_isa=SSE4_2 or AVX2, 3.6 with --xla_cpu_enable_fast_math); |z_rt - z| itself
reached 3.4e-4 (where K = 6,100). At test_edit's z = -2.0, K = 4,300 (eps K = 5.1e-4): the 1.64e-4 another
EPYC gave there is 0.32 eps K; the old fixed 1e-4 held on the first machine (9.5e-5) with 5% to spare.
The inverse alone (against a float64 inverse of the same float32 s) is at the same level (max 4.8 eps K;
6.0 with fast math), and a float32 Newton step after distrax's quadratic root leaves it there (max 4.3):
the inverse loses nothing that float32 could keep; the error is the flow's conditioning.
C = 16 leaves a factor ~4 over the worst seen for other processors' exp/log/softplus code and operation orders.

The inverse's log-det is the forward's at the recovered z, so the two differ by the log-det's slope times
the round trip's error, plus the rounding of the log terms themselves (a few eps times their sum of
magnitudes S): `log_det_tolerance` allows sum_i max|d log-det / dz_i| * tol_i + C eps (1 + S), the slope's
maximum taken over z_i and z_i +- tol_i (it jumps at the knots). On test_flow's flow (200,000 z ~
N(0, 1.5^2), scripts/flow_precision.py), the largest |forward + inverse log-det| was 9.0e-4 and 0.21 of that
allowance, the largest round trip 0.12 of its tolerance; the old fixed 1e-4 held test_flow's 16 points here
with margins of 1.2 (log-dets, 8.2e-5) and 1.7 (round trip, 5.9e-5).
"""

import jax
import jax.numpy as jnp
import numpy as np

EPS32 = float(np.finfo(np.float32).eps)
ROUND_TRIP_C = 16.0


def _chain_values(module, z, y):
  """(K(z) [B, D], forward log-det [B], S(z) = sum of |per-layer log-dets| [B]) of a FlowMapping module."""
  h, log_d, s = z, jnp.zeros_like(z), jnp.zeros(z.shape[0], z.dtype)
  k = jnp.maximum(jnp.abs(h), 1.0)
  for layer in module.layers(y):
    h, ld = layer.forward_and_log_det(h)
    log_d = log_d + ld
    s = s + jnp.abs(ld).sum(-1)
    k = k + jnp.maximum(jnp.abs(h), 1.0) * jnp.exp(-log_d)
  return k, log_d.sum(-1), s


def condition(mapping, params, z, y) -> np.ndarray:
  """K(z) of the flow `mapping` (a FlowMapping) with parameters `params` at z [B, D], domains y [B] -> [B, D].

  Computed in float32 (K only scales a tolerance; its own rounding is irrelevant)."""
  fn = jax.jit(lambda p, z, y: mapping.apply({'params': p}, z, y, method=_chain_values)[0])
  return np.asarray(fn(params, np.asarray(z, np.float32), np.asarray(y, np.int32)))


def round_trip_tolerance(mapping, params, z, y) -> np.ndarray:
  """The largest |F^-1(F(z)) - z| float32 allows at z: ROUND_TRIP_C * eps * K(z), [B, D]."""
  return ROUND_TRIP_C * EPS32 * condition(mapping, params, np.asarray(z, np.float32), np.asarray(y, np.int32))


def log_det_tolerance(mapping, params, z, y) -> np.ndarray:
  """The largest |forward log-det(z) + inverse log-det(F(z))| float32 allows: [B]."""
  z, y = np.asarray(z, np.float32), np.asarray(y, np.int32)
  tol = round_trip_tolerance(mapping, params, z, y)
  total = lambda p, z, y: mapping.apply({'params': p}, z, y, method=_chain_values)[1].sum()
  slope = jax.jit(jax.grad(total, argnums=1))  # [B, D]: the flow is component-wise, so row b is d ld_b / dz_b.
  g = np.maximum.reduce([np.abs(np.asarray(slope(params, z + sign * tol, y))) for sign in (-1, 0, 1)])
  s = np.asarray(jax.jit(lambda p, z, y: mapping.apply({'params': p}, z, y, method=_chain_values)[2])(params, z, y))
  return (g * tol).sum(-1) + ROUND_TRIP_C * EPS32 * (1.0 + s)

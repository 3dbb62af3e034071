"""How precise is the flow's float32 inverse? The error analysis behind tests/flow_numerics.py's tolerances.

  PYTHONPATH=. python scripts/flow_precision.py                 # tests' tiny flow, perturbed as tests/test_edit.py
  XLA_FLAGS=--xla_cpu_max_isa=AVX2 PYTHONPATH=. python scripts/flow_precision.py   # another processor's code

On --n z (half N(0, 1.5^2), half U(-6, 6), all domains) it prints the distribution of
- the round trip |F^-1(F(z)) - z| in float32, and its ratio to eps * K(z) (K: flow_numerics.condition);
- the inverse's own error: float32 F^-1(s) against float64 F^-1(s) of the same float32 s (the exact answer
  float32 could aim for), and the same after one float32 Newton step per spline (x -= (f(x) - y) / f'(x));
- on tests/test_flow.py's flow, the round trip and |forward + inverse log-det| as fractions of their tolerances.
A ratio to eps K that stays a few units everywhere (and under other --xla_cpu_* flags) says the error is the
flow's conditioning, not a loss in the inverse; the Newton line says whether a cheap refinement would help.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests'))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

_N = flags.DEFINE_integer('n', 200_000, 'Number of z drawn.')


def _spread(name, e):
  print(f'  {name}: median {np.median(e):.3g}, 99.9th pct {np.percentile(e, 99.9):.3g}, max {e.max():.3g}')


def main(argv):
  del argv
  jax.config.update('jax_enable_x64', True)  # Only the float64 reference uses it; the rest is cast to float32.
  import flow_numerics
  from conftest import tiny_config

  from dss_jax import models, state

  config = tiny_config()
  nets = models.build(config)
  params = state.ema_trees(state.group(jax.jit(nets.init)(jax.random.key(3))))
  keys = iter(jax.random.split(jax.random.key(4), 64))  # As tests/test_edit.py perturbs the flow.
  p32 = jax.tree.map(lambda p: (p + 0.3 * jax.random.normal(next(keys), p.shape)).astype(jnp.float32),
                     params['style']['mapping'])
  p64 = jax.tree.map(lambda p: p.astype(jnp.float64), p32)
  n = _N.value
  rng = np.random.default_rng(0)
  z = np.concatenate([1.5 * rng.standard_normal((n // 2, config.style_dim)),
                      rng.uniform(-6, 6, (n - n // 2, config.style_dim))]).astype(np.float32)
  y = (np.arange(n) % config.num_domains).astype(np.int32)
  m = nets.mapping

  def inverse(p, s, y, newton):
    """F^-1 layer by layer (the same distrax calls as FlowMapping.inverse), with `newton` steps per spline."""
    def run(module, s, y):
      *splines, affine = module.layers(y)
      h = affine.inverse(s)
      for b in reversed(splines):
        x = b.inverse(h)
        for _ in range(newton):
          fx, log_d = b.forward_and_log_det(x)
          x = x - (fx - h) / jnp.exp(log_d)
        h = x
      return h
    return m.apply({'params': p}, s, y, method=run)

  inv = jax.jit(inverse, static_argnums=3)
  s32 = jax.jit(nets.map)(p32, z, y)
  z_rt = np.asarray(jax.jit(nets.map_inverse)(p32, s32, y), np.float64)
  assert np.array_equal(z_rt, np.asarray(inv(p32, s32, y, 0), np.float64)), 'the layer-by-layer inverse differs'
  z_exact = np.asarray(inv(p64, np.asarray(s32, np.float64), y, 0))  # float64 inverse of the float32 s.
  eps = flow_numerics.EPS32
  k = flow_numerics.condition(m, p32, z, y).astype(np.float64)
  print(f'XLA_FLAGS={os.environ.get("XLA_FLAGS", "")!r}; {n} z, style_dim {config.style_dim}; '
        f'K(z): median {np.median(k):.3g}, max {k.max():.3g}')
  rt = np.abs(z_rt - z)
  _spread('round trip |F^-1(F(z)) - z|', rt)
  _spread('round trip / (eps K)', rt / (eps * k))
  for newton in (0, 1):
    own = np.abs(np.asarray(inv(p32, s32, y, newton), np.float64) - z_exact)
    _spread(f'inverse alone, {newton} Newton step(s): |F32^-1(s) - F64^-1(s)| / (eps K)', own / (eps * k))
  print(f'  tolerance factor in tests: C = {flow_numerics.ROUND_TRIP_C:g} (a round trip may be C eps K off)')
  _log_dets(n)


def _log_dets(n):
  """tests/test_flow.py's flow (its fixtures' construction): |forward + inverse log-det| against
  flow_numerics.log_det_tolerance, and the round trip against round_trip_tolerance, on n z ~ N(0, 1.5^2)."""
  import flow_numerics

  from dss_jax.models import FlowMapping
  d, k = 3, 4
  flow = FlowMapping(num_domains=k, style_dim=d, num_layers=2, num_bins=4, range=3.0, cond_width=16, cond_depth=1)
  v = flow.init(jax.random.key(0), jnp.zeros((1, d)), jnp.zeros((1,), jnp.int32))
  leaves, treedef = jax.tree_util.tree_flatten(v)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  v = jax.tree_util.tree_unflatten(treedef, [(0.5 * jax.random.normal(key, x.shape)).astype(jnp.float32)
                                            for key, x in zip(keys, leaves)])
  z = np.asarray(1.5 * jax.random.normal(jax.random.key(7), (n, d)), np.float32)  # float32, as the tests.
  y = (np.arange(n) % k).astype(np.int32)
  s, fwd = jax.jit(lambda z, y: flow.apply(v, z, y, method=FlowMapping.forward_and_log_det))(z, y)
  z_back, inv = jax.jit(lambda s, y: flow.apply(v, s, y, method=FlowMapping.inverse_and_log_det))(s, y)
  rt = np.abs(np.asarray(z_back) - z) / flow_numerics.round_trip_tolerance(flow, v['params'], z, y)
  ld = np.abs(np.asarray(fwd) + np.asarray(inv))
  print(f"test_flow's flow, {n} z: round trip / tolerance max {rt.max():.3g}; |fwd + inv log-det| max {ld.max():.3g}, "
        f'/ tolerance max {(ld / flow_numerics.log_det_tolerance(flow, v["params"], z, y)).max():.3g}')


if __name__ == '__main__':
  app.run(main)

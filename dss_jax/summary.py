"""`--mode=summary`: parameter counts per network and the generator's forward GFLOPs per image."""

import jax
import jax.numpy as jnp

from dss_jax import models

NAMES = models.NAMES


def param_counts(config) -> dict[str, int]:
  """Parameter counts of every network, computed abstractly (no memory allocated)."""
  nets = models.build(config)
  shapes = jax.eval_shape(nets.init, jax.random.key(0))
  return {name: models.param_count(shapes[name]) for name in NAMES}


def generator_gflops(config) -> float | None:
  """Forward GFLOPs of the generator for one image, from XLA's cost analysis (None if unavailable)."""
  nets = models.build(config)
  params = jax.eval_shape(nets.init, jax.random.key(0))['generator']
  x = jax.ShapeDtypeStruct((1, config.img_size, config.img_size, 3), jnp.float32)
  s = jax.ShapeDtypeStruct((1, config.style_dim), jnp.float32)
  try:
    cost = jax.jit(nets.generate).lower(params, x, s).cost_analysis()
  except Exception:  # Cost analysis is best effort: some backends do not provide it.
    return None
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else None
  flops = cost.get('flops') if cost else None
  return None if flops is None else flops / 1e9


def print_summary(config, print_fn=print):
  counts = param_counts(config)
  for name in NAMES:
    print_fn(f'{name}: {counts[name]:,}')
  print_fn(f'total: {sum(counts.values()):,}')
  gflops = generator_gflops(config)
  if gflops is not None:
    print_fn(f'generator GFLOPs per image (forward): {gflops:.2f}')
  return counts

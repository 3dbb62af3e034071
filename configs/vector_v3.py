"""Benchmark v3 on vectors (dss_jax/datasets/vector_v3.py): n = 3 style components, 2 content components,
K = 15 domains with widely varying style distributions, a 3-layer leaky-ReLU (slope 0.2) mixing.

  python scripts/vector_benchmark_v3.py --split=dev --rows=ceiling,dss --seeds=0
  python scripts/vector_benchmark_v3.py --split=test          # the pre-registered seeds

The networks, losses, training step and schedule are benchmark v2's (configs/vector.py: MLPs of width 64,
batch 64, 3,000 steps, lr 1e-3, the flow's f_lr 1e-5); only the data's sizes change. The argument takes a
configuration and KEY=VALUE words (configs/args.py): `configs/vector_v3.py:dss,f_lr=0.001`.

RECIPES are configurations of this file only: a configuration of configs/default.py with changed keys, chosen
on dev seeds 0-2 (docs/results/vector_v3_dev.md, scripts/vector_v3_probe.py). `keep_source`: with v2's weights the
generator ignores its source (a nearest-neighbour read of the source's content from a translation: R2 0.0) and
the cycle is closed through E's code, which then carries content; a 10x cycle weight makes G keep its source,
and a 100x smaller R1 weight with 128-wide networks gives D the sharpness to stop it keeping the source's style.
"""


from configs import args, vector
from dss_jax.datasets import vector_v3

KEEP_SOURCE = 'lambda_cyc=10.0,lambda_reg=0.01,vector.hidden=128'
RECIPES = {'dss_keep_source': ('dss_uni_both', KEEP_SOURCE), 'stargan_v2_keep_source': ('stargan_v2', KEEP_SOURCE)}


def get_config(arg=''):
  head, _, tail = arg.partition(',')
  if head in RECIPES:
    arg = ','.join(w for w in (*RECIPES[head], tail) if w)
  variant, _, overrides = args.split(arg, {})
  config = vector.get_config(variant)
  config.vector.n_style = vector_v3.N_STYLE
  config.vector.n_content = vector_v3.N_CONTENT
  config.num_domains = vector_v3.NUM_DOMAINS
  config.style_dim = vector_v3.N_STYLE
  config.latent_dim = vector_v3.N_STYLE  # StarGAN v2's z: as many components as the style (configs/vector.py).
  rest = ','.join(f'{k}={v!r}' for k, v in overrides.items())
  return args.finalize(config, rest) if rest else config

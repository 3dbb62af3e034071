"""Vector data with known factors (dss_jax/datasets/vector.py): the theorem's setting in seconds per run.

  python scripts/vector_benchmark.py                        # every configuration x seed x setting
  python scripts/vector_benchmark.py --configs=dss,stargan_v2 --seeds=0,1,2,3,4 --settings=main

x = a fixed random invertible nonlinear mixing of content and style vectors; K = 2n+1 domains whose
style distributions differ in location and scale; MLP networks; the same losses and the same training
step as the image model. style_dim = n (the theorem's setting). Trained by the benchmark script's own
loop (no checkpoints: a run takes seconds).
"""

from configs import default


def get_config(arg=''):
  config = default.get_config()
  config.dataset = 'vector'
  config.vector.n_style = 2
  config.vector.n_content = 2
  config.num_domains = 2 * config.vector.n_style + 1
  config.style_dim = config.vector.n_style
  config.latent_dim = config.vector.n_style
  config.mapping_hidden = 64
  config.flow.cond_width = 64
  config.style_disc_hidden = 64
  config.batch_size = 64
  config.total_iters = 3_000
  config.ds_iter = 3_000
  config.lambda_ds = 1.0
  config.lr = 1e-3
  config.f_lr = 1e-5  # lr / 100: StarGAN v2's ratio (docs/results.md: what it does to the collapse).
  config.ema_decay = 0.99
  config.weight_decay = 0.0
  config.smooth_margin = 0.1
  finalize = default.finalize(config, arg)
  if arg.startswith('stargan_v2'):
    finalize.latent_dim = config.vector.n_style
  return finalize

"""The built-in synthetic dataset (known style factors), 32 px, widths a laptop CPU trains in minutes.

  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo
  python -m dss_jax.main --config=configs/synthetic.py:stargan_v2 --workdir=runs/demo_sg2

Five domains (K = 2n+1 for n = 2 style factors: object hue and background lightness) that differ
only in their style distributions. No download: the dataset is rendered on first use.
"""

from configs import default


def get_config(arg=''):
  config = default.get_config()
  config.dataset = 'synthetic'
  config.synthetic.variant = 'style_domains'
  config.synthetic.n_style = 2
  # K = 2n+1 (datasets/synthetic.py num_domains), a reference: --config.synthetic.n_style=3 gives 7 domains.
  config.num_domains = 2 * config.synthetic.get_ref('n_style') + 1
  config.img_size = 32
  config.dim_in = 16
  config.max_conv_dim = 64
  config.style_dim = 16
  config.mapping_hidden = 256
  config.flow.cond_width = 64
  config.style_disc_hidden = 64
  config.batch_size = 16
  config.total_iters = 2_000
  config.ds_iter = 2_000
  config.lambda_ds = 1.0
  # DSS as METHOD.md writes it. Its latent path collapses on this data; no recipe tried so far avoids that
  # at this config's style_dim 16 (docs/results.md: the flow NLL helps at style_dim = n = 2 only, and
  # uni_target='both', the best DSS on the vector benchmark, collapses here too). Watch style/latent_spread.
  # Short CPU runs want a higher learning rate and a faster EMA (the project's CPU benchmark notes).
  config.lr = 3e-4
  config.f_lr = 1e-4
  config.ema_decay = 0.99
  config.log_every = 50
  config.sample_every = 250
  config.checkpoint_every = 500
  config.eval_every = 0
  config.val_batch_size = 64
  return default.finalize(config, arg)

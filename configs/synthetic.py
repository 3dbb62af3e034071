"""The built-in synthetic dataset (known style factors), 32 px, widths a laptop CPU trains in minutes.

  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo
  python -m dss_jax.main --config=configs/synthetic.py:stargan_v2 --workdir=runs/demo_sg2

Five domains (K = 2n+1 for n = 2 style factors: object hue and background lightness) that differ
only in their style distributions. No download: the dataset is rendered on first use.

Without an argument this trains DSS with the seed's unification loss read literally (`uni_target='both'`:
L_uni moves the flow as well as the encoder, the same run as `:dss_uni_both`); `:dss` is DSS as METHOD.md
writes it (L_uni on the encoder only). The default departs from METHOD.md there because the evidence says so
(docs/results.md): on benchmark v2 (5 paired seeds) it is the only configuration that beats StarGAN v2 on
both of the method's claims (MCC and the unification gap, intervals excluding 0), with both advantages gone
under the location-only negative control; on these images (one seed, 3,000 steps) it is the only run that
meets every target of the benchmark issue (shape 0.92, rotation 0.96, style W1 0.023 against StarGAN v2's
0.034, latent spread 0.90 / 1.02), where METHOD.md's DSS keeps 0.87 of the shapes and overshoots the
background's spread (1.42).

What makes any of them work here is the recipe every argument shares (the default of 2026-11-28, commit
5261075, METHOD.md's DSS at style_dim 16, collapsed its latent path): style_dim = n (the theorem's setting: one
code component per true factor), a diversity weight that does not vanish within the run, a cycle weight raised
for objects that cover a fraction of the image, and 3,000 steps. Two extensions made the default on
2026-12-01 (commit a5b3976: `sty_space='z'`, `flow.affine_init=1`; undone the same day by b38778b) also
removed the collapse but cost the source's shape: they are config keys, not the default.
"""

from configs import args, default


def tiny(config):
  """The `tiny` preset: networks that compile in seconds and 4 steps (the test suite's config, the Colab
  notebook's TINY mode): `--config=configs/synthetic.py:dss,tiny`."""
  config.update(dict(dim_in=8, max_conv_dim=16, style_dim=4, mapping_hidden=16, style_disc_hidden=16,
                     batch_size=4, val_batch_size=8, total_iters=4, ds_iter=8, log_every=1, sample_every=2,
                     checkpoint_every=2))
  config.latent_dim = 4 if config.mapping == 'mlp' else config.latent_dim
  config.flow.update(dict(num_layers=2, num_bins=4, cond_width=16))
  config.synthetic.update(dict(train_per_domain=40, test_per_domain=8))


PRESETS = {'tiny': tiny}


def get_config(arg=''):
  config = default.get_config()
  config.dataset = 'synthetic'
  config.synthetic.variant = 'style_domains'
  config.synthetic.n_style = 2
  # K = 2n+1 (datasets/synthetic.py num_domains), a reference: --config.synthetic.n_style=3 gives 7 domains.
  config.num_domains = 2 * config.synthetic.get_ref('n_style') + 1
  # style_dim = n: the theorem's setting (one code component per true factor); with 16 components for 2
  # factors, L_sty asks the generator to paint 14 components the data has no factor for.
  config.style_dim = config.synthetic.get_ref('n_style') * 1  # Derived: follows n_style; overriding it leaves n_style.
  config.img_size = 32
  config.dim_in = 16
  config.max_conv_dim = 64
  config.mapping_hidden = 256
  config.flow.cond_width = 64
  config.style_disc_hidden = 64
  config.batch_size = 16
  # 3,000 steps (about 26 min on a 2-core CPU): the source's shape and pose were still being learnt at 2,000
  # (shape accuracy 0.43 / 0.56 / 0.68 / 0.76 / 0.80 at steps 1,000 ... 3,000 of the RENDER_VERSION 2 run).
  config.total_iters = 3_000
  # lambda_ds decays over ~7x the run (to 0.85 at its end): StarGAN v2 decays it over its whole 100k-step run,
  # and a short run that reaches 0 loses its diversity pressure for its last third.
  config.ds_iter = 20_000
  config.lambda_ds = 1.0
  # The objects cover 10-25 % of the pixels, so a lost shape costs the whole-image L1 cycle term little.
  config.lambda_cyc = 10.0
  # Short CPU runs want a higher learning rate and a faster EMA (the project's CPU benchmark notes).
  config.lr = 3e-4
  config.f_lr = 1e-4
  config.ema_decay = 0.99
  config.log_every = 50
  config.sample_every = 250
  config.checkpoint_every = 500
  config.eval_every = 0
  config.val_batch_size = 64
  # The seed's L_uni read literally (see the docstring); `:dss` sets 'encoder' (METHOD.md), `:stargan_v2` has no L_uni.
  config.uni_target = 'both'
  return args.finalize(config, arg, PRESETS)

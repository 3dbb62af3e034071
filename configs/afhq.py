"""AFHQ (cat, dog, wild), 256 px: the StarGAN v2 AFHQ recipe with DSS's flow and losses.

  python -m dss_jax.main --config=configs/afhq.py --workdir=runs/afhq
  python -m dss_jax.main --config=configs/afhq.py:stargan_v2 --workdir=runs/afhq_sg2   # baseline

Needs the extracted AFHQ archive in TFDS's manual dir (see README, "Datasets"). StarGAN v2 reports
FID 16.18 / 19.78 (latent / reference) at 100k iterations with these settings and its own weights.
"""

from configs import args, default


def get_config(arg=''):
  config = default.get_config()
  config.dataset = 'afhq'
  config.afhq_version = 'v1'
  config.num_domains = 3
  config.img_size = 256
  config.lambda_ds = 2.0
  config.w_hpf = 0.0
  return args.finalize(config, arg)

"""CelebA-HQ (female, male), 256 px, w_hpf 1: the StarGAN v2 CelebA-HQ recipe with DSS.

  python -m dss_jax.main --config=configs/celeba_hq.py --workdir=runs/celeba_hq
  python -m dss_jax.main --config=configs/celeba_hq.py:stargan_v2 --workdir=runs/celeba_sg2

w_hpf > 0 adds a generator stage and removes the decoder shortcuts. The high-pass skip path needs
facial landmark masks from StarGAN v2's pretrained FAN: convert the official wing.ckpt once and pass
--config.fan_path=checkpoints/fan.npz (docs/import.md, "FAN and face alignment"); without it the path
is skipped (the maintainers say CelebA-HQ "still works" without it).
"""

from configs import args, default


def get_config(arg=''):
  config = default.get_config()
  config.dataset = 'celeba_hq'
  config.num_domains = 2
  config.img_size = 256
  config.lambda_ds = 1.0
  config.w_hpf = 1.0
  return args.finalize(config, arg)

"""Converts the torchvision Inception-v3 and AlexNet + LPIPS weights into the .npz files dss_jax reads.

Run it once where torch and torchvision are installed (and the internet, or the .pth files, are
available); copy the .npz files to the machine that evaluates; set config.inception_path / lpips_path.

  pip install torch torchvision lpips            # lpips only provides the linear calibration file
  python scripts/convert_torchvision_weights.py --what=inception --out=weights/inception_torchvision.npz
  python scripts/convert_torchvision_weights.py --what=lpips --out=weights/lpips_alex.npz
  # optional, where jax and dss_jax are installed too: compare the Flax port with torch on random images
  python scripts/convert_torchvision_weights.py --what=inception --out=... --verify

These are the weights StarGAN v2's numbers use: torchvision `inception_v3(pretrained=True)` (IMAGENET1K_V1,
file inception_v3_google-0cc3c7bd.pth) for FID, torchvision `alexnet(pretrained=True)` (IMAGENET1K_V1,
alexnet-owt-7be5be79.pth) features and the LPIPS v0.1 'alex' linear layers for LPIPS. The linear
layers come from the `lpips` package's weights/v0.1/alex.pth, or from StarGAN v2's
metrics/lpips_weights.ckpt (--lpips_linear=PATH takes either file).

The .npz holds torch state-dict names and layouts (OIHW); dss_jax.metrics.fid.load_inception and
dss_jax.metrics.lpips.load_lpips convert them to Flax. Keys written:
  inception: every key of inception_v3().state_dict() except fc.* and AuxLogits.*
  lpips:     features.{0,3,6,8,10}.{weight,bias} (alexnet().features) and lin{0..4}.weight [1, C, 1, 1]
"""

import argparse
import os
import re

import numpy as np


def _torchvision_model(name, checkpoint):
  import torch
  import torchvision

  fn = getattr(torchvision.models, name)
  if checkpoint:  # Offline: a .pth downloaded elsewhere.
    kwargs = {'aux_logits': True, 'init_weights': False} if name == 'inception_v3' else {}
    model = fn(weights=None, **kwargs)
    model.load_state_dict(torch.load(checkpoint, map_location='cpu'))
    return model.eval()
  try:
    model = fn(weights='IMAGENET1K_V1')
  except TypeError:  # torchvision < 0.13
    model = fn(pretrained=True)
  return model.eval()


def _lpips_linear(path):
  """{i: [1, C, 1, 1]} from the lpips package's alex.pth or StarGAN v2's lpips_weights.ckpt."""
  import torch

  if not path:
    try:
      import lpips
    except ImportError:
      raise SystemExit('The LPIPS linear weights are needed: `pip install lpips`, or pass --lpips_linear=PATH '
                       "(the lpips package's weights/v0.1/alex.pth or StarGAN v2's "
                       'metrics/lpips_weights.ckpt).') from None
    path = os.path.join(os.path.dirname(lpips.__file__), 'weights', 'v0.1', 'alex.pth')
  state = torch.load(path, map_location='cpu')
  linear = {}
  for key, value in state.items():
    m = re.match(r'^(?:lin|lpips_weights\.)(\d)\..*weight$', key)
    if m:
      linear[int(m.group(1))] = value.detach().cpu().numpy().astype(np.float32)
  if sorted(linear) != [0, 1, 2, 3, 4]:
    raise SystemExit(f'{path}: expected 5 linear layers (lin0..lin4), found keys {sorted(state)}.')
  return linear


def convert_inception(checkpoint):
  model = _torchvision_model('inception_v3', checkpoint)
  return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()
          if not k.startswith(('fc.', 'AuxLogits.'))}, model


def convert_lpips(checkpoint, linear_path):
  model = _torchvision_model('alexnet', checkpoint)
  out = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if k.startswith('features.')}
  for i, w in _lpips_linear(linear_path).items():
    out[f'lin{i}.weight'] = w
  return out, model


def verify(what, path, model, size=None):
  """Compares the Flax port with torch on random images (size x size); prints and returns the largest difference."""
  import jax.numpy as jnp
  import torch

  rng = np.random.default_rng(0)
  if what == 'inception':
    from dss_jax.metrics import fid
    x = rng.normal(size=(2, size or 299, size or 299, 3)).astype(np.float32)
    variables = fid.load_inception(path)
    ours = np.asarray(fid.InceptionV3().apply(variables, jnp.asarray(x)))
    blocks = [model.Conv2d_1a_3x3, model.Conv2d_2a_3x3, model.Conv2d_2b_3x3, torch.nn.MaxPool2d(3, 2),
              model.Conv2d_3b_1x1, model.Conv2d_4a_3x3, torch.nn.MaxPool2d(3, 2), model.Mixed_5b, model.Mixed_5c,
              model.Mixed_5d, model.Mixed_6a, model.Mixed_6b, model.Mixed_6c, model.Mixed_6d, model.Mixed_6e,
              model.Mixed_7a, model.Mixed_7b, model.Mixed_7c, torch.nn.AdaptiveAvgPool2d(1)]
    with torch.no_grad():
      theirs = torch.nn.Sequential(*blocks)(torch.from_numpy(x.transpose(0, 3, 1, 2))).flatten(1).numpy()
  else:
    from dss_jax.metrics import lpips
    x, y = (rng.uniform(-1, 1, size=(2, size or 64, size or 64, 3)).astype(np.float32) for _ in range(2))
    params = lpips.load_lpips(path)
    ours = np.asarray(lpips.lpips(params, jnp.asarray(x), jnp.asarray(y)))
    shift = torch.tensor(lpips.SHIFT).view(1, 3, 1, 1)
    scale = torch.tensor(lpips.SCALE).view(1, 3, 1, 1)

    def fmaps(img):
      h, maps = (torch.from_numpy(img.transpose(0, 3, 1, 2)) - shift) / scale, []
      for layer in model.features:
        h = layer(h)
        if isinstance(layer, torch.nn.ReLU):
          maps.append(h.clone())
      return maps

    with torch.no_grad():
      theirs = 0
      for i, (a, b) in enumerate(zip(fmaps(x), fmaps(y))):
        a = a / torch.sqrt((a ** 2).sum(1, keepdim=True) + 1e-10)
        b = b / torch.sqrt((b ** 2).sum(1, keepdim=True) + 1e-10)
        w = torch.from_numpy(params['linear'][i]).view(1, -1, 1, 1)
        theirs = theirs + ((a - b) ** 2 * w).sum(1).mean((1, 2))
      theirs = theirs.numpy()
  diff = float(np.max(np.abs(ours - theirs)))
  print(f'verify {what}: max |flax - torch| = {diff:.3g} (max |torch| = {float(np.max(np.abs(theirs))):.3g})')
  return diff


def save(state, path):
  """Writes the float arrays of a converted state dict to path (.npz)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  np.savez(path, **{k: np.asarray(v, np.float32) for k, v in state.items() if v.dtype.kind == 'f'})


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--what', choices=('inception', 'lpips'), required=True)
  parser.add_argument('--out', required=True, help='Output .npz path.')
  parser.add_argument('--checkpoint', default='', help='Local torchvision .pth instead of downloading.')
  parser.add_argument('--lpips_linear', default='', help='alex.pth (lpips package) or lpips_weights.ckpt.')
  parser.add_argument('--verify', action='store_true', help='Compare with the Flax port (needs jax, dss_jax).')
  args = parser.parse_args()
  if args.what == 'inception':
    state, model = convert_inception(args.checkpoint)
  else:
    state, model = convert_lpips(args.checkpoint, args.lpips_linear)
  save(state, args.out)
  print(f'wrote {args.out}')
  if args.verify:
    verify(args.what, args.out, model)


if __name__ == '__main__':
  main()

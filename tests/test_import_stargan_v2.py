"""StarGAN v2 checkpoint import: tiny PyTorch networks in the official layout -> ours, outputs equal to 1e-4.

The PyTorch modules below are written from STARGAN_V2_REFERENCE.md section 1 (not copied from the
official repository); their state_dict keys follow section 1.9.
"""

import math
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip('torch', reason='torch is an optional extra (pip install -e .[torch])')

import conftest  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from dss_jax import models  # noqa: E402
from dss_jax.tools import import_stargan_v2 as sg2  # noqa: E402

TOL = dict(atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------ reference networks in PyTorch (NCHW)

def lrelu(x):
  return F.leaky_relu(x, 0.2)


class ResBlk(nn.Module):
  def __init__(self, dim_in, dim_out, normalize=False, downsample=False):
    super().__init__()
    self.normalize, self.downsample = normalize, downsample
    self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
    self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
    if normalize:
      self.norm1 = nn.InstanceNorm2d(dim_in, affine=True)
      self.norm2 = nn.InstanceNorm2d(dim_in, affine=True)
    if dim_in != dim_out:
      self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, bias=False)

  def forward(self, x):
    shortcut = self.conv1x1(x) if hasattr(self, 'conv1x1') else x
    if self.downsample:
      shortcut = F.avg_pool2d(shortcut, 2)
    h = self.norm1(x) if self.normalize else x
    h = self.conv1(lrelu(h))
    if self.downsample:
      h = F.avg_pool2d(h, 2)
    h = self.norm2(h) if self.normalize else h
    h = self.conv2(lrelu(h))
    return (shortcut + h) / math.sqrt(2)


class AdaIN(nn.Module):
  def __init__(self, style_dim, c):
    super().__init__()
    self.fc = nn.Linear(style_dim, 2 * c)

  def forward(self, x, s):
    gamma, beta = self.fc(s)[:, :, None, None].chunk(2, dim=1)
    return (1 + gamma) * F.instance_norm(x, eps=1e-5) + beta


class AdainResBlk(nn.Module):
  def __init__(self, dim_in, dim_out, style_dim, w_hpf=0.0, upsample=False):
    super().__init__()
    self.w_hpf, self.upsample = w_hpf, upsample
    self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
    self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
    self.norm1 = AdaIN(style_dim, dim_in)
    self.norm2 = AdaIN(style_dim, dim_out)
    if dim_in != dim_out:  # Created even when w_hpf > 0, where it is unused.
      self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, bias=False)

  def forward(self, x, s):
    h = lrelu(self.norm1(x, s))
    if self.upsample:
      h = F.interpolate(h, scale_factor=2, mode='nearest')
    h = self.conv2(lrelu(self.norm2(self.conv1(h), s)))
    if self.w_hpf > 0:
      return h
    shortcut = F.interpolate(x, scale_factor=2, mode='nearest') if self.upsample else x
    if hasattr(self, 'conv1x1'):
      shortcut = self.conv1x1(shortcut)
    return (shortcut + h) / math.sqrt(2)


class HighPass(nn.Module):
  def __init__(self, w_hpf):
    super().__init__()
    self.register_buffer('filter', torch.tensor([[-1., -1., -1.], [-1., 8., -1.], [-1., -1., -1.]]) / w_hpf)

  def forward(self, x):
    c = x.shape[1]
    return F.conv2d(x, self.filter[None, None].repeat(c, 1, 1, 1), padding=1, groups=c)


class Generator(nn.Module):
  def __init__(self, img_size, style_dim, dim_in, max_conv_dim, w_hpf):
    super().__init__()
    self.from_rgb = nn.Conv2d(3, dim_in, 3, 1, 1)
    self.encode, self.decode = nn.ModuleList(), nn.ModuleList()
    self.to_rgb = nn.Sequential(nn.InstanceNorm2d(dim_in, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(dim_in, 3, 1))
    repeat_num = int(math.log2(img_size)) - 4 + (1 if w_hpf > 0 else 0)
    dim_out = dim_in
    for _ in range(repeat_num):
      dim_out = min(dim_in * 2, max_conv_dim)
      self.encode.append(ResBlk(dim_in, dim_out, normalize=True, downsample=True))
      self.decode.insert(0, AdainResBlk(dim_out, dim_in, style_dim, w_hpf, upsample=True))
      dim_in = dim_out
    for _ in range(2):
      self.encode.append(ResBlk(dim_out, dim_out, normalize=True))
      self.decode.insert(0, AdainResBlk(dim_out, dim_out, style_dim, w_hpf))
    if w_hpf > 0:
      self.hpf = HighPass(w_hpf)

  def forward(self, x, s, masks=None):
    x = self.from_rgb(x)
    cache = {}
    for block in self.encode:
      if masks is not None and x.shape[2] in (32, 64, 128):
        cache[x.shape[2]] = x
      x = block(x)
    for block in self.decode:
      x = block(x, s)
      size = x.shape[2]
      if masks is not None and size in (32, 64, 128):
        mask = masks[0] if size == 32 else masks[1]
        mask = F.interpolate(mask, size=size, mode='bilinear', align_corners=False)
        x = x + self.hpf(mask * cache[size])
    return self.to_rgb(x)


class MappingNetwork(nn.Module):
  def __init__(self, latent_dim, style_dim, num_domains, hidden):
    super().__init__()
    shared = []
    for i in range(4):
      shared += [nn.Linear(latent_dim if i == 0 else hidden, hidden), nn.ReLU()]
    self.shared = nn.Sequential(*shared)
    self.unshared = nn.ModuleList(
        nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                      nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, style_dim))
        for _ in range(num_domains))

  def forward(self, z, y):
    h = self.shared(z)
    out = torch.stack([head(h) for head in self.unshared], dim=1)
    return out[torch.arange(len(y)), y]


def _trunk(img_size, dim_in, max_conv_dim):
  """conv3x3, (log2(img_size) - 2) ResBlks, LReLU, conv4x4 valid, LReLU; -> (layers, channels)."""
  layers = [nn.Conv2d(3, dim_in, 3, 1, 1)]
  dim_out = dim_in
  for _ in range(int(math.log2(img_size)) - 2):
    dim_out = min(dim_in * 2, max_conv_dim)
    layers.append(ResBlk(dim_in, dim_out, downsample=True))
    dim_in = dim_out
  layers += [nn.LeakyReLU(0.2), nn.Conv2d(dim_out, dim_out, 4, 1, 0), nn.LeakyReLU(0.2)]
  return layers, dim_out


class StyleEncoder(nn.Module):
  def __init__(self, img_size, style_dim, num_domains, dim_in, max_conv_dim):
    super().__init__()
    layers, c = _trunk(img_size, dim_in, max_conv_dim)
    self.shared = nn.Sequential(*layers)
    self.unshared = nn.ModuleList(nn.Linear(c, style_dim) for _ in range(num_domains))

  def forward(self, x, y):
    h = self.shared(x).flatten(1)
    out = torch.stack([head(h) for head in self.unshared], dim=1)
    return out[torch.arange(len(y)), y]


class Discriminator(nn.Module):
  def __init__(self, img_size, num_domains, dim_in, max_conv_dim):
    super().__init__()
    layers, c = _trunk(img_size, dim_in, max_conv_dim)
    self.main = nn.Sequential(*layers, nn.Conv2d(c, num_domains, 1))

  def forward(self, x, y):
    out = self.main(x).flatten(1)
    return out[torch.arange(len(y)), y]


def randomise(module, seed):
  """He-normal weights as the reference; random (not zero) biases and norm affines so their mapping is tested."""
  gen = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for name, p in module.named_parameters():
      if name.endswith('weight') and p.ndim > 1:
        p.copy_(torch.randn(p.shape, generator=gen) * math.sqrt(2.0 / p[0].numel()))
      elif name.endswith('weight'):  # InstanceNorm scale.
        p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
      else:
        p.copy_(0.2 * torch.randn(p.shape, generator=gen))
  return module.eval()


# ------------------------------------------------------------------ fixtures

def tiny_config(arg='stargan_v2', img_size=32, num_domains=3, w_hpf=0.0):
  """The suite's tiny config (tests/conftest.py) at another size, domain count or w_hpf."""
  config = conftest.tiny_config(arg)
  config.img_size = img_size
  config.num_domains = num_domains
  config.synthetic.n_style = (num_domains - 1) // 2  # The synthetic data then has num_domains = 2n + 1 domains.
  config.w_hpf = w_hpf
  config.latent_dim = 4  # Also for DSS configs: the official mapping network of the torch side uses it.
  return config


def torch_nets(config, seed=0):
  c = config
  return {
      'generator': randomise(Generator(c.img_size, c.style_dim, c.dim_in, c.max_conv_dim, c.w_hpf), seed),
      'mapping_network': randomise(MappingNetwork(c.latent_dim, c.style_dim, c.num_domains, c.mapping_hidden),
                                   seed + 1),
      'style_encoder': randomise(StyleEncoder(c.img_size, c.style_dim, c.num_domains, c.dim_in, c.max_conv_dim),
                                 seed + 2),
      'discriminator': randomise(Discriminator(c.img_size, c.num_domains, c.dim_in, c.max_conv_dim), seed + 3),
  }


def state_dicts(nets):
  return {name: {k: v.numpy() for k, v in net.state_dict().items()} for name, net in nets.items()}


def inputs(config, seed=0, batch=3):
  rng = np.random.default_rng(seed)
  x = rng.uniform(-1, 1, (batch, config.img_size, config.img_size, 3)).astype(np.float32)
  y = np.arange(batch) % config.num_domains
  z = rng.standard_normal((batch, config.latent_dim)).astype(np.float32)
  s = rng.standard_normal((batch, config.style_dim)).astype(np.float32)
  return x, y, z, s


def nchw(x):
  return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


@pytest.fixture(scope='module')
def afhq_like():
  """K = 3, w_hpf = 0: torch nets saved as the two official files, read back and converted."""
  config = tiny_config()
  return config, torch_nets(config)


# ------------------------------------------------------------------ tests

def test_imported_networks_match_pytorch(afhq_like, tmp_path):
  config, nets = afhq_like
  ema = {k: nets[k].state_dict() for k in ('generator', 'mapping_network', 'style_encoder')}
  torch.save(ema, tmp_path / '000010_nets_ema.ckpt')
  torch.save({k: v.state_dict() for k, v in nets.items()}, tmp_path / '000010_nets.ckpt')
  params = sg2.convert(sg2.load_torch_checkpoint(tmp_path / '000010_nets.ckpt'), config)
  params_ema = sg2.convert(sg2.load_torch_checkpoint(tmp_path / '000010_nets_ema.ckpt'), config)
  assert set(params) == {'generator', 'mapping', 'style_encoder', 'discriminator'}
  assert set(params_ema) == {'generator', 'mapping', 'style_encoder'}

  ours = models.build(config)
  x, y, z, s = inputs(config)
  with torch.no_grad():
    want = {
        'generator': nets['generator'](nchw(x), torch.from_numpy(s)).numpy().transpose(0, 2, 3, 1),
        'mapping': nets['mapping_network'](torch.from_numpy(z), torch.from_numpy(y)).numpy(),
        'style_encoder': nets['style_encoder'](nchw(x), torch.from_numpy(y)).numpy(),
        'discriminator': nets['discriminator'](nchw(x), torch.from_numpy(y)).numpy(),
    }
  got = {
      'generator': ours.generator.apply({'params': params['generator']}, x, s),
      'mapping': ours.mapping.apply({'params': params['mapping']}, z, y),
      'style_encoder': ours.style_encoder.apply({'params': params['style_encoder']}, x, y),
      'discriminator': ours.discriminator.apply({'params': params['discriminator']}, x, y),
  }
  for name in want:
    np.testing.assert_allclose(np.asarray(got[name]), want[name], err_msg=name, **TOL)
  for name in params_ema:
    jax.tree_util.tree_map(np.testing.assert_array_equal, params_ema[name], params[name])


def test_w_hpf_generator_with_masks_matches_pytorch(tmp_path):
  """CelebA-HQ variant: extra stage, no decoder shortcuts, high-pass mask path at 32 and 64 px; fan dropped."""
  config = tiny_config(img_size=64, num_domains=2, w_hpf=1.0)
  net = torch_nets(config)['generator']
  ckpt = {'generator': net.state_dict(), 'fan': {'conv1.weight': torch.zeros(2, 2, 3, 3)}}
  torch.save(ckpt, tmp_path / 'celeba_nets_ema.ckpt')
  params = sg2.convert(sg2.load_torch_checkpoint(tmp_path / 'celeba_nets_ema.ckpt'), config)
  assert set(params) == {'generator'}

  x, _, _, s = inputs(config)
  rng = np.random.default_rng(1)
  masks = [rng.uniform(0, 1, (3, 64, 64, 1)).astype(np.float32) for _ in range(2)]
  with torch.no_grad():
    want = net(nchw(x), torch.from_numpy(s), masks=[nchw(m) for m in masks]).numpy().transpose(0, 2, 3, 1)
    want_plain = net(nchw(x), torch.from_numpy(s)).numpy().transpose(0, 2, 3, 1)
  generator = models.build(config).generator
  got = generator.apply({'params': params['generator']}, x, s, masks=tuple(masks))
  got_plain = generator.apply({'params': params['generator']}, x, s)
  np.testing.assert_allclose(np.asarray(got), want, **TOL)
  np.testing.assert_allclose(np.asarray(got_plain), want_plain, **TOL)
  assert np.abs(want - want_plain).max() > 1e-2  # The mask path did something.


def test_flow_config_skips_the_official_mapping(afhq_like):
  config, nets = afhq_like
  params = sg2.convert(state_dicts(nets), tiny_config(arg=''))
  assert set(params) == {'generator', 'style_encoder', 'discriminator'}


def test_wrong_domain_count_is_a_plain_error(afhq_like):
  _, nets = afhq_like
  with pytest.raises(ValueError, match=r"'mapping_network' has 3 domains, but config.num_domains is 2"):
    sg2.convert(state_dicts(nets), tiny_config(num_domains=2))


def test_the_cli_gives_a_wrong_config_as_one_sentence(afhq_like, tmp_path):
  """The import command with another config's domain count: its sentence, no traceback, nothing written."""
  _, nets = afhq_like
  torch.save({k: v.state_dict() for k, v in nets.items()}, tmp_path / 'nets_ema.ckpt')
  proc = subprocess.run([sys.executable, '-m', 'dss_jax.tools.import_stargan_v2', f'--ckpt={tmp_path}/nets_ema.ckpt',
                         '--config=configs/synthetic.py:stargan_v2', f'--workdir={tmp_path}/run'],
                        cwd=conftest.REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
  assert 'cuInit' not in proc.stderr and 'oneDNN' not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1].startswith(
      "error: The checkpoint's 'mapping_network' has 3 domains, but config.num_domains is 5.")
  assert not (tmp_path / 'run').exists()


def test_wrong_w_hpf_is_a_plain_error(afhq_like):
  _, nets = afhq_like
  with pytest.raises(ValueError, match="no 'hpf.filter'"):
    sg2.convert(state_dicts(nets), tiny_config(w_hpf=1.0))


@pytest.mark.parametrize('edit, message', [
    (lambda g: g.pop('encode.0.conv1.bias'), r"no key 'encode.0.conv1.bias'"),
    (lambda g: g.update({'extra.weight': np.zeros(1, np.float32)}), r"no place for: 'extra.weight'"),
    (lambda g: g.update({'from_rgb.bias': np.zeros(5, np.float32)}), r"key 'from_rgb.bias' gives \(5,\)"),
])
def test_key_and_shape_mismatches_name_the_key(afhq_like, edit, message):
  config, nets = afhq_like
  states = state_dicts(nets)
  edit(states['generator'])
  with pytest.raises(ValueError, match=message):
    sg2.convert(states, config)


def test_unknown_network_is_an_error(afhq_like):
  config, nets = afhq_like
  with pytest.raises(ValueError, match='Unknown networks'):
    sg2.convert({**state_dicts(nets), 'optimizer': {}}, config)


def test_missing_torch_says_how_to_install(monkeypatch, tmp_path):
  monkeypatch.setitem(__import__('sys').modules, 'torch', None)
  with pytest.raises(ImportError, match=r'pip install -e \.\[torch\]'):
    sg2.load_torch_checkpoint(tmp_path / 'x.ckpt')


def test_import_to_workdir_writes_a_restorable_training_state(afhq_like, tmp_path):
  """Fine-tuning StarGAN v2 into DSS: EMA file -> ema; nets file -> params and D; the flow and D_s stay fresh.

  One config only: building the training state compiles every network's init (the slow part here).
  """
  pytest.importorskip('dss_jax.train', reason='the training state is not there yet')
  from dss_jax import checkpoint
  _, nets = afhq_like
  config = tiny_config(arg='')  # DSS: flow mapping.
  ema_nets = torch_nets(config, seed=10)
  torch.save({k: ema_nets[k].state_dict() for k in ('generator', 'mapping_network', 'style_encoder')},
             tmp_path / 'ema.ckpt')
  torch.save({k: v.state_dict() for k, v in nets.items()}, tmp_path / 'nets.ckpt')
  written = sg2.import_to_workdir(config, tmp_path / 'ema.ckpt', tmp_path / 'run', tmp_path / 'nets.ckpt')

  state = checkpoint.restore_workdir(str(tmp_path / 'run'), written)
  want_ema, want_raw = sg2.convert(state_dicts(ema_nets), config), sg2.convert(state_dicts(nets), config)
  same = lambda a, b: jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)
  assert int(state.step) == 0
  same(state.ema['generator'], want_ema['generator'])
  same(state.params['generator'], want_raw['generator'])
  same(state.ema['style']['style_encoder'], want_ema['style_encoder'])
  same(state.params['style']['style_encoder'], want_raw['style_encoder'])
  same(state.params['discriminator']['discriminator'], want_raw['discriminator'])
  # The flow is fresh: its conditioner's last layer is zero-initialised (identity flow).
  assert not np.any(np.asarray(state.params['style']['mapping']['cond_out']['kernel']))
  same(state.ema['style']['mapping'], state.params['style']['mapping'])
  with pytest.raises(ValueError, match='already holds checkpoints'):
    sg2.import_to_workdir(config, tmp_path / 'ema.ckpt', tmp_path / 'run')
  # The imported workdir samples through --mode=sample, the code path of any trained run.
  from dss_jax import sample
  out = sample.run(config, str(tmp_path / 'run'), out_dir=str(tmp_path / 'samples'), max_images=2, num=2,
                   psis=(1.0,), video=False)
  assert os.path.getsize(out['reference']) > 0 and out['latent']

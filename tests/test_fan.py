"""FAN landmark network: hand-written PyTorch modules (from STARGAN_V2_REFERENCE.md's FAN facts, NCHW) against
ours, on random weights written as the official wing.ckpt and converted by dss_jax.tools.import_fan.

The FAN is big (6.3M parameters, 256 px input): the PyTorch outputs are computed once per module.
"""

import math
import os

import pytest

torch = pytest.importorskip('torch', reason='torch is an optional extra (pip install -e .[torch])')

import jax  # noqa: E402
import numpy as np  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from dss_jax.models import fan as fan_lib  # noqa: E402
from dss_jax.tools import import_fan  # noqa: E402

TOL = dict(atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------ reference network in PyTorch (NCHW)

class CoordConv(nn.Module):
  """Conv over [x, row coordinate, column coordinate, radius], coordinates in [-1, 1], radius / its max."""

  def __init__(self, size, cin, cout, kernel, stride=1):
    super().__init__()
    self.conv = nn.Conv2d(cin + 3, cout, kernel, stride, kernel // 2)
    r = torch.arange(size).float() / (size - 1) * 2 - 1
    rows, cols = r[:, None].expand(size, size), r[None, :].expand(size, size)
    radius = torch.sqrt(rows**2 + cols**2)
    self.coords = torch.stack([rows, cols, radius / radius.max()])[None]  # Not in the state dict.

  def forward(self, x):
    return self.conv(torch.cat([x, self.coords.expand(x.shape[0], -1, -1, -1)], 1))


class ConvBlock(nn.Module):
  def __init__(self, cin, cout):
    super().__init__()
    widths = (cin, cout // 2, cout // 4, cout // 4)
    for i in range(3):
      self.add_module(f'bn{i + 1}', nn.BatchNorm2d(widths[i]))
      self.add_module(f'conv{i + 1}', nn.Conv2d(widths[i], widths[i + 1], 3, 1, 1, bias=False))
    self.downsample = (nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False))
                       if cin != cout else None)

  def forward(self, x):
    outs, h = [], x
    for i in range(1, 4):
      h = getattr(self, f'conv{i}')(F.relu(getattr(self, f'bn{i}')(h)))
      outs.append(h)
    return torch.cat(outs, 1) + (self.downsample(x) if self.downsample is not None else x)


class HourGlass(nn.Module):
  def __init__(self, depth=4, c=256):
    super().__init__()
    self.depth = depth
    self.coordconv = CoordConv(64, c, c, 1)
    for n in range(depth, 0, -1):
      for name in ('b1', 'b2', 'b3') + (('b2_plus',) if n == 1 else ()):
        self.add_module(f'{name}_{n}', ConvBlock(c, c))

  def level(self, n, x):
    up = getattr(self, f'b1_{n}')(x)
    low = getattr(self, f'b2_{n}')(F.avg_pool2d(x, 2))
    low = self.level(n - 1, low) if n > 1 else getattr(self, f'b2_plus_{n}')(low)
    low = getattr(self, f'b3_{n}')(low)
    return up + F.interpolate(low, scale_factor=2, mode='nearest')

  def forward(self, x):
    return self.level(self.depth, self.coordconv(x))


class FAN(nn.Module):
  def __init__(self):
    super().__init__()
    self.conv1 = CoordConv(256, 3, 64, 7, 2)
    self.bn1 = nn.BatchNorm2d(64)
    self.conv2, self.conv3, self.conv4 = ConvBlock(64, 128), ConvBlock(128, 128), ConvBlock(128, 256)
    self.m0 = HourGlass()
    self.top_m_0 = ConvBlock(256, 256)
    self.conv_last0 = nn.Conv2d(256, 256, 1)
    self.bn_end0 = nn.BatchNorm2d(256)
    self.l0 = nn.Conv2d(256, 99, 1)

  def forward(self, x):
    x = F.avg_pool2d(self.conv2(F.relu(self.bn1(self.conv1(x)))), 2)
    x = self.top_m_0(self.m0(self.conv4(self.conv3(x))))
    return self.l0(F.relu(self.bn_end0(self.conv_last0(x))))


def heatmaps(net, x):
  """x [B, 3, H, W] in [-1, 1] -> [B, 98, 64, 64]."""
  x = F.interpolate(x, size=256, mode='bilinear', align_corners=False)
  return net(x * 0.5 + 0.5)[:, :98]


def shift(x, n):
  """Rows up by n (down for n < 0), wrapping: out[..., i, :] = x[..., (i + n) % H, :]."""
  h = x.shape[2]
  return x[:, :, (torch.arange(h) + n) % h]


def masks_from_heatmaps(hm):
  """The reference recipe on [B, 98, H, W] -> (coarse, fine) [B, 1, H, W]."""
  x = torch.where(hm < 0.1, torch.zeros_like(hm), hm)
  flat = x.flatten(2)
  lo, hi = flat.min(2)[0][..., None, None], flat.max(2)[0][..., None, None]
  x = (x - lo) / (hi - lo + 1e-6)
  sw = x.shape[2] // 256
  for (a, b), n, p in (((8, 25), 0, 3), ((33, 51), -7, 2), ((55, 60), 8, 4), ((77, 82), -8, 4), ((83, 88), 8, 4),
                       ((88, 96), -2, 3)):
    x[:, a:b] = shift(x[:, a:b], n * sw) ** p
  x[:, list(range(0, 8)) + list(range(25, 33)) + [33, 46, 76, 82]] = 0
  x[:, 52:55] = shift(x[:, 52:55], 4 * sw)
  eyes = x[:, 60:76].clone()
  x[:, 60:76] = shift(eyes, -8) ** 3 + shift(eyes, -24)
  fine = x.clone()
  fine[:, 8:25] = 0
  fine[:, 76:96] = 0
  fine[:, 33:51] = 0
  return tuple(torch.nan_to_num(m.sum(1, keepdim=True), nan=0.0).clamp(0, 1) for m in (x, fine))


def masks(net, x):
  hm = F.interpolate(heatmaps(net, x), scale_factor=4, mode='bilinear', align_corners=True)
  return masks_from_heatmaps(hm)


def landmarks(net, x):
  """[B, 98, 2] (x, y): arg-max + 1, a quarter pixel towards the higher neighbour inside the border, - 0.5."""
  hm = heatmaps(net, x)
  b, c, h, w = hm.shape
  idx = hm.flatten(2).argmax(2)
  row, col = idx // w, idx % w
  out = torch.stack([col, row], -1).float() + 1
  for i in range(b):
    for j in range(c):
      r, q = int(row[i, j]), int(col[i, j])
      if 0 < q < w - 1 and 0 < r < h - 1:
        m = hm[i, j]
        out[i, j, 0] += 0.25 * torch.sign(m[r, q + 1] - m[r, q - 1])
        out[i, j, 1] += 0.25 * torch.sign(m[r + 1, q] - m[r - 1, q])
  return (out - 0.5) * (x.shape[2] // 64)


def randomise(module, seed):
  """He-normal conv weights, random biases, batch-norm affines and running statistics; eval mode."""
  gen = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for name, t in module.state_dict().items():
      if name.endswith('num_batches_tracked'):
        continue
      if t.ndim > 1:
        t.copy_(torch.randn(t.shape, generator=gen) * math.sqrt(2.0 / t[0].numel()))
      elif name.endswith('running_var'):
        t.copy_(0.5 + torch.rand(t.shape, generator=gen))
      elif name.endswith('weight'):
        t.copy_(1 + 0.2 * torch.randn(t.shape, generator=gen))
      else:
        t.copy_(0.1 * torch.randn(t.shape, generator=gen))
  return module.eval()


def nchw(x):
  return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t):
  return t.numpy().transpose(0, 2, 3, 1)


# ------------------------------------------------------------------ fixtures


def write_wing_ckpt(path, seed=0, extra_stack=True):
  """A random FAN saved as the official wing.ckpt ({'state_dict': ...}), with a second hourglass stack's keys
  as the 4-stack AdaptiveWingLoss file has them (our FAN, as StarGAN v2's, drops them)."""
  net = randomise(FAN(), seed)
  with torch.no_grad():  # Peaky heatmaps of order 1, as a trained FAN's (He weights alone give values near 100,
    net.l0.weight.mul_(0.02)  # and masks saturated at 1): each channel's mean + 2 std moved to 0.
    hm = net(torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(seed + 1))).transpose(0, 1).flatten(1)
    net.l0.bias.sub_(hm.mean(1) + 2 * hm.std(1))
  state = dict(net.state_dict())
  if extra_stack:
    state.update({'m1.b1_4.conv1.weight': torch.zeros(128, 256, 3, 3), 'l1.weight': torch.zeros(99, 256, 1, 1),
                  'bl0.weight': torch.zeros(256, 256, 1, 1), 'al0.bias': torch.zeros(256)})
  torch.save({'state_dict': state, 'epoch': 10}, path)
  return net


@pytest.fixture(scope='module')
def fan_pair(tmp_path_factory):
  """(torch FAN, our variables from the converted wing.ckpt, path of the .npz)."""
  d = tmp_path_factory.mktemp('fan')
  net = write_wing_ckpt(d / 'wing.ckpt')
  variables = import_fan.import_fan(str(d / 'wing.ckpt'), str(d / 'fan.npz'))
  return net, variables, str(d / 'fan.npz')


@pytest.fixture(scope='module')
def outputs(fan_pair):
  """Heatmaps, masks and landmarks of both sides on one batch of 128 px images."""
  net, variables, _ = fan_pair
  x = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 3)).astype(np.float32)
  with torch.no_grad():
    hm = heatmaps(net, nchw(x))
    want = {'heatmaps': nhwc(hm), 'masks': [nhwc(m) for m in masks(net, nchw(x))],
            'landmarks': landmarks(net, nchw(x)).numpy(),
            'upsampled': nhwc(F.interpolate(hm, scale_factor=4, mode='bilinear', align_corners=True))}
  got = {'heatmaps': np.asarray(jax.jit(fan_lib.heatmaps)(variables, x)),
         'masks': [np.asarray(m) for m in jax.jit(fan_lib.masks)(variables, x)],
         'landmarks': np.asarray(jax.jit(fan_lib.landmarks)(variables, x))}
  got['upsampled'] = np.asarray(jax.jit(lambda h: fan_lib.resize_bilinear(h, 256, align_corners=True))(got['heatmaps']))
  return want, got


def masks_deciding_edges_as(want_up, got_up):
  """PyTorch's masks from its upsampled heatmaps, except that a value on the other side of the recipe's 0.1
  threshold from ours takes our value (so our side's keep-or-drop decision), [B, H, W, 1] x 2, and how many.

  The recipe drops heatmap values below 0.1: a step. Two correct float32 implementations whose heatmaps agree
  to TOL can put a value within that distance of 0.1 on different sides of it (another processor's rounding
  did, once in 12.8 million values), and the step turns a 1e-4 difference into up to ~0.1 / (max - min) in
  the mask (9.9e-4 was seen). Either decision is right there, so the comparison uses ours at those values and
  checks the rest of the recipe exactly; the caller checks that such values are few and lie at the threshold.
  """
  flips = (want_up < 0.1) != (got_up < 0.1)
  hybrid = np.where(flips, got_up, want_up)
  with torch.no_grad():
    return [nhwc(m) for m in masks_from_heatmaps(nchw(hybrid))], flips


# ------------------------------------------------------------------ tests


def test_parameter_count_is_the_official_one(fan_pair):
  net, variables, _ = fan_pair
  assert sum(p.numel() for p in net.parameters()) == fan_lib.NUM_PARAMS == 6_333_603
  assert fan_lib.param_count(variables) == fan_lib.NUM_PARAMS


def test_heatmaps_masks_and_landmarks_match_pytorch(outputs):
  want, got = outputs
  diffs = {'heatmaps': np.abs(got['heatmaps'] - want['heatmaps']).max(),
           'mask_coarse': np.abs(got['masks'][0] - want['masks'][0]).max(),
           'mask_fine': np.abs(got['masks'][1] - want['masks'][1]).max(),
           'landmarks': np.abs(got['landmarks'] - want['landmarks']).max()}
  print('max abs diff vs PyTorch:', {k: float(v) for k, v in diffs.items()})
  np.testing.assert_allclose(got['heatmaps'], want['heatmaps'], **TOL)
  want_masks, flips = masks_deciding_edges_as(want['upsampled'], got['upsampled'])
  edge = TOL['atol'] + TOL['rtol'] * 0.1  # How far from 0.1 a value may be and still fall on the other side.
  print(f'heatmap values on the other side of the threshold: {flips.sum()} of {flips.size}')
  assert flips.sum() <= 1e-5 * flips.size and np.all(np.abs(want['upsampled'][flips] - 0.1) <= edge)
  for g, w in zip(got['masks'], want_masks):
    assert g.shape == (2, 256, 256, 1)
    np.testing.assert_allclose(g, w, **TOL)
  np.testing.assert_allclose(got['landmarks'], want['landmarks'], **TOL)
  assert got['landmarks'].shape == (2, 98, 2)
  # Non-trivial: the masks are neither empty nor saturated.
  assert 0.01 < want['masks'][0].mean() < 0.99 and want['masks'][1].max() > 0.1


@pytest.mark.parametrize('size', [256, 512])
def test_mask_recipe_matches_pytorch(size):
  """The recipe alone on random heatmaps (at 512 px the shifts double)."""
  hm = np.random.default_rng(size).normal(0.2, 0.3, (2, size, size, 98)).astype(np.float32)
  want = masks_from_heatmaps(nchw(hm).clone())
  got = jax.jit(fan_lib.masks_from_heatmaps)(hm)
  for g, w in zip(got, want):
    np.testing.assert_allclose(np.asarray(g), nhwc(w), **TOL)


def test_landmarks_at_the_border_and_inside():
  hm = np.zeros((1, 64, 64, 3), np.float32)
  hm[0, 10, 20, 0], hm[0, 10, 21, 0], hm[0, 11, 20, 0] = 1.0, 0.5, 0.4  # Right and below are higher.
  hm[0, 0, 5, 1] = 1.0  # Top border: no refinement.
  hm[0, 30, 40, 2], hm[0, 30, 39, 2], hm[0, 29, 40, 2] = 1.0, 0.5, 0.5  # Left and above are higher.
  got = np.asarray(fan_lib.landmarks_from_heatmaps(hm))[0]
  np.testing.assert_allclose(got, [[20.75, 10.75], [5.5, 0.5], [40.25, 30.25]])


def test_generator_with_fan_masks_matches_pytorch(fan_pair, tmp_path):
  """An imported CelebA-HQ-style generator (w_hpf 1) with our FAN's masks equals PyTorch's fed PyTorch's masks;
  through `Networks` (config.fan_path) the masks are computed from the source images."""
  from test_import_stargan_v2 import inputs, torch_nets
  from test_import_stargan_v2 import tiny_config as sg2_config

  from dss_jax import models
  from dss_jax.tools import import_stargan_v2 as sg2
  net, variables, npz = fan_pair
  config = sg2_config(img_size=64, num_domains=2, w_hpf=1.0)
  g = torch_nets(config)['generator']
  torch.save({'generator': g.state_dict(), 'fan': net.state_dict()}, tmp_path / 'celeba_nets_ema.ckpt')
  params = sg2.convert(sg2.load_torch_checkpoint(tmp_path / 'celeba_nets_ema.ckpt'), config)['generator']
  x, _, _, s = inputs(config)
  with torch.no_grad():
    want = nhwc(g(nchw(x), torch.from_numpy(s), masks=list(masks(net, nchw(x)))))
    plain = nhwc(g(nchw(x), torch.from_numpy(s)))
  ours = models.build(config).generator
  got = ours.apply({'params': params}, x, s, masks=fan_lib.masks(variables, x))
  print('generator with masks, max abs diff vs PyTorch:', float(np.abs(np.asarray(got) - want).max()))
  np.testing.assert_allclose(np.asarray(got), want, **TOL)
  assert np.abs(want - plain).max() > 1e-3  # The masks changed the output.

  # The same through Networks, built with config.fan_path (what training, sampling and Translator call).
  with config.unlocked():
    config.fan_path = npz
  nets = models.build(config)
  assert nets.fan is not None, 'models.build must wire config.fan_path into Networks'
  np.testing.assert_allclose(np.asarray(jax.jit(nets.generate)(params, x, s)), want, **TOL)
  content, cache = nets.encode_content(params, x)
  np.testing.assert_allclose(np.asarray(nets.decode(params, content, s, cache)), want, **TOL)
  # Frozen: no gradient reaches the image through the masks, as the reference's no_grad get_heatmap.
  grad_masks = jax.grad(lambda xx: fan_lib.LandmarkMasks(npz)(xx)[0].sum())(x)
  assert not np.any(np.asarray(grad_masks))


def test_ckpt_layouts_and_errors(fan_pair, tmp_path):
  net, variables, _ = fan_pair
  state = {k: v.numpy() for k, v in net.state_dict().items()}
  # A StarGAN v2 checkpoint holding 'fan', saved from inside DataParallel ('module.' prefixes).
  torch.save({'generator': {}, 'fan': {f'module.{k}': v for k, v in net.state_dict().items()}}, tmp_path / 'n.ckpt')
  got = import_fan.convert(import_fan.load_torch_checkpoint(tmp_path / 'n.ckpt'))
  jax.tree_util.tree_map(np.testing.assert_array_equal, got, variables)
  with pytest.raises(ValueError, match=r"no key 'l0.bias'"):
    import_fan.convert({k: v for k, v in state.items() if k != 'l0.bias'})
  with pytest.raises(ValueError, match=r"'l0.weight' gives \(1, 1, 256, 68\)"):
    import_fan.convert({**state, 'l0.weight': np.zeros((68, 256, 1, 1), np.float32)})
  with pytest.raises(ValueError, match=r"no place for: 'head.weight'"):
    import_fan.convert({**state, 'head.weight': np.zeros(3, np.float32)})
  with pytest.raises(ValueError, match='holds no FAN state dict'):
    torch.save({'optimizer': 3}, tmp_path / 'bad.ckpt')
    import_fan.load_torch_checkpoint(tmp_path / 'bad.ckpt')


def test_missing_weights_say_how_to_get_them(tmp_path, fan_pair):
  import ml_collections
  with pytest.raises(fan_lib.FanWeightsNotFoundError, match='download.sh wing'):
    fan_lib.load_variables(str(tmp_path / 'nope.npz'))
  with pytest.raises(ValueError, match='convert it first'):
    (tmp_path / 'wing.ckpt').write_bytes(b'x')
    fan_lib.load_variables(str(tmp_path / 'wing.ckpt'))
  with pytest.raises(ValueError, match='not a dss_jax FAN weights file'):
    np.savez(tmp_path / 'other.npz', a=np.zeros(3))
    fan_lib.load_variables(str(tmp_path / 'other.npz'))
  config = ml_collections.ConfigDict({'w_hpf': 1.0, 'fan_path': str(tmp_path / 'nope.npz')})
  with pytest.raises(fan_lib.FanWeightsNotFoundError, match='download.sh wing'):
    fan_lib.from_config(config)
  config.fan_path = ''
  assert fan_lib.from_config(config) is None  # Logs what is lost and how to get the file.
  config.w_hpf, config.fan_path = 0.0, fan_pair[2]
  assert fan_lib.from_config(config) is None
  config.w_hpf = 1.0
  assert fan_lib.from_config(config) == fan_lib.LandmarkMasks(os.path.abspath(fan_pair[2]))


def test_tiny_w_hpf_run_with_fan_trains_checkpoints_and_samples(fan_pair, tmp_path):
  """config.fan_path with w_hpf 1: training computes masks from the sources (and the cycle's fakes) with the
  frozen FAN, which is in no optimizer and no checkpoint; the checkpoint samples through --mode=sample's code
  path, and Translator's outputs are the generator's fed our FAN's masks."""
  from conftest import tiny_config
  from PIL import Image
  from test_golden import _batches

  from dss_jax import inference, sample, train
  _, variables, npz = fan_pair
  config = tiny_config('stargan_v2')
  config.w_hpf, config.fan_path = 1.0, npz
  config.batch_size, config.total_iters, config.checkpoint_every, config.sample_every = 2, 2, 2, 2
  config.eval_every = 0
  workdir = str(tmp_path / 'run')
  state = train.train_and_evaluate(config, workdir, train_iterator=_batches(config))
  assert int(state.step) == 2
  assert set(state.params) == set(state.opt_state) == {'generator', 'style', 'discriminator'}  # No FAN tree.
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree_util.tree_leaves(state.params))

  translator = inference.Translator.from_workdir(workdir)  # The run's saved config names the FAN.
  assert translator.nets.fan is not None
  image = tmp_path / 'face.png'
  Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8)).save(image)
  result = sample.run(config, workdir, out_dir=str(tmp_path / 'out'), image=str(image), target='domain1', num=2,
                      psis=[1.0], translator=translator)
  assert os.path.getsize(result['translations'][0]) > 0

  x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
  s = np.random.default_rng(2).standard_normal((2, config.style_dim)).astype(np.float32)
  apply = jax.jit(translator.nets.generator.apply)
  g = {'params': translator.params['generator']}
  want, plain = apply(g, x, s, jax.jit(fan_lib.masks)(variables, x)), apply(g, x, s)
  np.testing.assert_allclose(translator.generate(x, s), np.asarray(want), **TOL)
  assert np.abs(np.asarray(want) - np.asarray(plain)).max() > 1e-4

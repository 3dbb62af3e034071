"""FAN: the frozen face-landmark network of StarGAN v2's CelebA-HQ model, and the masks it feeds the generator.

StarGAN v2 (w_hpf > 0) multiplies the generator's high-pass skip features by heatmap masks of the
*input* image's eyes, nose and mouth, so that a translated face keeps its identity. The masks come
from a pretrained FAN (the AdaptiveWingLoss hourglass network, 98 WFLW landmarks + 1 boundary
channel; the official `wing.ckpt`); `--mode=align` uses its landmarks to align faces as CelebA-HQ is
aligned (`dss_jax/align.py`). Facts from STARGAN_V2_REFERENCE.md ("FAN heatmap masks"); the code is
our own. NHWC, pure init/apply, frozen: eval-mode batch norm, never in an optimizer.

Architecture (6,333,603 parameters; running statistics in the 'batch_stats' collection):
  CoordConv 7x7 / 2 (image + row, column, radius channels) 3 -> 64, BN, ReLU        @128
  ConvBlock 64 -> 128, avg-pool 2, ConvBlock 128 -> 128, ConvBlock 128 -> 256        @64
  hourglass m0: CoordConv 1x1 (256 + 3 -> 256), then 4 levels of ConvBlocks (b1 on the
    full-resolution branch, b2 after avg-pool, b3 before nearest x2 upsampling, b2_plus at the bottom)
  ConvBlock top_m_0, conv1x1 conv_last0 + BN + ReLU, conv1x1 l0: 256 -> 99 heatmaps     @64
ConvBlock(i, o): three pre-activation (BN, ReLU) 3x3 convs without bias, i -> o/2 -> o/4 -> o/4, their
outputs concatenated (o channels) plus the input (through BN, ReLU, conv1x1 when i != o).

The functions (variables = {'params', 'batch_stats'}, as `load_variables` returns them):
  heatmaps(variables, x)  x [B, H, W, 3] in [-1, 1] -> [B, 64, 64, 98] raw landmark heatmaps
  masks(variables, x)     -> (coarse, fine), each [B, 256, 256, 1] in [0, 1]: the generator's `masks`
  landmarks(variables, x) -> [B, 98, 2] (x, y) positions in pixels of x
`LandmarkMasks` is what `models.build` puts into `Networks` when config.w_hpf > 0 and config.fan_path
is set: a hashable callable that computes masks with the frozen weights (jit constants, no gradient).
"""

import dataclasses
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from flax import traverse_util

INPUT_SIZE = 256  # The FAN sees every image at 256 x 256.
HEATMAP_SIZE = 64
NUM_LANDMARKS = 98  # WFLW; the network's 99th channel is a face-boundary map, dropped.
NUM_PARAMS = 6_333_603

HOW_TO_GET = (
    'Get the official FAN weights with the StarGAN v2 repository\'s `bash download.sh wing` (it writes '
    'expr/checkpoints/wing.ckpt and expr/checkpoints/celeba_lm_mean.npz), convert them once with\n'
    '  python -m dss_jax.tools.import_fan --ckpt=expr/checkpoints/wing.ckpt --out=checkpoints/fan.npz\n'
    'and set --config.fan_path=checkpoints/fan.npz (docs/import.md, "FAN and face alignment").')
NO_FAN = ('config.w_hpf > 0 but config.fan_path is empty: the generator runs without the FAN landmark masks, so '
          "its high-pass skip path is off and faces do not keep the source's eyes, nose and mouth as in StarGAN v2's "
          'CelebA-HQ model. ' + HOW_TO_GET)


class FanWeightsNotFoundError(FileNotFoundError):
  """The converted FAN weights (config.fan_path) are missing; the message says how to make them."""


class FanWeightsError(ValueError):
  """config.fan_path is not a converted FAN weights file (e.g. the PyTorch wing.ckpt itself)."""


# ------------------------------------------------------------------------------------------ the network


def _batch_norm(name):
  # Eval mode only (frozen network): running statistics, PyTorch's eps.
  return nn.BatchNorm(use_running_average=True, epsilon=1e-5, name=name)


def _coord_channels(h, w):
  """[h, w, 3]: row and column coordinates in [-1, 1] and the radius scaled to max 1 (CoordConv with_r)."""
  rows = np.arange(h, dtype=np.float32) / np.float32(h - 1) * 2 - 1
  cols = np.arange(w, dtype=np.float32) / np.float32(w - 1) * 2 - 1
  rows, cols = np.broadcast_to(rows[:, None], (h, w)), np.broadcast_to(cols[None, :], (h, w))
  radius = np.sqrt(rows**2 + cols**2)
  return np.stack([rows, cols, radius / radius.max()], axis=-1).astype(np.float32)


class CoordConv(nn.Module):
  """Conv over the input with three coordinate channels appended (row, column, radius)."""
  features: int
  kernel: int
  stride: int = 1

  @nn.compact
  def __call__(self, x):
    b, h, w, _ = x.shape
    coords = jnp.broadcast_to(jnp.asarray(_coord_channels(h, w), x.dtype), (b, h, w, 3))
    pad = self.kernel // 2
    return nn.Conv(self.features, (self.kernel, self.kernel), strides=self.stride, padding=((pad, pad), (pad, pad)),
                   name='conv')(jnp.concatenate([x, coords], axis=-1))


class ConvBlock(nn.Module):
  """Three pre-activation 3x3 convs (o/2, o/4, o/4 channels), concatenated, plus the (projected) input."""
  features: int

  @nn.compact
  def __call__(self, x):
    out, h = [], x
    for i, f in enumerate((self.features // 2, self.features // 4, self.features // 4), start=1):
      h = nn.Conv(f, (3, 3), padding=((1, 1), (1, 1)), use_bias=False, name=f'conv{i}')(
          nn.relu(_batch_norm(f'bn{i}')(h)))
      out.append(h)
    if x.shape[-1] != self.features:
      x = nn.Conv(self.features, (1, 1), use_bias=False, name='downsample_conv')(
          nn.relu(_batch_norm('downsample_bn')(x)))
    return jnp.concatenate(out, axis=-1) + x


def _pool(x):
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


def _upsample(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class HourGlass(nn.Module):
  depth: int = 4
  features: int = 256

  @nn.compact
  def __call__(self, x):
    x = CoordConv(self.features, 1, name='coordconv')(x)

    def level(n, inp):
      up = ConvBlock(self.features, name=f'b1_{n}')(inp)
      low = ConvBlock(self.features, name=f'b2_{n}')(_pool(inp))
      low = level(n - 1, low) if n > 1 else ConvBlock(self.features, name=f'b2_plus_{n}')(low)
      low = ConvBlock(self.features, name=f'b3_{n}')(low)
      return up + _upsample(low)

    return level(self.depth, x)


class FAN(nn.Module):
  """x [B, 256, 256, 3] in [0, 1] -> heatmaps [B, 64, 64, num_landmarks + 1] (the last: face boundary)."""
  num_landmarks: int = NUM_LANDMARKS

  @nn.compact
  def __call__(self, x):
    if x.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
      raise ValueError(f'The FAN takes {INPUT_SIZE}x{INPUT_SIZE} images (got {x.shape[1:3]}); use `heatmaps`.')
    x = nn.relu(_batch_norm('bn1')(CoordConv(64, 7, stride=2, name='conv1')(x)))
    x = _pool(ConvBlock(128, name='conv2')(x))
    x = ConvBlock(128, name='conv3')(x)
    x = ConvBlock(256, name='conv4')(x)
    x = HourGlass(name='m0')(x)
    x = ConvBlock(256, name='top_m_0')(x)
    x = nn.relu(_batch_norm('bn_end0')(nn.Conv(256, (1, 1), name='conv_last0')(x)))
    return nn.Conv(self.num_landmarks + 1, (1, 1), name='l0')(x)


def init(rng):
  """Fresh variables {'params', 'batch_stats'} (for tests and shapes; the real weights come from wing.ckpt)."""
  return FAN().init(rng, jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32))


def abstract_variables():
  return jax.eval_shape(init, jax.random.key(0))


# ------------------------------------------------------------------------------------------ resizing


def _resize_matrix(n_in, n_out, align_corners):
  """[n_out, n_in] float32 weights of PyTorch's 1-D linear interpolation (no antialiasing).

  align_corners=False: half-pixel centres, source index clamped at 0 (interpolate's default, OpenCV's
  INTER_LINEAR); True: the corners of input and output coincide.
  """
  i = np.arange(n_out, dtype=np.float64)
  if align_corners:
    src = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
  else:
    src = np.maximum((i + 0.5) * (n_in / n_out) - 0.5, 0.0)
  i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
  i1 = np.minimum(i0 + 1, n_in - 1)
  frac = src - i0
  m = np.zeros((n_out, n_in), np.float64)
  np.add.at(m, (np.arange(n_out), i0), 1 - frac)
  np.add.at(m, (np.arange(n_out), i1), frac)
  return m.astype(np.float32)


def resize_bilinear(x, size, align_corners=False):
  """x [B, H, W, C] -> [B, size, size, C], exactly PyTorch's F.interpolate(mode='bilinear') (separable)."""
  h, w = x.shape[1:3]
  if (h, w) == (size, size) and not align_corners:
    return x
  mh, mw = _resize_matrix(h, size, align_corners), _resize_matrix(w, size, align_corners)
  hi = jax.lax.Precision.HIGHEST
  x = jnp.einsum('oh,bhwc->bowc', mh, x, precision=hi)
  return jnp.einsum('pw,bowc->bopc', mw, x, precision=hi)


# ------------------------------------------------------------------------------------------ heatmaps -> masks

# Channel ranges of the 98 WFLW landmarks (start, end) that the mask recipe treats apart.
CHIN = (8, 25)  # The face line without its 8 outermost points on either side.
EYEBROWS = (33, 51)
EYEBROW_EDGES = (33, 46)
NOSE = (51, 55)
EYES = (60, 76)
LIP_EDGES = (76, 82)
LIP_INNER_END = 96
# (range, vertical shift in pixels at 256 px (scaled by H // 256), power): StarGAN v2's hand-tuned recipe.
PART_OPS = ((CHIN, 0, 3), (EYEBROWS, -7, 2), ((55, 60), 8, 4), ((77, 82), -8, 4), ((83, 88), 8, 4), ((88, 96), -2, 3))
# Zeroed: the face line outside CHIN, two eyebrow and two lip-corner points.
ZEROED = (*range(0, CHIN[0]), *range(CHIN[1], 33), EYEBROW_EDGES[0], EYEBROW_EDGES[1], LIP_EDGES[0], LIP_EDGES[1])
# Also zeroed for the fine mask (used at 64 and 128 px): chin, lips, eyebrows; mostly eyes and nose remain.
FINE_ZEROED = (*range(*CHIN), *range(LIP_EDGES[0], LIP_INNER_END), *range(*EYEBROWS))


def _shift(x, n):
  """Rows moved up by n (down for n < 0), wrapping around: out[:, i] = x[:, (i + n) mod H]."""
  return jnp.roll(x, -n, axis=1)


def masks_from_heatmaps(hm):
  """StarGAN v2's mask recipe: heatmaps [B, H, W, 98] (at 256 px) -> (coarse, fine) [B, H, W, 1] in [0, 1].

  Values below 0.1 are dropped, each heatmap is min-max normalised, parts are shifted vertically and
  raised to powers (eyes: shifted 8 px up, cubed, plus a copy 24 px up), some points are zeroed; the
  coarse mask sums every heatmap, the fine one drops chin, lips and eyebrows; both are clipped to [0, 1].
  """
  h = hm.shape[1]
  x = jnp.where(hm < 0.1, 0.0, hm)
  lo, hi = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
  x = (x - lo) / (hi - lo + 1e-6)
  sw = h // 256
  for (start, end), shift, power in PART_OPS:
    x = x.at[..., start:end].set(_shift(x[..., start:end], shift * sw) ** power)
  x = x.at[..., list(ZEROED)].set(0.0)
  x = x.at[..., NOSE[0] + 1:NOSE[1]].set(_shift(x[..., NOSE[0] + 1:NOSE[1]], 4 * sw))
  eyes = x[..., EYES[0]:EYES[1]]
  x = x.at[..., EYES[0]:EYES[1]].set(_shift(eyes, -8) ** 3 + _shift(eyes, -24))  # Not scaled by sw, as the reference.
  fine = x.at[..., list(FINE_ZEROED)].set(0.0)
  # NaN -> 0 in both (the reference's line for the fine mask tests the already cleaned coarse one; only
  # non-finite inputs differ).
  out = []
  for m in (x, fine):
    m = jnp.sum(m, axis=-1, keepdims=True)
    out.append(jnp.clip(jnp.where(jnp.isnan(m), 0.0, m), 0.0, 1.0))
  return tuple(out)


# ------------------------------------------------------------------------------------------ the functions


def heatmaps(variables, x):
  """x [B, H, W, 3] in [-1, 1] -> the 98 landmark heatmaps [B, 64, 64, 98] (boundary channel dropped).

  As the reference's get_heatmap: bilinear resize to 256 (align_corners=False), x * 0.5 + 0.5, FAN.
  """
  x = resize_bilinear(x.astype(jnp.float32), INPUT_SIZE)
  return FAN().apply(variables, x * 0.5 + 0.5)[..., :NUM_LANDMARKS]


def masks(variables, x):
  """x [B, H, W, 3] in [-1, 1] -> (coarse, fine) masks [B, 256, 256, 1] for Generator(masks=...).

  Heatmaps x4 (bilinear, align_corners=True) to 256 px, then `masks_from_heatmaps`. The generator
  resizes them to 32 (coarse) and 64 / 128 px (fine) itself.
  """
  hm = heatmaps(variables, x)
  return masks_from_heatmaps(resize_bilinear(hm, INPUT_SIZE, align_corners=True))


def landmarks_from_heatmaps(hm):
  """[B, h, w, C] -> [B, C, 2] (x, y) in heatmap pixels: the arg-max, moved a quarter pixel towards the
  higher neighbour in each direction (not at the border), minus half a pixel (the reference's get_preds_fromhm)."""
  b, h, w, c = hm.shape
  idx = jnp.argmax(hm.reshape(b, h * w, c), axis=1)  # [B, C]; the first maximum, as torch.max.
  row, col = idx // w, idx % w
  take = lambda r, q: jnp.take_along_axis(hm.reshape(b, h * w, c), (jnp.clip(r, 0, h - 1) * w + jnp.clip(q, 0, w - 1))
                                          [:, None, :], axis=1)[:, 0]
  inside = (col > 0) & (col < w - 1) & (row > 0) & (row < h - 1)
  dx = jnp.where(inside, jnp.sign(take(row, col + 1) - take(row, col - 1)), 0.0)
  dy = jnp.where(inside, jnp.sign(take(row + 1, col) - take(row - 1, col)), 0.0)
  return jnp.stack([col + 1 + 0.25 * dx, row + 1 + 0.25 * dy], axis=-1).astype(jnp.float32) - 0.5


def landmarks(variables, x):
  """x [B, H, W, 3] in [-1, 1] -> [B, 98, 2] (x, y) landmark positions in pixels of x (scaled by H // 64)."""
  return landmarks_from_heatmaps(heatmaps(variables, x)) * (x.shape[1] // HEATMAP_SIZE)


# ------------------------------------------------------------------------------------------ weights


def param_count(variables) -> int:
  return sum(int(np.size(v)) for v in jax.tree_util.tree_leaves(variables['params']))


def save_variables(variables, path):
  """Writes variables {'params', 'batch_stats'} as an .npz of '/'-joined paths (no pickle, no torch)."""
  flat = traverse_util.flatten_dict(jax.device_get(variables), sep='/')
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, 'wb') as f:
    np.savez(f, **{k: np.asarray(v, np.float32) for k, v in flat.items()})


def check_variables(flat, source):
  """flat {'params/conv1/conv/kernel': array, ...} -> variables, or a FanWeightsError naming what does not fit."""
  expected = traverse_util.flatten_dict(abstract_variables(), sep='/')
  missing, extra = sorted(set(expected) - set(flat)), sorted(set(flat) - set(expected))
  if missing or extra:
    raise FanWeightsError(f'{source} is not a dss_jax FAN weights file: missing {missing[:4]}, unexpected {extra[:4]}. '
                     + HOW_TO_GET)
  for k, leaf in expected.items():
    if tuple(np.shape(flat[k])) != tuple(leaf.shape):
      raise FanWeightsError(f'{source}: {k} has shape {np.shape(flat[k])}, the FAN needs {tuple(leaf.shape)}.')
  return traverse_util.unflatten_dict({k: np.asarray(flat[k], np.float32) for k in expected}, sep='/')


def load_variables(path):
  """The converted FAN weights at `path` (written by dss_jax.tools.import_fan) -> variables (numpy)."""
  if not path or not os.path.isfile(path):
    where = f'there is no file {path!r}' if path else 'no path is set'
    raise FanWeightsNotFoundError(f'The FAN landmark network needs its weights, but {where}. ' + HOW_TO_GET)
  if path.endswith(('.ckpt', '.pth', '.pt')):
    raise FanWeightsError(f'{path} is a PyTorch file; convert it first: python -m dss_jax.tools.import_fan '
                     f'--ckpt={path} --out=checkpoints/fan.npz, and set config.fan_path to the .npz.')
  with np.load(path) as data:
    return check_variables(dict(data), path)


@dataclasses.dataclass(frozen=True)
class LandmarkMasks:
  """x [B, H, W, 3] in [-1, 1] -> (coarse, fine) masks, with the frozen FAN weights at `path`.

  Hashable by its path (equal configs build equal `Networks`, which share compiled functions). The
  weights enter jitted functions as constants, replicated on every device, and no gradient flows
  through the masks, as the reference (its get_heatmap runs under no_grad).
  """
  path: str

  def __call__(self, x):
    return jax.lax.stop_gradient(masks(load_variables(self.path), jax.lax.stop_gradient(x)))


def from_config(config):
  """`LandmarkMasks` when config.w_hpf > 0 and config.fan_path is set; else None (the message says what is lost)."""
  if config.get('w_hpf', 0.0) <= 0:
    return None
  path = config.get('fan_path', '')
  if not path:
    logging.log_first_n(logging.WARNING, NO_FAN, 1)  # build() runs several times per run; say it once.
    return None
  path = os.path.abspath(os.path.expanduser(path))
  if not os.path.isfile(path):
    raise FanWeightsNotFoundError(f'config.fan_path is {config.fan_path!r}, but there is no such file. ' + HOW_TO_GET)
  return LandmarkMasks(path)

"""LPIPS (diversity) as StarGAN v2 computes it: torchvision AlexNet features + the LPIPS v0.1 'alex' weights.

STARGAN_V2_REFERENCE.md section 4.2: images in [-1, 1] go through the LPIPS ScalingLayer, then
`alexnet.features`; the maps after its 5 ReLUs (64, 192, 384, 256, 256 channels) are channel-unit-
normalised (x * rsqrt(sum_c x^2 + 1e-10)), their squared difference goes through a learned 1x1 conv (no
bias), is averaged over space and summed over the 5 layers. Images are fed as generated (no resize, no
clamp, no quantisation). Diversity = mean LPIPS over the 45 pairs of the 10 outputs per source.

Weights come from a local .npz (`config.lpips_path`) written by `scripts/convert_torchvision_weights.py`:
torchvision keys `features.{0,3,6,8,10}.{weight,bias}` (OIHW) and `lin{0..4}.weight` ([1, C, 1, 1]).
"""

import itertools
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dss_jax.errors import MetricWeightsNotFoundError

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
CHANNELS = (64, 192, 384, 256, 256)
# torchvision alexnet.features indices of the 5 convs: (index, kernel, stride, padding).
_CONVS = ((0, 11, 4, 2), (3, 5, 1, 2), (6, 3, 1, 1), (8, 3, 1, 1), (10, 3, 1, 1))


class AlexNetFeatures(nn.Module):
  """torchvision `alexnet().features` up to the 5th ReLU; x: [B, H, W, 3] scaled -> list of 5 maps."""

  @nn.compact
  def __call__(self, x):
    feats = []
    for i, ((index, k, s, p), c) in enumerate(zip(_CONVS, CHANNELS)):
      if i in (1, 2):  # MaxPool2d(3, 2) after relu1 and relu2.
        x = nn.max_pool(x, (3, 3), (2, 2), padding='VALID')
      x = nn.relu(nn.Conv(c, (k, k), (s, s), padding=((p, p), (p, p)), name=f'conv{index}')(x))
      feats.append(x)
    return feats


def scale_input(images):
  """LPIPS ScalingLayer: [-1, 1] images -> (x - shift) / scale, per channel."""
  return (images - jnp.asarray(SHIFT)) / jnp.asarray(SCALE)


def normalize_channels(x, eps=1e-10):
  """Unit-normalise each spatial position's channel vector: x * rsqrt(sum_c x^2 + eps); x: [..., C]."""
  return x * jax.lax.rsqrt(jnp.sum(x * x, axis=-1, keepdims=True) + eps)


def lpips_from_features(feats1, feats2, linear_weights):
  """LPIPS arithmetic on given feature maps.

  feats1, feats2: lists of [B, H_l, W_l, C_l] maps; linear_weights: list of [C_l] (the 1x1 convs, no bias).
  Per layer: normalise channels, squared difference, weighted channel sum, spatial mean; summed over
  layers. Returns [B].
  """
  total = 0.0
  for f1, f2, w in zip(feats1, feats2, linear_weights, strict=True):
    d = (normalize_channels(f1) - normalize_channels(f2)) ** 2
    total = total + jnp.mean(jnp.einsum('bhwc,c->bhw', d, jnp.asarray(w).reshape(-1)), axis=(1, 2))
  return total


def lpips(params, images1, images2):
  """LPIPS distance per pair: images [B, H, W, 3] in [-1, 1] -> [B]. params from `load_lpips`."""
  net = AlexNetFeatures()
  f1 = net.apply({'params': params['alexnet']}, scale_input(images1))
  f2 = net.apply({'params': params['alexnet']}, scale_input(images2))
  return lpips_from_features(f1, f2, params['linear'])


@jax.jit
def _pairwise(params, outputs):
  m, b = outputs.shape[:2]
  x = scale_input(outputs.reshape(m * b, *outputs.shape[2:]))
  feats = AlexNetFeatures().apply({'params': params['alexnet']}, x)
  feats = [normalize_channels(f).reshape(m, b, *f.shape[1:]) for f in feats]
  pairs = jnp.asarray(list(itertools.combinations(range(m), 2)), jnp.int32).reshape(-1, 2)

  def one_pair(ij):  # lax.map: one compiled body, pairs evaluated in sequence (bounded memory).
    return lpips_from_features([f[ij[0]] for f in feats], [f[ij[1]] for f in feats], params['linear'])

  return jax.lax.map(one_pair, pairs)  # [M(M-1)/2, B]


def pairwise_lpips(params, outputs):
  """LPIPS of every pair among M outputs per source: outputs [M, B, H, W, 3] in [-1, 1] -> [M(M-1)/2, B].

  Pairs in itertools.combinations order; features are computed once per output (M passes, not M(M-1)).
  """
  return _pairwise(params, jnp.asarray(outputs))


def mean_pairwise_lpips(params, outputs):
  """Diversity of one source batch: outputs [M, B, H, W, 3] (M = 10 outputs per source) -> float.

  Mean over the M(M-1)/2 pairs (45 for M = 10) and the batch, as the reference.
  """
  return float(jnp.mean(pairwise_lpips(params, outputs)))


def init_params(seed=0):
  """Random AlexNet params (He-scaled normal, numpy: no compile) + positive linear weights; for tests."""
  rng = np.random.default_rng(seed)
  shapes = jax.eval_shape(AlexNetFeatures().init, jax.random.key(0), jnp.zeros((1, 64, 64, 3)))['params']
  alex = {}
  for name, p in shapes.items():
    fan_in = int(np.prod(p['kernel'].shape[:3]))
    alex[name] = {'kernel': (rng.normal(size=p['kernel'].shape) * np.sqrt(2.0 / fan_in)).astype(np.float32),
                  'bias': np.zeros(p['bias'].shape, np.float32)}
  linear = [rng.uniform(size=c).astype(np.float32) for c in CHANNELS]
  return {'alexnet': alex, 'linear': linear}


def torch_to_flax(state):
  """Converted .npz contents {torch key: array} -> {'alexnet': Flax params, 'linear': [5 x [C]]}."""
  alex = {}
  for index, *_ in _CONVS:
    w = np.asarray(state[f'features.{index}.weight'], np.float32)
    alex[f'conv{index}'] = {'kernel': w.transpose(2, 3, 1, 0),
                            'bias': np.asarray(state[f'features.{index}.bias'], np.float32)}
  linear = [np.asarray(state[f'lin{i}.weight'], np.float32).reshape(-1) for i in range(len(CHANNELS))]
  return {'alexnet': alex, 'linear': linear}


def flax_to_torch(params):
  """Inverse of `torch_to_flax` (used by tests to fake a converted file)."""
  out = {}
  for index, *_ in _CONVS:
    p = params['alexnet'][f'conv{index}']
    out[f'features.{index}.weight'] = np.asarray(p['kernel']).transpose(3, 2, 0, 1)
    out[f'features.{index}.bias'] = np.asarray(p['bias'])
  for i, w in enumerate(params['linear']):
    out[f'lin{i}.weight'] = np.asarray(w).reshape(1, -1, 1, 1)
  return out


def load_lpips(path):
  """Loads the .npz of scripts/convert_torchvision_weights.py (--what=lpips) -> params for `lpips`.

  Raises MetricWeightsNotFoundError (a FileNotFoundError) with instructions when the file is missing.
  """
  if not path or not os.path.exists(path):
    raise MetricWeightsNotFoundError.missing(path, 'lpips', 'lpips_path')
  with np.load(path) as f:
    state = {k: f[k] for k in f.files}
  try:
    params = torch_to_flax(state)
  except KeyError as e:
    raise ValueError(f'{path} is not an AlexNet + LPIPS conversion: key {e} is missing.') from None
  for i, (w, c) in enumerate(zip(params['linear'], CHANNELS)):
    if w.shape != (c,):
      raise ValueError(f'{path}: lin{i}.weight has {w.shape[0]} channels, expected {c}.')
  return params

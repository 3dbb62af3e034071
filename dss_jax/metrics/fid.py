"""FID as StarGAN v2 computes it: torchvision Inception-v3 pool features, Gaussian fit, Fréchet distance.

The protocol (STARGAN_V2_REFERENCE.md section 4.3): images are resized to 299x299 (bilinear), normalised
with the ImageNet mean/std, passed through torchvision's Inception-v3 up to Mixed_7c and a global
average pool (2048 features, `transform_input` not applied); mean and covariance with `np.cov`
(rowvar=False); the Fréchet distance with `scipy.linalg.sqrtm`, real part, no epsilon fix.

The Inception weights are the torchvision ones (not the TF-FID ones used by pytorch-fid / clean-fid), so
numbers are comparable with StarGAN v2's and not with TF-FID. They come from a local .npz
(`config.inception_path`) made by `scripts/convert_torchvision_weights.py`; the .npz holds the
torchvision state-dict names and layouts, and `load_inception` converts them to Flax.
"""

import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from dss_jax.errors import MetricWeightsNotFoundError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INCEPTION_SIZE = 299
FEATURE_DIM = 2048

# ------------------------------------------------------------------------------------------ statistics


def gaussian_stats(features):
  """Mean and covariance of features: [N, D] -> ([D], [D, D]), as the reference (np.cov, rowvar=False)."""
  features = np.asarray(features, np.float64)
  return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2):
  """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

  ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)), real part of sqrtm, no epsilon fix
  (exactly StarGAN v2's formula). mu: [D], sigma: [D, D]; returns a Python float.
  """
  mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
  sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
  cov = scipy.linalg.sqrtm(sigma1 @ sigma2)
  cov = np.real(cov)
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(cov))


def fid_from_features(features1, features2):
  """FID between two sets of features [N1, D] and [N2, D]."""
  return frechet_distance(*gaussian_stats(features1), *gaussian_stats(features2))


# ------------------------------------------------------------------------------------------ network


class BasicConv2d(nn.Module):
  """torchvision BasicConv2d: conv (no bias) -> BatchNorm (eps 1e-3, running statistics) -> ReLU."""

  features: int
  kernel: tuple = (1, 1)
  strides: int = 1
  padding: tuple = (0, 0)

  @nn.compact
  def __call__(self, x):
    ph, pw = self.padding
    x = nn.Conv(self.features, self.kernel, (self.strides, self.strides), padding=((ph, ph), (pw, pw)),
                use_bias=False, name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name='bn')(x)
    return nn.relu(x)


def _avg_pool3(x):
  # F.avg_pool2d(kernel 3, stride 1, padding 1), count_include_pad=True (torch default).
  return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=True)


def _max_pool3s2(x):
  return nn.max_pool(x, (3, 3), (2, 2), padding='VALID')


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv2d(64, name='branch1x1')(x)
    b5 = BasicConv2d(48, name='branch5x5_1')(x)
    b5 = BasicConv2d(64, (5, 5), padding=(2, 2), name='branch5x5_2')(b5)
    b3 = BasicConv2d(64, name='branch3x3dbl_1')(x)
    b3 = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
    b3 = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
    bp = BasicConv2d(self.pool_features, name='branch_pool')(_avg_pool3(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = BasicConv2d(384, (3, 3), strides=2, name='branch3x3')(x)
    bd = BasicConv2d(64, name='branch3x3dbl_1')(x)
    bd = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = BasicConv2d(96, (3, 3), strides=2, name='branch3x3dbl_3')(bd)
    return jnp.concatenate([b3, bd, _max_pool3s2(x)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.channels_7x7
    b1 = BasicConv2d(192, name='branch1x1')(x)
    b7 = BasicConv2d(c7, name='branch7x7_1')(x)
    b7 = BasicConv2d(c7, (1, 7), padding=(0, 3), name='branch7x7_2')(b7)
    b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7_3')(b7)
    bd = BasicConv2d(c7, name='branch7x7dbl_1')(x)
    bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_2')(bd)
    bd = BasicConv2d(c7, (1, 7), padding=(0, 3), name='branch7x7dbl_3')(bd)
    bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_4')(bd)
    bd = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7dbl_5')(bd)
    bp = BasicConv2d(192, name='branch_pool')(_avg_pool3(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = BasicConv2d(192, name='branch3x3_1')(x)
    b3 = BasicConv2d(320, (3, 3), strides=2, name='branch3x3_2')(b3)
    b7 = BasicConv2d(192, name='branch7x7x3_1')(x)
    b7 = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = BasicConv2d(192, (3, 3), strides=2, name='branch7x7x3_4')(b7)
    return jnp.concatenate([b3, b7, _max_pool3s2(x)], axis=-1)


class InceptionE(nn.Module):

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv2d(320, name='branch1x1')(x)
    b3 = BasicConv2d(384, name='branch3x3_1')(x)
    b3 = jnp.concatenate([BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(b3),
                          BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(b3)], axis=-1)
    bd = BasicConv2d(448, name='branch3x3dbl_1')(x)
    bd = BasicConv2d(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = jnp.concatenate([BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(bd),
                          BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(bd)], axis=-1)
    bp = BasicConv2d(192, name='branch_pool')(_avg_pool3(x))
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
  """torchvision Inception-v3 up to Mixed_7c + global average pool (StarGAN v2's FID network).

  x: [B, H, W, 3] already preprocessed (`preprocess`); H, W >= 75. Returns [B, 2048].
  Submodule names are torchvision's, so the state dict maps one-to-one (`torch_to_flax`).
  """

  @nn.compact
  def __call__(self, x):
    x = BasicConv2d(32, (3, 3), strides=2, name='Conv2d_1a_3x3')(x)
    x = BasicConv2d(32, (3, 3), name='Conv2d_2a_3x3')(x)
    x = BasicConv2d(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
    x = _max_pool3s2(x)
    x = BasicConv2d(80, name='Conv2d_3b_1x1')(x)
    x = BasicConv2d(192, (3, 3), name='Conv2d_4a_3x3')(x)
    x = _max_pool3s2(x)
    x = InceptionA(32, name='Mixed_5b')(x)
    x = InceptionA(64, name='Mixed_5c')(x)
    x = InceptionA(64, name='Mixed_5d')(x)
    x = InceptionB(name='Mixed_6a')(x)
    x = InceptionC(128, name='Mixed_6b')(x)
    x = InceptionC(160, name='Mixed_6c')(x)
    x = InceptionC(160, name='Mixed_6d')(x)
    x = InceptionC(192, name='Mixed_6e')(x)
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE(name='Mixed_7b')(x)
    x = InceptionE(name='Mixed_7c')(x)
    return jnp.mean(x, axis=(1, 2))


def preprocess(images, size=INCEPTION_SIZE, quantize=True):
  """Generator output -> Inception input, as the reference's eval loader.

  images: [B, H, W, 3] in [-1, 1]. Denormalised to [0, 1] and clipped; resized to size x size (bilinear,
  antialiased when shrinking, as PIL); ImageNet mean/std. Returns [B, size, size, 3] float32.
  With `quantize` (the reference saves PNGs and PIL resizes 8-bit images), the image is rounded to 8 bits
  before and after the resize: pixels then agree with PIL's to within one 8-bit level (PIL's fixed-point
  arithmetic rounds differently), so FIDs can differ from StarGAN v2's in the decimals.
  """
  x = jnp.clip((jnp.asarray(images, jnp.float32) + 1.0) / 2.0, 0.0, 1.0)
  if quantize:
    x = jnp.round(x * 255.0) / 255.0
  if x.shape[1:3] != (size, size):
    x = jax.image.resize(x, (x.shape[0], size, size, x.shape[3]), 'bilinear', antialias=True)
    if quantize:
      x = jnp.round(x * 255.0) / 255.0
  return (x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)


# ------------------------------------------------------------------------------------------ weights


def torch_to_flax(state):
  """torchvision state dict {name: array} (OIHW convs) -> Flax variables {'params', 'batch_stats'}.

  Keys outside the feature extractor (fc, AuxLogits, num_batches_tracked) are ignored.
  """
  params, stats = {}, {}
  for key, value in state.items():
    parts = key.split('.')
    if parts[0] in ('fc', 'AuxLogits') or parts[-1] == 'num_batches_tracked':
      continue
    *path, layer, leaf = parts
    value = np.asarray(value, np.float32)
    if layer == 'conv' and leaf == 'weight':
      target, name, value = params, 'kernel', value.transpose(2, 3, 1, 0)
    elif layer == 'bn' and leaf in ('weight', 'bias'):
      target, name = params, {'weight': 'scale', 'bias': 'bias'}[leaf]
    elif layer == 'bn' and leaf in ('running_mean', 'running_var'):
      target, name = stats, {'running_mean': 'mean', 'running_var': 'var'}[leaf]
    else:
      raise ValueError(f'Unexpected Inception-v3 weight {key!r}: is this a torchvision inception_v3 state dict?')
    node = target
    for p in [*path, layer]:
      node = node.setdefault(p, {})
    node[name] = value
  return {'params': params, 'batch_stats': stats}


def flax_to_torch(variables):
  """Inverse of `torch_to_flax` (used by tests to fake a converted file)."""
  out = {}
  flat = {'/'.join(k): v for k, v in _flatten(variables).items()}
  for key, value in flat.items():
    collection, *path, leaf = key.split('/')
    prefix = '.'.join(path)
    value = np.asarray(value)
    if leaf == 'kernel':
      out[f'{prefix}.weight'] = value.transpose(3, 2, 0, 1)
    elif collection == 'params':
      out[f'{prefix}.{"weight" if leaf == "scale" else "bias"}'] = value
    else:
      out[f'{prefix}.{"running_mean" if leaf == "mean" else "running_var"}'] = value
  return out


def _flatten(tree, prefix=()):
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict) or hasattr(v, 'items'):
      out.update(_flatten(v, prefix + (k,)))
    else:
      out[prefix + (k,)] = v
  return out


def load_inception(path):
  """Loads the .npz written by scripts/convert_torchvision_weights.py; returns Flax variables.

  Raises MetricWeightsNotFoundError (a FileNotFoundError) with instructions when `path` is empty or
  missing, and ValueError when the file does not hold the expected shapes.
  """
  if not path or not os.path.exists(path):
    raise MetricWeightsNotFoundError.missing(path, 'inception', 'inception_path')
  with np.load(path) as f:
    variables = torch_to_flax({k: f[k] for k in f.files})
  expected = jax.eval_shape(InceptionV3().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3)))
  exp_flat = {k: v.shape for k, v in _flatten(expected).items()}
  got_flat = {k: v.shape for k, v in _flatten(variables).items()}
  if exp_flat != got_flat:
    missing = sorted('/'.join(k) for k in set(exp_flat) - set(got_flat))[:5]
    wrong = sorted('/'.join(k) for k in set(exp_flat) & set(got_flat) if exp_flat[k] != got_flat[k])[:5]
    raise ValueError(f'{path} is not a torchvision Inception-v3 conversion: missing {missing}, wrong shapes {wrong}.')
  return variables


@jax.jit
def _features(variables, images):
  return InceptionV3().apply(variables, preprocess(images))


def inception_features(variables, images, batch_size=50):
  """Pool features of images [N, H, W, 3] in [-1, 1] -> np.ndarray [N, 2048] (batched, jitted)."""
  images = np.asarray(images)
  out = []
  for i in range(0, len(images), batch_size):
    batch = images[i:i + batch_size]
    n = len(batch)
    if n < batch_size and len(images) > batch_size:  # Pad the last batch: one compiled shape.
      batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - n, axis=0)])
    out.append(np.asarray(_features(variables, batch))[:n])
  return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)

"""Inference API: load a trained model (its EMA weights) and translate numpy images.

One code path for `--mode=sample`, `--mode=eval` and the notebooks:

  from dss_jax import inference
  translator = inference.Translator.from_workdir('runs/demo')       # latest checkpoint, EMA weights
  out = translator.translate(images, 'domain2', reference=refs)     # or z=..., style=..., or nothing: random z

Images are numpy float arrays [B, H, W, 3] in [-1, 1] (H = W = config.img_size); outputs are numpy too.
A domain is given by index or by name (`translator.domains`), one for the whole batch or one per image.
Inputs are checked on the host before any network runs (errors.InputError, one sentence): uint8 or
out-of-range images, a fractional domain, an empty batch, NaN or infinite values (naming the images), a
wrong shape, a truncation psi that is not a finite number in [-10, 10] (named as psi, not as the NaN it would
put in z), and where z is a caller's random draw (translate, latent_style, sample_style, a traversal's start)
a z beyond |z| = 50, which a standard normal never comes near (z = 1e30 gave a flat image). style_from_z
takes any finite z: evaluation feeds it the Gaussian coordinates of references, F^-1(E(x)), which a poorly
trained encoder may put far out, and a refusal there would stop an evaluation that used to finish.

Style codes come from three places: a reference image (`encode_style`), the mapping network
(`sample_style`, `style_from_z`) or the caller (`style=`). With the DSS flow the mapping is a bijection,
so a reference's code has a Gaussian coordinate too (`reference_to_z`, `style_to_z`): truncation and
interpolation of reference styles happen in that z space (`truncate`, `interpolate(space='z')`).
Truncation follows StarGAN v2 for the MLP mapping (s_avg + psi (s - s_avg), s_avg the mean of F over
10,000 z) and is z * psi in Gaussian space for the flow (psi = 0 gives the code of z = 0).

Apply functions are jitted once per Translator; batches are cut into chunks of
`batch_size` (padded; smaller inputs to a power of two), so a few compiled programs serve every call.
"""

import functools
import json
import os
from collections.abc import Sequence

import jax
import ml_collections
import numpy as np

from dss_jax import checkpoint, models, preflight
from dss_jax.datasets import registry
from dss_jax.errors import FlowRequiredError, InputError

S_AVG_SAMPLES = 10_000  # z samples for the MLP mapping's mean style (StarGAN v2's truncation trick).
# Images may overshoot [-1, 1] by this much: translate's outputs are unclipped (as StarGAN v2's), and feeding
# them back (as references, or to translate again) is legitimate.
IMAGE_RANGE_SLACK = 0.1


# ------------------------------------------------------------------------------------------ jitted functions


def _jitted(nets: models.Networks) -> dict:
  """Jitted apply functions of one Translator's networks: each compiles once per chunk shape."""
  return {'generate': jax.jit(nets.generate), 'style': jax.jit(nets.style), 'map': jax.jit(nets.map),
          'inverse': jax.jit(nets.map_inverse)}


def _batched(fn, batch_size: int, *arrays):
  """fn over chunks of batch_size along axis 0. Chunks are padded (by repetition) to batch_size, or for a
  smaller input to the next power of two: a handful of compiled shapes serve every call."""
  n = len(arrays[0])
  size = batch_size if n >= batch_size else min(batch_size, 1 << max(n - 1, 0).bit_length())
  outs = []
  for start in range(0, n, size):
    chunk = [a[start:start + size] for a in arrays]
    m = len(chunk[0])
    if m < size:
      chunk = [np.concatenate([c, np.repeat(c[-1:], size - m, axis=0)]) for c in chunk]
    outs.append(np.asarray(fn(*chunk))[:m])
  return np.concatenate(outs)


# ------------------------------------------------------------------------------------------ input checks


def _which(indices) -> str:
  """[2, 5, 7] -> '2, 5 and 7' (the first 8, then how many more)."""
  shown = [str(int(i)) for i in indices[:8]]
  if len(indices) > 8:
    return f'{", ".join(shown)} and {len(indices) - 8} more'
  return shown[0] if len(shown) == 1 else f'{", ".join(shown[:-1])} and {shown[-1]}'


def _check_batch(x: np.ndarray, what: str, unit: str):
  """Refuses an empty batch, or items with NaN / infinite values (naming them). x: [B, ...] float."""
  if len(x) == 0:
    raise InputError(f'{what} is an empty batch (shape {x.shape}): give at least one.')
  bad = np.nonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))[0]
  if len(bad):
    raise InputError(f'{what} {_which(bad)} (of {len(x)}, counted from 0) contain NaN or infinite {unit}: '
                     'their outputs would be NaN; fix or drop them.')


def _check_z(z: np.ndarray, what: str = 'z'):
  """Refuses latent codes z [B, z_dim] with a finite component beyond preflight.Z_LIMIT (naming the items)."""
  size = np.abs(np.where(np.isfinite(z), z, 0.0))  # NaN and infinity: _check_batch's sentence.
  big = np.nonzero((size > preflight.Z_LIMIT).any(axis=1))[0]
  if len(big):
    raise InputError(f'{what} {_which(big)} (of {len(z)}, counted from 0) reach |{what}| = '
                     f'{float(size[big].max()):g}, beyond {preflight.Z_LIMIT:g}, which a standard normal z never '
                     'comes near (the outputs would be flat or saturated): give z ~ N(0, I), e.g. sample_z(n).')


def _check_psi(psi):
  """Refuses a truncation psi that is not a finite number in preflight.PSI_RANGE, naming psi."""
  problem = preflight.psi_problem(psi)
  if problem:
    raise InputError(problem)


def _check_image_values(raw: np.ndarray, x: np.ndarray, what: str):
  """Refuses integer images and values outside [-1, 1] (+- IMAGE_RANGE_SLACK), saying what was seen."""
  lo, hi = float(x.min()), float(x.max())
  if np.issubdtype(raw.dtype, np.integer) or raw.dtype == np.bool_:
    raise InputError(f'{what} are {raw.dtype} (values {lo:g}..{hi:g}), but the API takes float images in [-1, 1]: '
                     'convert them with x.astype(np.float32) / 127.5 - 1.')
  if lo < -1 - IMAGE_RANGE_SLACK or hi > 1 + IMAGE_RANGE_SLACK:
    hint = ('looks like 0..255 pixel values; divide by 127.5 and subtract 1' if lo >= 0 and hi > 2
            else 'scale them to [-1, 1]')
    raise InputError(f'{what} have values {lo:g}..{hi:g}, outside [-1, 1]: {hint}.')


# ------------------------------------------------------------------------------------------ loading


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a run was trained with (<workdir>/config.json; older runs' keys mapped to today's)."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise FileNotFoundError(f'No config.json in {workdir!r}: is it a dss_jax workdir (written by training or by '
                            'tools.import_stargan_v2)? Pass the config explicitly otherwise.')
  with open(path) as f:
    return ml_collections.ConfigDict(registry.upgrade_config(json.load(f)))


def split_checkpoint_path(path: str) -> tuple[str, int | None]:
  """A workdir, or a checkpoint folder <workdir>/checkpoints/<step> -> (workdir, step or None)."""
  path = os.path.abspath(path.rstrip('/'))
  base, parent = os.path.basename(path), os.path.dirname(path)
  if base.isdigit() and os.path.basename(parent) == 'checkpoints':
    return os.path.dirname(parent), int(base)
  return path, None


def restore_ema(config, workdir: str, step: int | None = None):
  """(EMA parameters {'generator', 'style'}, step) of a workdir's checkpoint (the latest when step is None).

  Raises checkpoint.ConfigMismatchError when `config` has other network shapes than the run, and
  FileNotFoundError when the workdir holds no checkpoint.
  """
  from dss_jax import state as state_lib  # The state's structure; no TensorFlow.

  workdir = os.path.abspath(workdir)
  if os.path.exists(os.path.join(workdir, 'config.json')):
    checkpoint.check_config(workdir, config)  # Compares only (never writes when the file exists).
  if not os.path.isdir(checkpoint.checkpoint_dir(workdir)):
    raise FileNotFoundError(f'No checkpoints/ folder in {workdir!r}: give a dss_jax workdir (or one of its '
                            'checkpoints/<step> folders), and train first if it is new.')
  mngr = checkpoint.manager(workdir, keep=config.get('keep_checkpoints', 3))
  steps = mngr.all_steps()
  if not steps:
    raise FileNotFoundError(f'No checkpoint in {checkpoint.checkpoint_dir(workdir)}: train first '
                            f'(python -m dss_jax.main --config=... --workdir={workdir}).')
  if step is not None and step not in steps:
    raise FileNotFoundError(f'No checkpoint of step {step} in {checkpoint.checkpoint_dir(workdir)} '
                            f'(it has {sorted(steps)}).')
  abstract = state_lib.abstract_state(config)
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), abstract)
  try:
    state = checkpoint.restore(mngr, abstract, step)
  except (ValueError, KeyError) as e:  # Shapes or structure differ although config.json agreed (or is absent).
    raise checkpoint.ConfigMismatchError(
        f'The checkpoint in {workdir} does not fit the networks of the given config ({type(e).__name__}: '
        f'{str(e)[:300]}). Use the config that wrote it (or omit it to read {workdir}/config.json).') from e
  return state.ema, int(state.step)


def _domain_names(config) -> list[str]:
  """Domain names in label order (no TensorFlow); 'domain<k>' when they cannot be read (e.g. a folder dataset
  that is not on this machine)."""
  try:
    return registry.domain_names(config)
  except Exception:  # noqa: BLE001 - names are a convenience: without the data, indices still work.
    pass
  return [f'domain{k}' for k in range(config.num_domains)]


# ------------------------------------------------------------------------------------------ the API


class Translator:
  """A trained DSS (or StarGAN v2) model's EMA networks, on numpy arrays.

  Attributes: config, params ({'generator', 'style': {'mapping', 'style_encoder'}}), domains (names in
  label order), step (the checkpoint's step, or None), batch_size (chunk size of every call).
  """

  def __init__(self, config, params, domains: Sequence[str] | None = None, step: int | None = None,
               batch_size: int | None = None):
    self.config = config
    self.params = params
    self.nets = models.build(config)
    self.domains = list(domains) if domains is not None else _domain_names(config)
    self.step = step
    self.batch_size = int(batch_size or config.get('val_batch_size', 32))
    self._fns = _jitted(self.nets)
    self._s_stats = {}

  # ------------------------------------------------------------------ constructors

  @classmethod
  def from_workdir(cls, workdir: str, config=None, step: int | None = None, **kwargs) -> 'Translator':
    """Restores the EMA weights of `workdir` (or of a checkpoint folder <workdir>/checkpoints/<step>).

    config: None reads <workdir>/config.json; a given config must have the run's network shapes
    (checkpoint.ConfigMismatchError otherwise). step: None = the latest checkpoint.
    """
    workdir, path_step = split_checkpoint_path(workdir)
    step = path_step if step is None else step
    config = load_config(workdir) if config is None else config
    ema, restored_step = restore_ema(config, workdir, step)
    return cls(config, ema, step=restored_step, **kwargs)

  @classmethod
  def from_checkpoint_flag(cls, workdir: str, checkpoint=None, config=None, **kwargs) -> 'Translator':
    """The `--checkpoint` flag's meaning: None = the workdir's latest; a step number; else a checkpoint
    folder or another workdir."""
    if checkpoint and str(checkpoint).isdigit():
      return cls.from_workdir(workdir, config=config, step=int(checkpoint), **kwargs)
    return cls.from_workdir(str(checkpoint) if checkpoint else workdir, config=config, **kwargs)

  @classmethod
  def from_state(cls, config, state, **kwargs) -> 'Translator':
    """From an in-memory train_step.TrainState (its EMA copies), e.g. the return of train_and_evaluate."""
    step = int(jax.device_get(state.step)) if getattr(state, 'step', None) is not None else None
    return cls(config, state.ema, step=step, **kwargs)

  # ------------------------------------------------------------------ helpers

  @property
  def is_flow(self) -> bool:
    return self.config.mapping == 'flow'

  @property
  def z_dim(self) -> int:
    return models.latent_dim(self.config)

  @property
  def style_dim(self) -> int:
    return self.config.style_dim

  def domain_index(self, domain) -> int:
    """A domain name or index -> its index (InputError naming the known domains otherwise)."""
    if isinstance(domain, (str, np.str_)):
      if domain in self.domains:
        return self.domains.index(domain)
      if domain.isdigit() and int(domain) < len(self.domains):
        return int(domain)
      raise InputError(f'Unknown domain {domain!r}; the model has {", ".join(self.domains)} '
                       f'(or indices 0..{len(self.domains) - 1}).')
    try:
      value = float(domain)
    except (TypeError, ValueError):
      value = None
    if isinstance(domain, (bool, np.bool_)) or value is None or not value.is_integer():
      raise InputError(f'Domain {domain!r} is not an integer: give a domain index (0..{len(self.domains) - 1}) or '
                       f'a name ({", ".join(self.domains)}).')
    k = int(value)
    if not 0 <= k < self.config.num_domains:
      raise InputError(f'Domain index {k} is out of range: the model has {self.config.num_domains} domains '
                       f'({", ".join(self.domains)}).')
    return k

  def _labels(self, domain, n: int) -> np.ndarray:
    """One domain (name/index) for all n items, or a sequence of n -> int32 [n]."""
    if isinstance(domain, (str, int, float, np.integer, np.floating, np.str_)) or np.ndim(domain) == 0:
      return np.full((n,), self.domain_index(domain), np.int32)
    labels = np.array([self.domain_index(d) for d in domain], np.int32)
    if len(labels) != n:
      raise InputError(f'Got {len(labels)} domains for {n} items: give one domain, or one per item.')
    return labels

  def _images(self, images, what='images') -> np.ndarray:
    """Checked images -> float32 [B, ...] (one image gets a batch axis)."""
    raw = np.asarray(images)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_):
      raise InputError(f'{what} must be a numeric array (float, in [-1, 1]); got dtype {raw.dtype}.')
    x = raw.astype(np.float32)
    shape = tuple(self.nets.x_shape)
    if x.ndim == len(shape):
      x = x[None]
    if len(shape) != 3:  # Vector data.
      if x.shape[1:] != shape:
        raise InputError(f'{what} must be [B, {", ".join(map(str, shape))}]; got {np.shape(images)}.')
      _check_batch(x, what, 'values')
      return x
    size = self.config.img_size
    if x.ndim != 4 or x.shape[1:] != (size, size, 3):
      raise InputError(f'{what} must be [B, {size}, {size}, 3] (or one [{size}, {size}, 3]) in [-1, 1]; got '
                       f'{np.shape(images)}. Resize to config.img_size first (see input_pipeline.load_image_folder).')
    _check_batch(x, what, 'pixels')
    _check_image_values(raw, x, what)
    return x

  def _codes(self, codes, n: int | None, dim: int, what: str) -> np.ndarray:
    """Checked codes ([B, dim] or one [dim], repeated to n items; n None: as many as given) -> float32 [B, dim]."""
    c = np.asarray(codes, np.float32)
    if c.ndim == 1:
      c = c[None]
    if c.ndim != 2 or c.shape[1] != dim:
      raise InputError(f'{what} must be [B, {dim}] or [{dim}]; got {np.shape(codes)}.')
    _check_batch(c, what, 'values')
    if n is None:
      return c
    if len(c) == 1 and n > 1:
      c = np.repeat(c, n, axis=0)
    if len(c) != n:
      raise InputError(f'Got {len(c)} {what} for {n} images: give one, or one per image.')
    return c

  def _require_flow(self, what: str):
    if not self.is_flow:
      raise FlowRequiredError(
          f'{what} needs the invertible DSS flow mapping (config.mapping="flow"), but this model uses StarGAN v2\'s '
          'MLP mapping network, which has no inverse: a reference code has no Gaussian coordinate.')

  # ------------------------------------------------------------------ styles

  def encode_style(self, images, domain) -> np.ndarray:
    """Reference-guided style codes E(x, u): images [B, H, W, 3] -> [B, style_dim]."""
    x = self._images(images, 'reference images')
    y = self._labels(domain, len(x))
    fn = functools.partial(self._fns['style'], self.params['style']['style_encoder'])
    return _batched(fn, self.batch_size, x, y)

  def style_from_z(self, z, domain) -> np.ndarray:
    """Latent-guided style codes F(z, u): z [B, z_dim] -> [B, style_dim] (any finite z: module docstring)."""
    return self._style_from_z(z, domain, 'z')

  def _style_from_z(self, z, domain, what: str) -> np.ndarray:
    """style_from_z, whose z is called `what` in its messages."""
    z = np.asarray(z, np.float32)
    z = self._codes(z.reshape(-1, self.z_dim) if z.ndim > 2 else z, None, self.z_dim, what)
    y = self._labels(domain, len(z))
    fn = functools.partial(self._fns['map'], self.params['style']['mapping'])
    return _batched(fn, max(self.batch_size, 256), z, y)

  def sample_z(self, n: int, seed: int = 0) -> np.ndarray:
    """n draws of z ~ N(0, I): [n, z_dim] (numpy, deterministic given seed)."""
    return np.random.default_rng(seed).standard_normal((n, self.z_dim)).astype(np.float32)

  def mean_style(self, domain) -> np.ndarray:
    """The MLP mapping's s_avg of a domain: mean of F(z, u) over 10,000 z (seeded), cached. [style_dim]."""
    return self._component_stats(domain)[0]

  def latent_style(self, z, domain, psi: float = 1.0) -> np.ndarray:
    """Latent-guided style codes at truncation psi: z [B, z_dim] -> [B, style_dim]; the one truncation rule
    of latent codes (`sample_style`, `translate`, sample.py's grids).

    psi < 1 truncates: flow, F(psi * z) (in Gaussian space); MLP, s_avg + psi (F(z) - s_avg) as StarGAN v2.
    domain: one for all codes or one per code.
    """
    _check_psi(psi)
    raw = np.asarray(z, np.float32)
    if raw.ndim in (1, 2) and raw.shape[-1] == self.z_dim:  # (Other shapes: style_from_z's sentence.)
      _check_z(raw.reshape(-1, self.z_dim))
    if self.is_flow:
      return self._style_from_z(z * psi, domain, 'psi * z')  # Both checked: |psi * z| may reach 500.
    s = self.style_from_z(z, domain)
    return self.truncate(s, domain, psi) if psi != 1.0 else s

  def sample_style(self, domain, n: int, psi: float = 1.0, seed: int = 0) -> np.ndarray:
    """n random style codes of a domain: [n, style_dim], truncated by psi (`latent_style`)."""
    return self.latent_style(self.sample_z(n, seed), domain, psi)

  def style_to_z(self, styles, domain) -> np.ndarray:
    """z = F^-1(s; u), the Gaussian coordinate of style codes [B, style_dim] (flow only)."""
    self._require_flow('style_to_z')
    s = self._codes(styles, None, self.style_dim, 'style codes')
    y = self._labels(domain, len(s))
    fn = functools.partial(self._fns['inverse'], self.params['style']['mapping'])
    return _batched(fn, max(self.batch_size, 256), s, y)

  def reference_to_z(self, images, domain) -> np.ndarray:
    """The Gaussian coordinate of reference images: F^-1(E(x, u); u), [B, z_dim] (flow only)."""
    self._require_flow('reference_to_z')
    return self.style_to_z(self.encode_style(images, domain), domain)

  def truncate(self, styles, domain, psi: float) -> np.ndarray:
    """Truncates codes [B, style_dim] (e.g. of references): flow, F(psi F^-1(s)); MLP, s_avg + psi (s - s_avg).

    domain: one for all codes or one per code.
    """
    _check_psi(psi)
    s = np.atleast_2d(np.asarray(styles, np.float32))
    if self.is_flow:
      return self.style_from_z(psi * self.style_to_z(s, domain), domain)
    s_avg = np.stack([self.mean_style(k) for k in self._labels(domain, len(s))])
    return s_avg + psi * (s - s_avg)

  def interpolate(self, start, end, num: int = 10, domain=None, space: str | None = None, alphas=None) -> np.ndarray:
    """Style codes between two codes start, end ([style_dim] or [B, style_dim]) -> [num, (B,) style_dim].

    space: 'style' (linear in s, StarGAN v2's video) or 'z' (linear in the flow's Gaussian space, mapped
    back: every intermediate is a code the flow can produce); default 'z' with the flow, else 'style'.
    alphas (optional, [num] in [0, 1]) replace the even spacing.
    """
    space = space or ('z' if self.is_flow else 'style')
    a = np.asarray(alphas, np.float32) if alphas is not None else np.linspace(0.0, 1.0, num, dtype=np.float32)
    s0, s1 = np.atleast_2d(np.asarray(start, np.float32)), np.atleast_2d(np.asarray(end, np.float32))
    if space == 'style':
      out = s0[None] + a[:, None, None] * (s1 - s0)[None]
    elif space == 'z':
      if domain is None:
        raise InputError("interpolate(space='z') needs the codes' domain.")
      z0, z1 = self.style_to_z(s0, domain), self.style_to_z(s1, domain)
      z = z0[None] + a[:, None, None] * (z1 - z0)[None]
      out = self.style_from_z(z.reshape(-1, z.shape[-1]), domain).reshape(z.shape[0], z.shape[1], -1)
    else:
      raise InputError(f"space must be 'style' or 'z', not {space!r}.")
    return out[:, 0] if np.ndim(start) == 1 and np.ndim(end) == 1 else out

  # ------------------------------------------------------------------ editing one style component

  def _base_style(self, domain, n, reference=None, z=None, style=None, seed=0):
    """The style a traversal starts from: [n, style_dim] codes and their domains [n]."""
    given = [name for name, v in (('z', z), ('reference', reference), ('style', style)) if v is not None]
    if len(given) > 1:
      raise InputError(f'Give at most one of z, reference and style (got {", ".join(given)}).')
    if reference is not None:
      ref = self._images(reference, 'reference images')
      y = self._labels(domain, len(ref))
      return self.encode_style(ref, y), y
    if style is not None:
      s = np.atleast_2d(np.asarray(style, np.float32))
      y = self._labels(domain, len(s))
      return self._codes(s, len(s), self.style_dim, 'style codes'), y
    if z is not None:
      zz = np.atleast_2d(np.asarray(z, np.float32))
      y = self._labels(domain, len(zz))
      zz = self._codes(zz, len(zz), self.z_dim, 'z')
      _check_z(zz)
      return self.style_from_z(zz, y), y
    y = self._labels(domain, n)  # The domain's mean style: z = 0 for the flow, s_avg for the MLP.
    if self.is_flow:
      return self.style_from_z(np.zeros((n, self.z_dim), np.float32), y), y
    return np.stack([self.mean_style(k) for k in y]), y

  def _component_stats(self, domain):
    """(mean, std) of each style component over F(z, u) (10,000 seeded z), cached per domain: s_avg of the
    truncation trick and the units of a code-space edit."""
    k = self.domain_index(domain)
    if k not in self._s_stats:
      s = self.style_from_z(self.sample_z(S_AVG_SAMPLES, seed=12345), k)
      self._s_stats[k] = (s.mean(0), s.std(0))
    return self._s_stats[k]

  def traverse_styles(self, domain, component: int, values, *, reference=None, z=None, style=None, n: int = 1,
                      space: str | None = None) -> np.ndarray:
    """Style codes in which one component takes each of `values`: [len(values), B, style_dim].

    The starting style is a reference's (images), a z's, a given code, or by default the domain's mean
    (n copies). values are in standard deviations of the component's distribution, from its mean.
    space 'z' (DSS, the default with the flow): the start's Gaussian coordinate z = F^-1(s; u) gets
    z_component = value and F maps it back; the flow is component-wise, so every other component of the
    code stays exactly as it was. space 'style' (StarGAN v2, which has no inverse; the default for the MLP):
    the code itself gets s_component = mean + value * std (over F(z, u)); the other code components stay,
    but nothing ties a code component to one factor of the image.
    """
    space = space or ('z' if self.is_flow else 'style')
    if space not in ('z', 'style'):
      raise InputError(f"space must be 'z' or 'style', not {space!r}.")
    if space == 'z' and not self.is_flow:
      raise FlowRequiredError(
          "A z-space edit needs DSS's invertible flow mapping, but this model uses StarGAN v2's MLP, which has no "
          "inverse: use space='style' to edit the style code directly.")
    if not 0 <= int(component) < self.style_dim:
      raise InputError(f'component {component} is out of range: the style code has {self.style_dim} components '
                       f'(0..{self.style_dim - 1}).')
    values = np.asarray(values, np.float32).reshape(-1)
    s, y = self._base_style(domain, n, reference=reference, z=z, style=style)
    if space == 'z':
      base = self.style_to_z(s, y)
      zs = np.repeat(base[None], len(values), axis=0)
      zs[:, :, component] = values[:, None]
      return self.style_from_z(zs.reshape(-1, self.z_dim), np.tile(y, len(values))).reshape(len(values), len(y), -1)
    mean, std = self._component_stats(y[0])
    out = np.repeat(s[None], len(values), axis=0)
    out[:, :, component] = mean[component] + values[:, None] * std[component]
    return out

  def traverse(self, images, domain, component: int, values, **base) -> np.ndarray:
    """G(x, s) with one style component varied (`traverse_styles`): images [B, ...] -> [len(values), B, ...].

    base: reference= (one or one per image), z=, style= or nothing (the domain's mean), and space=.
    """
    x = self._images(images)
    for key in ('reference', 'z', 'style'):  # One starting style for all images: repeat it.
      if base.get(key) is None:
        continue
      v = self._images(base[key], 'reference images') if key == 'reference' else np.atleast_2d(base[key])
      base[key] = np.repeat(v, len(x), axis=0) if len(v) == 1 and len(x) > 1 else v
    styles = self.traverse_styles(domain, component, values, n=len(x), **base)
    out = self.generate(np.tile(x, (len(styles),) + (1,) * (x.ndim - 1)), styles.reshape(-1, self.style_dim))
    return out.reshape((len(styles),) + x.shape)

  def component_effects(self, images, domain, delta: float = 1.0, **base) -> np.ndarray:
    """How much each style component changes the output: mean |G(x, s[c = +delta]) - G(x, s[c = -delta])| per
    component c (in output units), [style_dim]. Sort by it to find the components that matter."""
    return np.array([np.abs(np.diff(self.traverse(images, domain, c, [-delta, delta], **base), axis=0)).mean()
                     for c in range(self.style_dim)])

  # ------------------------------------------------------------------ translation

  def generate(self, images, styles) -> np.ndarray:
    """G(x, s): images [B, H, W, 3], styles [B, style_dim] (or one [style_dim]) -> [B, H, W, 3] (unclipped)."""
    x = self._images(images)
    s = self._codes(styles, len(x), self.style_dim, 'style codes')
    fn = functools.partial(self._fns['generate'], self.params['generator'])
    return _batched(fn, self.batch_size, x, s)

  def translate(self, images, target_domain, *, z=None, reference=None, style=None, psi: float = 1.0,
                seed: int = 0) -> np.ndarray:
    """Translates images [B, H, W, 3] in [-1, 1] to target_domain -> [B, H, W, 3] (unclipped, as the reference).

    The style comes from exactly one of: z ([B, z_dim] or [z_dim]: F(z, u)), reference (target-domain
    images [B or 1, H, W, 3]: E(x_ref, u)) or style ([B, style_dim] or [style_dim]); with none of them,
    random z (seeded). psi truncates the latent or reference style (see `latent_style`, `truncate`).
    """
    x = self._images(images)
    given = [name for name, v in (('z', z), ('reference', reference), ('style', style)) if v is not None]
    if len(given) > 1:
      raise InputError(f'Give at most one of z, reference and style (got {", ".join(given)}).')
    _check_psi(psi)
    y = self._labels(target_domain, len(x))
    if style is not None:
      s = self._codes(style, len(x), self.style_dim, 'style codes')
    elif reference is not None:
      ref = self._images(reference, 'reference images')
      if len(ref) == 1 and len(x) > 1:
        ref = np.repeat(ref, len(x), axis=0)
      if len(ref) != len(x):
        raise InputError(f'Got {len(ref)} references for {len(x)} images: give one, or one per image.')
      s = self.encode_style(ref, y)
      s = self.truncate(s, y, psi) if psi != 1.0 else s
    else:
      if z is None:
        z = self.sample_z(len(x), seed)
      else:
        z = self._codes(z, len(x), self.z_dim, 'z')
        _check_z(z)
      s = self.latent_style(z, y, psi)
    return self.generate(x, s)


__all__ = ['FlowRequiredError', 'InputError', 'Translator', 'load_config', 'restore_ema', 'split_checkpoint_path']

"""The synthetic benchmark: procedural images whose true content and style factors are known.

Pure numpy (no TensorFlow), so models, metrics and tests can `render` ground truth cheaply. The TFDS
builder that stores these images lives in `synthetic_builder.py`.

Every image shows one anti-aliased object on a flat background.

* Content factors (`CONTENT_NAMES`), the same distribution in every domain of `style_domains`:
  shape index in {0..4} (`SHAPES`: circle, square, triangle, ellipse, ring; `RENDER_VERSION` 3 replaced a
  cross, whose 5 px notches the small generator filled in within a CPU run), centre x and y in
  [0.35, 0.65] (fractions of the width), size in [0.18, 0.28] (object radius / width, so the object
  spans about 36-56 % of the image: large enough that a 32 px generator's shapes, sizes and rotations
  differ by many pixels; `RENDER_VERSION` 2, before it 0.3-0.7 and 0.11-0.19), rotation in [0, 1)
  (a fraction of the shape's symmetry period,
  so every value is a distinct pose; circle and ring ignore it).
* Style factors (`STYLE_NAMES[:n_style]`), each in (0, 1) with a smooth monotonic effect: object
  `hue` (red -> yellow -> green -> blue -> violet), `background` lightness (dark -> light) and, for
  n_style = 3, `stripes` (contrast of dark stripes across the object). Given the domain u the
  components are independent, logit-normal: s_i = sigmoid(loc[u, i] + scale[u, i] * eps),
  eps ~ N(0, 1) (`style_distribution`, `style_log_prob`); loc and scale both differ between domains.
* Domains: K = 2 n_style + 1 (`num_domains`), the minimum the identifiability theorem needs.
  `style_domains`: domains differ only in p(s | u). `species`: domain k also has its own shape,
  SHAPES[k % 5] (translation must change shape as well as style).

Typical use:

  data = load_split(n_style=2, split='test')          # dict(image, label, content, style)
  truth = render(data['content'][:8], data['style'][8:16])   # source content + reference style
"""

import functools

import numpy as np

CONTENT_NAMES = ('shape', 'x', 'y', 'size', 'rotation')
STYLE_NAMES = ('hue', 'background', 'stripes')
SHAPES = ('circle', 'square', 'triangle', 'ellipse', 'ring')
VARIANTS = ('style_domains', 'species')

# Ranges of the continuous content factors (uniform within them).
POSITION_RANGE = (0.35, 0.65)
SIZE_RANGE = (0.18, 0.28)
# Bumped whenever the same factors render other pixels (cached oracles and stored TFDS records key on it).
RENDER_VERSION = 3

# Symmetry period of each shape, in radians (rotation 1.0 == one period == rotation 0.0).
_PERIODS = np.array([2 * np.pi, np.pi / 2, 2 * np.pi / 3, np.pi, 2 * np.pi], np.float32)
_HUE_SPAN = 0.75  # style hue 0..1 covers this fraction of the colour wheel (no wrap-around: monotonic).
_CHUNK = 1024  # images rendered at once (keeps temporaries in cache; results do not depend on it).


def _check(n_style, variant='style_domains'):
  if n_style not in (1, 2, 3):
    raise ValueError(f'n_style must be 1, 2 or 3 (style factors: {STYLE_NAMES}), not {n_style!r}.')
  if variant not in VARIANTS:
    raise ValueError(f'variant must be one of {VARIANTS}, not {variant!r}.')


def num_domains(n_style: int = 2) -> int:
  """K = 2 n + 1: the number of domains the identifiability theorem needs for n style factors."""
  _check(n_style)
  return 2 * n_style + 1


def domain_names(n_style: int = 2, variant: str = 'style_domains') -> list[str]:
  """Names of the K domains: 'domain0'.. for style_domains, the shape name for species."""
  _check(n_style, variant)
  k = num_domains(n_style)
  if variant == 'species':
    return [SHAPES[i % len(SHAPES)] + (f'{i // len(SHAPES)}' if i >= len(SHAPES) else '') for i in range(k)]
  return [f'domain{i}' for i in range(k)]


@functools.cache
def style_distribution(n_style: int = 2) -> tuple[np.ndarray, np.ndarray]:
  """Per-domain parameters of p(s | u): (loc [K, n], scale [K, n]), float64.

  Component i of the style of domain u is logit-normal and independent of the other components:
  logit(s_i) ~ N(loc[u, i], scale[u, i]**2), i.e. s_i = sigmoid(loc + scale * eps) in (0, 1). The
  log-density (`style_log_prob`) is smooth on (0, 1). loc takes K evenly spaced values in
  [-1.6, 1.6] and scale K values in [0.3, 0.75], in a different order per component, chosen so that
  the 2n difference vectors of the theorem's identifiability condition are linearly independent
  (checked in tests/test_synthetic.py).
  """
  k = num_domains(n_style)
  locs, scales = np.linspace(-1.6, 1.6, k), np.linspace(0.3, 0.75, k)
  loc, scale = np.zeros((k, n_style)), np.zeros((k, n_style))
  for i in range(n_style):
    for u in range(k):
      loc[u, i] = locs[(u * (i + 1)) % k]
      scale[u, i] = scales[(2 * i + 1 - u) % k]
  loc.flags.writeable = scale.flags.writeable = False
  return loc, scale


def style_log_prob(style, domain, n_style: int = 2, per_component: bool = False) -> np.ndarray:
  """log p(s | u) of the true style distribution, float64.

  style: [N, n] in (0, 1); domain: [N] int. Returns [N] (the sum over components) or, with
  per_component, [N, n] (the components are independent given u).
  """
  loc, scale = style_distribution(n_style)
  s = np.asarray(style, np.float64)
  domain = np.asarray(domain)
  t = np.log(s) - np.log1p(-s)
  mu, sd = loc[domain], scale[domain]
  logp = -0.5 * ((t - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi) - np.log(s) - np.log1p(-s)
  return logp if per_component else logp.sum(-1)


def sample_factors(rng: np.random.Generator, domain, n_style: int = 2,
                   variant: str = 'style_domains') -> tuple[np.ndarray, np.ndarray]:
  """Draws true factors for images of the given domains.

  domain: [N] int in [0, K). Returns (content float32 [N, 5] in the order of CONTENT_NAMES, with
  content[:, 0] the shape index as a float; style float32 [N, n] in (0, 1)). Both variants consume the
  same random numbers, so the same rng state gives the same positions, sizes and styles.
  """
  _check(n_style, variant)
  domain = np.asarray(domain, np.int64)
  k = num_domains(n_style)
  if domain.size and (domain.min() < 0 or domain.max() >= k):
    raise ValueError(f'domain labels must be in [0, {k}) for n_style={n_style}; got {domain.min()}..{domain.max()}.')
  n = domain.shape[0]
  shape = rng.integers(0, len(SHAPES), n)
  if variant == 'species':
    shape = domain % len(SHAPES)
  xy = rng.uniform(*POSITION_RANGE, (n, 2))
  size = rng.uniform(*SIZE_RANGE, n)
  rotation = rng.uniform(0.0, 1.0, n)
  content = np.stack([shape, xy[:, 0], xy[:, 1], size, rotation], 1).astype(np.float32)
  loc, scale = style_distribution(n_style)
  eps = rng.standard_normal((n, n_style))
  style = 1.0 / (1.0 + np.exp(-(loc[domain] + scale[domain] * eps)))
  # Keep strictly inside (0, 1) in float32, where the log-density is finite.
  style = np.clip(style, 1e-6, 1 - 1e-6).astype(np.float32)
  return content, style


def _box(u, v, hx, hy):
  """Signed distance to an axis-aligned box of half-extents (hx, hy)."""
  qx, qy = np.abs(u) - hx, np.abs(v) - hy
  outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
  return outside + np.minimum(np.maximum(qx, qy), 0)


def _triangle(u, v, r):
  """Signed distance to an equilateral triangle of half-side r centred on its centroid."""
  k = np.float32(np.sqrt(3.0))
  px, py = np.abs(u) - r, -v + r / k
  fold = px + k * py > 0
  px, py = np.where(fold, (px - k * py) / 2, px), np.where(fold, (-k * px - py) / 2, py)
  px = px - np.clip(px, -2 * r, 0)
  return -np.sqrt(px * px + py * py) * np.sign(py)


def _ellipse(u, v, a, b):
  """Signed distance (first-order approximation, exact on the boundary) to an ellipse of semi-axes (a, b)."""
  k0 = np.sqrt((u / a) ** 2 + (v / b) ** 2)
  k1 = np.sqrt((u / (a * a)) ** 2 + (v / (b * b)) ** 2)
  return np.where(k1 > 1e-6, k0 * (k0 - 1) / np.maximum(k1, 1e-6), -b)


def _sdf(shape_index, u, v, r):
  """Signed distance (pixels, negative inside) to a shape of radius r at the origin of (u, v)."""
  if shape_index == 0:
    return np.sqrt(u * u + v * v) - r
  if shape_index == 1:
    return _box(u, v, 0.85 * r, 0.85 * r)
  if shape_index == 2:
    return _triangle(u, v, 1.05 * r)
  if shape_index == 3:  # Until RENDER_VERSION 3 a cross, whose 5 px notches a 32 px generator filled in.
    return _ellipse(u, v, 1.1 * r, 0.55 * r)
  return np.abs(np.sqrt(u * u + v * v) - 0.68 * r) - 0.32 * r


def _hsv_to_rgb(h, s, v):
  """Smooth (piecewise-linear) HSV -> RGB. h, s, v: [N]; returns [N, 3] in [0, 1]."""
  offsets = np.array([0.0, 4.0, 2.0], np.float32)
  c = np.clip(np.abs(np.mod(h[:, None] * 6 + offsets, 6) - 3) - 1, 0, 1)
  return v[:, None] * (1 - s[:, None] + s[:, None] * c)


def _render_chunk(content, style, size):
  n = content.shape[0]
  grid = (np.arange(size, dtype=np.float32) + 0.5)
  cx, cy = content[:, 1] * size, content[:, 2] * size
  r = content[:, 3] * size
  shape = content[:, 0].round().astype(np.int64)
  angle = content[:, 4] * _PERIODS[shape]
  cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
  dx = grid[None, None, :] - cx[:, None, None]  # [N, 1, W]
  dy = grid[None, :, None] - cy[:, None, None]  # [N, H, 1]
  u = cos * dx + sin * dy  # object frame, [N, H, W]
  v = -sin * dx + cos * dy
  dist = np.empty((n, size, size), np.float32)
  for s_idx in range(len(SHAPES)):
    sel = np.nonzero(shape == s_idx)[0]
    if sel.size:
      dist[sel] = _sdf(s_idx, u[sel], v[sel], r[sel, None, None])
  # Anti-aliasing: coverage ramps over one pixel across the edge (smoothstep, C1 in every factor).
  t = np.clip(0.5 - dist, 0, 1)
  alpha = t * t * (3 - 2 * t)
  n_style = style.shape[1]
  obj = _hsv_to_rgb(_HUE_SPAN * style[:, 0], np.full(n, 0.8, np.float32), np.full(n, 0.95, np.float32))
  obj = np.broadcast_to(obj[:, None, None, :], (n, size, size, 3))
  if n_style >= 3:
    period = size / 6.0
    wave = 0.5 + 0.5 * np.cos(2 * np.pi * u / period)
    obj = obj * (1 - 0.75 * style[:, 2, None, None, None] * wave[..., None])
  if n_style >= 2:
    bg = 0.08 + 0.84 * style[:, 1]
  else:
    bg = np.full(n, 0.5, np.float32)
  bg = bg[:, None, None, None]
  img = bg + alpha[..., None] * (obj - bg)
  return (2 * img - 1).astype(np.float32), alpha.astype(np.float32)


def render(content, style, size: int = 32, variant: str = 'style_domains', return_mask: bool = False):
  """Renders images from factors: the ground truth for any (content, style) combination.

  content: [N, 5] (CONTENT_NAMES); style: [N, n] in [0, 1] (STYLE_NAMES[:n]). Returns float32 images
  [N, size, size, 3] in [-1, 1] and, with return_mask, the object coverage float32 [N, size, size] in
  [0, 1]. The shape comes from content[:, 0] in both variants (`variant` is accepted for symmetry with
  the other functions and checked). Deterministic: the same factors always give the same pixels.
  """
  content = np.asarray(content, np.float32)
  style = np.asarray(style, np.float32)
  if (content.ndim != 2 or content.shape[1] != len(CONTENT_NAMES) or style.ndim != 2
      or content.shape[0] != style.shape[0] or not 1 <= style.shape[1] <= len(STYLE_NAMES)):
    raise ValueError(f'content must be [N, {len(CONTENT_NAMES)}] and style [N, n] with n in 1..{len(STYLE_NAMES)}; '
                     f'got {content.shape} and {style.shape}.')
  _check(style.shape[1], variant)
  n = content.shape[0]
  images = np.empty((n, size, size, 3), np.float32)
  masks = np.empty((n, size, size), np.float32)
  for start in range(0, n, _CHUNK):
    sl = slice(start, start + _CHUNK)
    images[sl], masks[sl] = _render_chunk(content[sl], style[sl], size)
  return (images, masks) if return_mask else images


_DEFAULT_PER_DOMAIN = {'train': 2_000, 'test': 200}
_SPLIT_IDS = {'train': 0, 'test': 1}


@functools.lru_cache(maxsize=8)
def _load_split_cached(n_style, variant, split, per_domain, size, seed):
  rng = np.random.default_rng([seed, _SPLIT_IDS[split], n_style])
  label = np.repeat(np.arange(num_domains(n_style), dtype=np.int32), per_domain)
  content, style = sample_factors(rng, label, n_style, variant)
  data = {'image': render(content, style, size, variant), 'label': label, 'content': content, 'style': style}
  for array in data.values():
    array.flags.writeable = False
  return data


def load_split(n_style: int = 2, variant: str = 'style_domains', split: str = 'train', per_domain: int | None = None,
               size: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
  """A whole split in memory: dict(image float32 [N, size, size, 3] in [-1, 1], label int32 [N],
  content float32 [N, 5], style float32 [N, n]), N = K * per_domain, sorted by domain.

  Deterministic: (seed, split) fix the factors; train and test are independent draws. per_domain
  defaults to 2,000 (train) / 200 (test). The result is cached and read-only (copy before editing).
  """
  _check(n_style, variant)
  if split not in _SPLIT_IDS:
    raise ValueError(f"split must be 'train' or 'test', not {split!r}.")
  per_domain = _DEFAULT_PER_DOMAIN[split] if per_domain is None else int(per_domain)
  return _load_split_cached(n_style, variant, split, per_domain, int(size), int(seed))

"""Fits the exact-likelihood estimator (`models/likelihood.py`) to vector data and hands it to the vector
evaluation as a model, so the ceiling is scored by the same code as DSS and StarGAN v2.

  fit = ceiling.fit(data, seed=0)                    # ~1 min on 2 CPU cores
  model = ceiling.vector_model(fit)                  # vector_eval.VectorModel: style / map / generate / edits
  result = vector_eval.evaluate_vector(None, None, data, model=model, seed=7001)

Training: Adam (lr 3e-3, cosine decay), `steps` minibatches of 1,024 drawn from a pool of `per_domain` fresh
vectors per domain (large enough that the fit does not overfit: the estimator of the theorem sees the
distribution, not a sample), float32. `fit` also reports the held-out log-likelihood beside the true model's
(`VectorDataV3.log_prob_x`): an estimator far below the truth is an optimisation failure, not a ceiling.
"""

import dataclasses
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dss_jax.models.likelihood import LikelihoodModel

STEPS = 3_000
PER_DOMAIN = 20_000
BATCH = 1_024
LR = 3e-3


@dataclasses.dataclass
class Fit:
  module: LikelihoodModel
  params: Any
  nll: float  # Held-out mean -log p(x | u) of the fit (nats per vector).
  true_nll: float  # The same under the true model (nan where the data have no `log_prob_x`).
  seconds: float


def _module(data, x, **kwargs):
  return LikelihoodModel(data.n_content, data.n_style, data.num_domains, tuple(float(v) for v in x.mean(0)),
                         tuple(float(v) for v in x.std(0)), **kwargs)


def fit(data, *, seed: int = 0, init_seed: int | None = None, steps: int = STEPS, per_domain: int = PER_DOMAIN,
        batch: int = BATCH, lr: float = LR, log_every: int = 0, **module_kwargs) -> Fit:
  """Maximum-likelihood fit on `per_domain` vectors per domain drawn with `seed`; init_seed (default seed)
  draws the initial parameters and minibatches, so restarts on the same data differ only there."""
  t0 = time.time()
  init_seed = seed if init_seed is None else init_seed
  rng = np.random.default_rng(6000 + seed)
  labels = np.repeat(np.arange(data.num_domains), per_domain).astype(np.int32)
  train = data.sample(rng, len(labels), labels)
  held = data.sample(rng, len(labels) // 10, labels[::10])
  module = _module(data, train['x'], **module_kwargs)
  key = jax.random.key(init_seed)
  params = module.init(key, jnp.asarray(train['x'][:2]), jnp.asarray(labels[:2]))['params']
  opt = optax.adam(optax.cosine_decay_schedule(lr, steps, alpha=0.05))
  opt_state = opt.init(params)
  x_all, y_all = jnp.asarray(train['x']), jnp.asarray(labels)

  def loss(p, x, y):
    return -module.apply({'params': p}, x, y).mean()

  @jax.jit
  def step(p, s, k):
    idx = jax.random.randint(k, (min(batch, len(labels)),), 0, len(labels))
    value, grads = jax.value_and_grad(loss)(p, x_all[idx], y_all[idx])
    updates, s = opt.update(grads, s, p)
    return optax.apply_updates(p, updates), s, value

  batch_key = jax.random.fold_in(key, 1)
  for i in range(steps):
    params, opt_state, value = step(params, opt_state, jax.random.fold_in(batch_key, i))
    if log_every and (i + 1) % log_every == 0:
      print(f'  ceiling step {i + 1}/{steps}: nll {float(value):.3f}', flush=True)
  held_lp = np.asarray(jax.jit(functools.partial(module.apply, method='log_prob'))(
      {'params': params}, jnp.asarray(held['x']), jnp.asarray(held['label'])))
  true_lp = data.log_prob_x(held['x'], held['label']) if hasattr(data, 'log_prob_x') else np.full(len(held_lp), np.nan)
  return Fit(module, params, float(-held_lp.mean()), float(-true_lp.mean()), time.time() - t0)


class Translator:
  """The few methods of `inference.Translator` the vector evaluation's edit metrics call, for the likelihood
  model: its style is edited in the prior flow's z, as DSS's sliders are."""
  is_flow = True

  def __init__(self, fitted: Fit):
    self.style_dim = fitted.module.n_style
    self.z_dim = self.style_dim
    apply = functools.partial(fitted.module.apply, {'params': fitted.params})
    self._style = jax.jit(lambda x: apply(x, method='style'))
    self._map = jax.jit(lambda z, y: apply(z, y, method='map'))
    self._inverse = jax.jit(lambda s, y: apply(s, y, method='map_inverse'))
    self._generate = jax.jit(lambda x, s: apply(x, s, method='generate'))

  @staticmethod
  def _y(domain, n):
    return np.full(n, domain, np.int32) if np.ndim(domain) == 0 else np.asarray(domain, np.int32)

  def encode_style(self, x, domain):
    return np.asarray(self._style(jnp.asarray(x, jnp.float32)))

  def style_from_z(self, z, domain):
    return np.asarray(self._map(jnp.asarray(z, jnp.float32), self._y(domain, len(z))))

  def style_to_z(self, s, domain):
    return np.asarray(self._inverse(jnp.asarray(s, jnp.float32), self._y(domain, len(s))))

  def generate(self, x, s):
    return np.asarray(self._generate(jnp.asarray(x, jnp.float32), jnp.asarray(s, jnp.float32)))

  def traverse(self, x, domain, component, values, *, reference):
    """G(x, s) with z_component of the reference's code set to each of values: [len(values), B, d]."""
    y = self._y(domain, len(x))
    z = self.style_to_z(self.encode_style(reference, y), y)
    out = []
    for v in values:
      zv = z.copy()
      zv[:, component] = v
      out.append(self.generate(x, self.style_from_z(zv, y)))
    return np.stack(out)


def vector_model(fitted: Fit):
  """The fit as a `vector_eval.VectorModel` (E = the latent's style block, F = the prior's sampler, G = the
  style swap), with edits."""
  from dss_jax.metrics import vector_eval
  t = Translator(fitted)
  return vector_eval.VectorModel(style=lambda x, u: t.encode_style(x, u), map=t.style_from_z, generate=t.generate,
                                 z_dim=t.z_dim, translator=t)

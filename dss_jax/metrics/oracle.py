"""The oracle: a small CNN trained on clean synthetic images that reads domain, content and style.

It turns generated images into numbers for the latent-guided part of the benchmark: target-domain
accuracy, content preservation (source content vs the content read from the output) and the
distribution of the style read from the outputs (against the true p(s | u), `style_wasserstein`).

Heads: domain (K-way softmax), shape (5-way softmax, content[:, 0]), content regression (x, y, size and
rotation as (cos, sin) of 2 pi rotation, since rotation is periodic), style regression (n factors).
Regression targets are standardised with the training set's statistics, which travel with the params.

In the `style_domains` variant domains differ only in p(s | u), so even a perfect reader cannot name
every image's domain: the ceiling is the Bayes accuracy from the true style (`bayes_domain_accuracy`,
about 0.9 for n_style = 2). Compare generated-image accuracy with the oracle's accuracy on real test
images, not with 1. In `species` the domain is the shape and the ceiling is 1.

Trained once and cached as a file in a directory (`get_oracle`); at the defaults (10k images, 1,500 steps,
width 16) training takes about 1.5-2.5 minutes on a 2-core CPU and reads shape at ~0.93, style at r ~0.99.
"""

import functools
import hashlib
import json
import os
import time

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

NUM_SHAPES = 5  # synthetic.SHAPES


class OracleCNN(nn.Module):
  """x: [B, H, W, 3] in [-1, 1] -> dict(domain [B, K], shape [B, 5], content [B, 5], style [B, n])."""

  num_domains: int
  n_style: int
  width: int = 16

  @nn.compact
  def __call__(self, x):
    w = self.width
    for i, c in enumerate((w, 2 * w, 2 * w, 4 * w)):
      x = nn.Conv(c, (3, 3), strides=1 if i == 0 else 2, padding=1)(x)
      x = nn.GroupNorm(num_groups=8)(x)
      x = nn.relu(x)
    x = jnp.concatenate([jnp.mean(x, axis=(1, 2)), x.reshape(x.shape[0], -1)], axis=-1)
    x = nn.relu(nn.Dense(8 * w)(x))
    return {'domain': nn.Dense(self.num_domains, name='domain')(x),
            'shape': nn.Dense(NUM_SHAPES, name='shape')(x),
            'content': nn.Dense(5, name='content')(x),  # x, y, size, cos, sin.
            'style': nn.Dense(self.n_style, name='style')(x)}


def _content_targets(content):
  """content [N, 5] (shape, x, y, size, rotation) -> regression targets [N, 5] (x, y, size, cos, sin)."""
  c = np.asarray(content, np.float32)
  angle = 2 * np.pi * c[:, 4]
  return np.stack([c[:, 1], c[:, 2], c[:, 3], np.cos(angle), np.sin(angle)], axis=1)


def _loss(params, model, batch, meta):
  out = model.apply({'params': params}, batch['image'])
  ce = optax.softmax_cross_entropy_with_integer_labels
  content = (batch['content_t'] - meta['content_mean']) / meta['content_std']
  style = (batch['style'] - meta['style_mean']) / meta['style_std']
  terms = {'domain': ce(out['domain'], batch['label']).mean(), 'shape': ce(out['shape'], batch['shape']).mean(),
           'content': jnp.mean((out['content'] - content) ** 2), 'style': jnp.mean((out['style'] - style) ** 2)}
  return sum(terms.values()), terms


def _init_params(model, sample, seed):
  """LeCun-normal kernels, zero biases, unit scales, drawn with numpy (JAX's random initialisers compile
  slowly on CPU, seconds per shape, which would dominate a test)."""
  rng = np.random.default_rng(seed)
  shapes = jax.eval_shape(model.init, jax.random.key(0), sample)['params']

  def init(path, leaf):
    name = path[-1].key
    if name == 'kernel':
      return (rng.normal(size=leaf.shape) / np.sqrt(np.prod(leaf.shape[:-1]))).astype(np.float32)
    return (np.ones if name == 'scale' else np.zeros)(leaf.shape, np.float32)

  return jax.tree_util.tree_map_with_path(init, shapes)


# Training the oracle takes minutes on a CPU (1500 steps, data included: 71 s on a 2-core machine at load 3,
# 272 s on the same busier): a line every PROGRESS_SECONDS says how far it is and how long is left, so
# `--mode=eval` is not silent meanwhile.
PROGRESS_SECONDS = 30.0
SECONDS_PER_STEP_CPU = (0.047, 0.18)  # The start line's rough range (those two runs); the progress lines measure.


def _duration(seconds: float) -> str:
  seconds = int(round(seconds))
  return f'{seconds // 60} min {seconds % 60:02d} s' if seconds >= 60 else f'{seconds} s'


def train_oracle(images, labels, content, style, steps=1500, seed=0, num_domains=None, batch_size=64,
                 learning_rate=2e-3, width=16):
  """Trains the oracle on clean images; returns the oracle (dict of 'params' and 'meta').

  images: [N, H, W, 3] in [-1, 1]; labels: [N] domains; content: [N, 5] (synthetic.CONTENT_NAMES);
  style: [N, n]. num_domains defaults to max(label) + 1. Adam with cosine decay; deterministic given seed.
  Logs its progress (step, time left) every PROGRESS_SECONDS, from the rate measured after the first step.
  """
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels, np.int32)
  content_t, style = _content_targets(content), np.asarray(style, np.float32)
  shape = np.asarray(content, np.float32)[:, 0].round().astype(np.int32)
  k = int(num_domains or labels.max() + 1)
  meta = {'num_domains': k, 'n_style': int(style.shape[1]), 'width': int(width),
          'content_mean': content_t.mean(0), 'content_std': content_t.std(0) + 1e-6,
          'style_mean': style.mean(0), 'style_std': style.std(0) + 1e-6}
  model = OracleCNN(k, meta['n_style'], width)
  params = _init_params(model, images[:1], seed)
  tx = optax.adam(optax.cosine_decay_schedule(learning_rate, max(steps, 1)))
  opt_state = tx.init(params)
  jmeta = {k_: jnp.asarray(v) for k_, v in meta.items() if isinstance(v, np.ndarray)}

  @jax.jit
  def step(params, opt_state, batch):
    (_, terms), grads = jax.value_and_grad(_loss, has_aux=True)(params, model, batch, jmeta)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, terms

  order_rng = np.random.default_rng(seed)
  n = len(images)
  perm, pos = order_rng.permutation(n), 0
  t_first = next_line = None
  for i in range(steps):
    if pos + batch_size > n:
      perm, pos = order_rng.permutation(n), 0
    idx = perm[pos:pos + batch_size]
    pos += batch_size
    batch = {'image': images[idx], 'label': labels[idx], 'shape': shape[idx], 'content_t': content_t[idx],
             'style': style[idx]}
    params, opt_state, _ = step(params, opt_state, batch)
    if i == 0 or time.monotonic() >= next_line:  # Waits for the step only then (the rate is of finished steps).
      jax.block_until_ready(params)
      now = time.monotonic()
      if i == 0:  # Compiled: the rate is measured from here.
        t_first, next_line = now, now + min(PROGRESS_SECONDS, 10.0)
      elif i + 1 < steps:
        left = (now - t_first) / i * (steps - 1 - i)
        logging.info('Oracle: step %d of %d, about %s left.', i + 1, steps, _duration(left))
        next_line = now + PROGRESS_SECONDS
  return {'params': jax.tree.map(np.asarray, params), 'meta': meta}


def oracle_predict(oracle, images, batch_size=256):
  """Reads images [N, H, W, 3] in [-1, 1] with a trained oracle.

  Returns dict(domain [N] int, domain_probs [N, K], shape [N] int, content [N, 5] float in the order of
  synthetic.CONTENT_NAMES (rotation recovered from (cos, sin) into [0, 1)), style [N, n]).
  """
  meta = oracle['meta']
  model = OracleCNN(meta['num_domains'], meta['n_style'], meta['width'])
  apply = functools.partial(_apply, model)
  images = np.asarray(images, np.float32)
  outs = [apply(oracle['params'], images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
  out = {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}
  c = out['content'] * meta['content_std'] + meta['content_mean']
  rotation = np.mod(np.arctan2(c[:, 4], c[:, 3]) / (2 * np.pi), 1.0)
  shape = out['shape'].argmax(-1)
  content = np.stack([shape.astype(np.float32), c[:, 0], c[:, 1], c[:, 2], rotation], axis=1)
  return {'domain': out['domain'].argmax(-1), 'domain_probs': np.asarray(jax.nn.softmax(out['domain'])),
          'shape': shape, 'content': content, 'style': out['style'] * meta['style_std'] + meta['style_mean']}


@functools.partial(jax.jit, static_argnums=0)
def _apply(model, params, x):
  return model.apply({'params': params}, x)


# ------------------------------------------------------------------------------------------ cache


def save_oracle(oracle, path):
  """Writes the oracle (params + meta) to one msgpack file."""
  meta = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in oracle['meta'].items()}
  data = flax.serialization.msgpack_serialize({'params': oracle['params'], 'meta': json.dumps(meta)})
  tmp = f'{path}.tmp'
  with open(tmp, 'wb') as f:
    f.write(data)
  os.replace(tmp, path)  # Atomic: a half-written file is never read back.


def load_oracle(path):
  """Reads a file written by `save_oracle`."""
  with open(path, 'rb') as f:
    tree = flax.serialization.msgpack_restore(f.read())
  meta = json.loads(tree['meta'])
  meta = {k: (np.asarray(v, np.float32) if isinstance(v, list) else v) for k, v in meta.items()}
  return {'params': tree['params'], 'meta': meta}


def get_oracle(cache_dir, n_style=2, variant='style_domains', size=32, per_domain=2000, steps=1500, seed=0):
  """The oracle for a synthetic dataset configuration: loaded from cache_dir, or trained and saved there.

  Trains on synthetic.load_split(n_style, variant, 'train', per_domain, size, seed). The file name
  encodes every argument, so a changed setting trains a new oracle instead of reusing a stale one.
  """
  from dss_jax.datasets import synthetic  # Only this entry point needs the dataset.

  key = json.dumps([n_style, variant, size, per_domain, steps, seed, synthetic.RENDER_VERSION])
  path = os.path.join(cache_dir, f'oracle_{variant}_n{n_style}_{hashlib.sha1(key.encode()).hexdigest()[:10]}.msgpack')
  if os.path.exists(path):
    return load_oracle(path)
  logging.info('Training the oracle, the CNN that reads the true factors back from generated images (%d steps on '
               '%d images per domain; roughly %s to %s on a 2-core CPU, by its load, far less on a GPU; once, then '
               'cached in %s). A line every %.0f s says how far it is ...', steps, per_domain,
               *(_duration(steps * t) for t in SECONDS_PER_STEP_CPU), cache_dir, PROGRESS_SECONDS)
  t0 = time.monotonic()
  data = synthetic.load_split(n_style, variant, 'train', per_domain, size, seed)
  oracle = train_oracle(data['image'], data['label'], data['content'], data['style'], steps=steps, seed=seed,
                        num_domains=synthetic.num_domains(n_style))
  os.makedirs(cache_dir, exist_ok=True)
  save_oracle(oracle, path)
  logging.info('Oracle trained in %s; saved as %s.', _duration(time.monotonic() - t0), path)
  return oracle


# ------------------------------------------------------------------------------------------ readings


def bayes_domain_accuracy(style, labels, n_style=2):
  """Accuracy of the Bayes classifier argmax_u log p(s | u) on given styles [N, n] (equal domain priors).

  On true styles this is the ceiling of any domain reader in `style_domains`.
  """
  from dss_jax.datasets import synthetic

  style = np.clip(np.asarray(style, np.float64), 1e-6, 1 - 1e-6)
  k = synthetic.num_domains(n_style)
  logp = np.stack([synthetic.style_log_prob(style, np.full(len(style), u), n_style) for u in range(k)], axis=1)
  return float(np.mean(logp.argmax(1) == np.asarray(labels)))


ROTATION_INVARIANT_SHAPES = (0, 4)  # circle, ring: rotation does not show.


def latent_guided_quality(readings, target_labels, source_content, true_style, true_labels):
  """Latent-guided outputs as the oracle reads them, against what they should be.

  readings: `oracle_predict` on generated images G(x_src, F(z, u)); target_labels: [N] the u asked for;
  source_content: [N, 5] true content of the sources; true_style, true_labels: [M, n], [M] true styles
  of real images (p(s | u) samples). Returns dict(domain_accuracy, shape_accuracy,
  content_corr {x, y, size}: Pearson r of source vs read content, rotation_agreement: mean
  cos(2 pi (read - source rotation)) over shapes whose rotation shows (1 = kept, 0 = random),
  style_wasserstein {u: per-factor [n]} and style_wasserstein_mean, style_spread_ratio [n]: per-domain std of
  the read style over the real per-domain std, pooled over sources and z, and its minimum over factors).
  """
  from dss_jax.metrics import identifiability

  target_labels = np.asarray(target_labels)
  src = np.asarray(source_content, np.float64)
  read = readings['content']
  corr = identifiability.content_preservation(src[:, 1:4], read[:, 1:4])
  shows = ~np.isin(src[:, 0].round(), ROTATION_INVARIANT_SHAPES)
  rot = float(np.mean(np.cos(2 * np.pi * (read[shows, 4] - src[shows, 4])))) if shows.any() else float('nan')
  true_style, true_labels = np.asarray(true_style), np.asarray(true_labels)
  wd = {int(u): identifiability.style_wasserstein(readings['style'][target_labels == u],
                                                  true_style[true_labels == u])['per_factor']
        for u in np.unique(target_labels)}
  # Within-domain spread of the outputs' style over the real images' spread, per factor, POOLED over sources and
  # z: it cannot detect collapse (a generator that ignores z but keeps each source's style scores the spread of
  # the sources' styles, 1.7-2.4 measured); evaluate.z_effect measures collapse for a fixed source.
  spread = np.mean([readings['style'][target_labels == u].std(0) / np.maximum(true_style[true_labels == u].std(0), 1e-9)
                    for u in np.unique(target_labels)], axis=0)
  return {'domain_accuracy': float(np.mean(readings['domain'] == target_labels)),
          'style_spread_ratio': [float(v) for v in spread], 'style_spread_ratio_min': float(spread.min()),
          'shape_accuracy': float(np.mean(readings['shape'] == src[:, 0].round())),
          'content_corr': {'x': float(corr[0]), 'y': float(corr[1]), 'size': float(corr[2])},
          'rotation_agreement': rot, 'style_wasserstein': wd,
          'style_wasserstein_mean': float(np.mean([w.mean() for w in wd.values()]))}

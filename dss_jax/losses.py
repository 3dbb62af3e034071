"""The DSS objective, term by term (pure jnp; METHOD.md and STARGAN_V2_REFERENCE.md section 2.2).

All losses are float32 scalars; images [B, H, W, 3] in [-1, 1], codes [B, D], logits [B].
"""

import math

import jax
import jax.numpy as jnp


def adv_real(logits):
  """Non-saturating BCE with target 1 (real): mean softplus(-l)."""
  return jnp.mean(jax.nn.softplus(-logits))


def adv_fake(logits):
  """BCE with target 0 (fake): mean softplus(l)."""
  return jnp.mean(jax.nn.softplus(logits))


def r1_penalty(d_fn, x_real):
  """Zero-centred R1 on real images: 0.5 * mean_b sum_{h,w,c} (d sum_b D(x) / dx)^2.

  Differentiable (double backprop), as the reference applies it at every D step.
  Returns (penalty, logits of x_real) so the caller does not run D twice.
  """
  logits, vjp = jax.vjp(d_fn, x_real)
  (grad,) = vjp(jnp.ones_like(logits))
  return 0.5 * jnp.mean(jnp.sum(jnp.square(grad), axis=tuple(range(1, grad.ndim)))), logits


def l1(a, b):
  return jnp.mean(jnp.abs(a - b))


def lambda_ds(step, lambda_ds_init, ds_iter):
  """Diversity weight at `step`: linear decay from lambda_ds_init to 0 over ds_iter steps.

  Computed from the step, so a resumed run continues the schedule (the reference resets it).
  """
  return lambda_ds_init * jnp.maximum(0.0, 1.0 - jnp.asarray(step, jnp.float32) / ds_iter)


def unification_d(logits_latent, logits_reference):
  """L_uni for D_s (which maximises the log-likelihood): latent codes real, reference codes fake."""
  return adv_real(logits_latent) + adv_fake(logits_reference)


def unification_e(logits_reference):
  """L_uni for the style encoder, non-saturating: its reference codes should be judged latent (real)."""
  return adv_real(logits_reference)


def unification_flow(logits_latent):
  """Extension (uni_target='both'), non-saturating: the flow's latent codes should be judged reference (fake)."""
  return adv_fake(logits_latent)


def hardest_negative_triplet(codes_all, y, positive, margin):
  """L_smooth: mean max(margin + ||a - p|| - ||a - n||, 0) with n the hardest in-batch negative.

  codes_all: [B, K, D] codes of every batch image under every domain head; y: [B] the anchors'
  domains; positive: [B, D] codes of geometric augmentations of the anchors (under their own head).
  The anchor is E^{y_i}(x_i); the negative of i is the image j != i whose code under the *anchor's*
  head, E^{y_i}(x_j), is closest to the anchor. Returns (loss, index of the chosen negatives).
  """
  b = codes_all.shape[0]
  under_anchor_head = jnp.take(codes_all, y, axis=1)  # [B_j, B_i, D]: E^{y_i}(x_j).
  under_anchor_head = jnp.swapaxes(under_anchor_head, 0, 1)  # [B_i, B_j, D].
  anchor = under_anchor_head[jnp.arange(b), jnp.arange(b)]  # E^{y_i}(x_i).
  dist = jnp.sqrt(jnp.sum(jnp.square(anchor[:, None] - under_anchor_head), -1) + 1e-12)  # [B_i, B_j].
  dist_masked = jnp.where(jnp.eye(b, dtype=bool), jnp.inf, dist)
  negative = jnp.argmin(dist_masked, axis=1)
  d_neg = jnp.take_along_axis(dist, negative[:, None], axis=1)[:, 0]
  d_pos = jnp.sqrt(jnp.sum(jnp.square(anchor - positive), -1) + 1e-12)
  return jnp.mean(jnp.maximum(margin + d_pos - d_neg, 0.0)), negative


def style_preserving_view(rng, x, noise=0.05):
  """L_smooth's positive: a view of x with the same style. Images [B, H, W, 3]: `geometric_augment`;
  vectors [B, D] (datasets/vector.py): x plus small Gaussian noise (no geometry to move)."""
  if x.ndim == 4:
    return geometric_augment(rng, x)
  return x + noise * jax.random.normal(rng, x.shape, x.dtype)


def geometric_augment(rng, x, max_shift=0.1):
  """A style-preserving view of x: random zoom-in crop (scale 0.8-1), shift and horizontal flip; no colour change.

  x: [B, H, W, 3] -> [B, H, W, 3]. Bilinear per-sample resampling, inside the jitted step.
  """
  b, h, w, _ = x.shape
  k_zoom, k_shift, k_flip = jax.random.split(rng, 3)
  zoom = 1.0 / jax.random.uniform(k_zoom, (b,), minval=0.8, maxval=1.0)  # Crop a 0.8-1 window, resize it up.
  shift = jax.random.uniform(k_shift, (b, 2), minval=-max_shift, maxval=max_shift) * jnp.array([h, w])
  flip = jax.random.bernoulli(k_flip, 0.5, (b,))
  x = jnp.where(flip[:, None, None, None], x[:, :, ::-1], x)
  # Edge padding: pixels shifted in from outside repeat the border instead of inventing a colour.
  pad = int(math.ceil(max_shift * max(h, w))) + 1
  x = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode='edge')
  centre = jnp.array([h / 2, w / 2])

  def one(img, z, d):
    # Output pixel o samples the original image at centre + (o - centre) / z - d: a zoom about the
    # centre, then a shift by d. scale_and_translate samples the input at (o - translation) / z.
    translation = centre - z * (pad + centre - d)
    return jax.image.scale_and_translate(img, (h, w, img.shape[-1]), (0, 1), jnp.array([z, z]), translation,
                                         'linear', antialias=False)

  return jax.vmap(one)(x, zoom, shift)

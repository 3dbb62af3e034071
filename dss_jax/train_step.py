"""One DSS training iteration as a pure function, and the losses of its sub-steps (METHOD.md's terms).

Schedule (StarGAN v2's, with DSS's additions):
  1. D step, latent-guided fakes      d_loss: L_adv (D side) + R1, L_uni (D_s side)
  2. D step, reference-guided fakes   d_loss, the same with reference codes
  3. G step, latent-guided            g_loss: L_adv + L_sty - L_ds + L_cyc, and the optional terms
                                      (L_uni and L_smooth on the style encoder, the extensions);
                                      updates the generator and the style tree (flow + style encoder)
  4. G step, reference-guided         g_loss without optional terms; updates the generator only
  5. EMA of the generator and style trees; a non-finite iteration is not applied.
A tree not trained in a sub-step never passes through its optimizer (Adam would move it anyway).

D_s sees, at every update, latent codes F(z, u) and reference codes E(x_ref, u) of the target domain.
The style encoder's unification and smoothness terms use the source images' codes E(x_src, y_src),
which the cycle loss computes anyway: every style-encoder output is a reference-based code.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dss_jax import losses, preflight
from dss_jax.models import Networks, layers
from dss_jax.state import LEARNING_RATES, TrainState, ema_trees


def hyperparameters(config) -> dict[str, np.float32]:
  """The step's `hp` argument: the config's learning rates (state.LEARNING_RATES) as f32 scalars, the value the
  constants they replace had. Inputs of the compiled step, so a resume that changes them does not recompile;
  the betas and the loss weights stay constants (state.LEARNING_RATES says why)."""
  return {k: np.float32(config[k]) for k in LEARNING_RATES}


def validate(config) -> None:
  """Checks the config's values once, when a run is built: one sentence per mistake (preflight.check_values,
  which main.py also runs before importing JAX)."""
  preflight.check_values(config)


# ------------------------------------------------------------------------------------------ D side


def d_loss(d_params, g_params, batch, s_fake, s_lat, s_ref, *, nets: Networks, config):
  """L_adv for D (real x_src, fake G(x_src, s_fake)) + lambda_reg R1, and L_uni for D_s (latent real,
  reference fake). -> (total, terms)."""
  x_src, y_src, y_trg = batch['x_src'], batch['y_src'], batch['y_trg']
  x_fake = jax.lax.stop_gradient(nets.generate(g_params, x_src, s_fake))
  r1, logits_real = losses.r1_penalty(lambda x: nets.discriminate(d_params['discriminator'], x, y_src), x_src)
  terms = {'real': losses.adv_real(logits_real),
           'fake': losses.adv_fake(nets.discriminate(d_params['discriminator'], x_fake, y_trg)), 'reg': r1}
  total = terms['real'] + terms['fake'] + config.lambda_reg * r1
  if config.lambda_uni > 0:
    ds = lambda s: nets.discriminate_style(d_params['style_discriminator'], s, y_trg)
    terms['uni'] = losses.unification_d(ds(s_lat), ds(s_ref))
    total = total + config.lambda_uni * terms['uni']
  return total, terms


# ------------------------------------------------------------------------------------------ G side


def g_loss(g_params, style_params, d_params, batch, s1, s2, *, nets: Networks, config, lambda_ds, z1=None):
  """L_adv + lambda_sty L_sty - lambda_ds L_ds + lambda_cyc L_cyc for target codes s1, s2 [B, D] (z1: the
  latent of s1, when known). -> (total, terms, ctx); ctx holds the source codes for the optional terms."""
  x_src, y_src, y_trg = batch['x_src'], batch['y_src'], batch['y_trg']
  content, cache = nets.encode_content(g_params, x_src)
  x_fake = nets.decode(g_params, content, s1, cache)
  x_fake2 = jax.lax.stop_gradient(nets.decode(g_params, content, s2, cache))
  codes_src = nets.style(style_params['style_encoder'], x_src)  # [B, K, D]: every head (L_smooth's negatives).
  s_org = layers.gather_domain(codes_src, y_src)
  x_rec = nets.generate(g_params, x_fake, s_org)
  s_rec, s_target = sty_codes(nets.style(style_params['style_encoder'], x_fake, y_trg), s1, z1, style_params,
                              y_trg, nets=nets, config=config)
  terms = {'adv': losses.adv_real(nets.discriminate(d_params['discriminator'], x_fake, y_trg)),
           'sty': losses.l1(s_rec, s_target),
           'ds': losses.l1(x_fake, x_fake2),
           'cyc': losses.l1(x_rec, x_src)}
  total = (terms['adv'] + config.lambda_sty * terms['sty'] - lambda_ds * terms['ds']
           + config.lambda_cyc * terms['cyc'])
  return total, terms, {'codes_src': codes_src, 's_org': s_org, 's1': s1}


# ------------------------------------------------------------------------------------------ optional terms
# Every term beyond StarGAN v2's lives here: METHOD.md's L_uni and L_smooth (on the style encoder) and the
# extensions (config keys uni_target, lambda_flow_nll, sty_space; docs/training.md). Each entry:
# (name, weight key, is it on for this config, the term). They are added to the latent G step in this order.


def _uni(ctx, style_params, d_params, batch, k_aug, *, nets, config):  # METHOD.md: E's codes judged latent.
  return losses.unification_e(nets.discriminate_style(d_params['style_discriminator'], ctx['s_org'], batch['y_src']))


def _uni_flow(ctx, style_params, d_params, batch, k_aug, *, nets, config):  # The flow's codes judged reference.
  return losses.unification_flow(nets.discriminate_style(d_params['style_discriminator'], ctx['s1'], batch['y_trg']))


def _flow_nll(ctx, style_params, d_params, batch, k_aug, *, nets, config):  # The flow fits E(x, u); no gradient to E.
  s_org = ctx['s_org']
  log_p = nets.map_log_prob(style_params['mapping'], jax.lax.stop_gradient(s_org), batch['y_src'])
  return -jnp.mean(log_p) / s_org.shape[-1]


def _smooth(ctx, style_params, d_params, batch, k_aug, *, nets, config):  # METHOD.md's triplet loss.
  positive = nets.style(style_params['style_encoder'], losses.style_preserving_view(k_aug, batch['x_src']),
                        batch['y_src'])
  loss, _ = losses.hardest_negative_triplet(ctx['codes_src'], batch['y_src'], positive, config.smooth_margin)
  return loss


OPTIONAL_TERMS = (
    ('uni', 'lambda_uni', lambda c: c.lambda_uni > 0, _uni),
    ('uni_flow', 'lambda_uni', lambda c: c.lambda_uni > 0 and c.uni_target == 'both', _uni_flow),
    ('flow_nll', 'lambda_flow_nll', lambda c: c.lambda_flow_nll > 0, _flow_nll),
    ('smooth', 'lambda_smooth', lambda c: c.lambda_smooth > 0, _smooth),
)


def sty_codes(s_rec, s1, z1, style_params, y_trg, *, nets, config):
  """The pair L_sty compares: (E(G(x, s1)), s1), or with sty_space='z' (extension) both in the flow's base
  space, (F^-1(E(G(x, s1))), z1), where the flow's scale cancels."""
  if config.sty_space != 'z':
    return s_rec, s1
  to_z = lambda s: nets.map_inverse(style_params['mapping'], s, y_trg)
  return to_z(s_rec), (z1 if z1 is not None else to_z(s1))


def g_loss_latent(trainable, d_params, batch, z1, z2, k_aug, *, nets: Networks, config, lambda_ds):
  """The latent-guided G step's loss: g_loss on F(z1, u), F(z2, u) plus the optional terms."""
  style_params = trainable['style']
  s1, s2 = nets.map(style_params['mapping'], z1, batch['y_trg']), nets.map(style_params['mapping'], z2, batch['y_trg'])
  total, terms, ctx = g_loss(trainable['generator'], style_params, d_params, batch, s1, s2, nets=nets, config=config,
                             lambda_ds=lambda_ds, z1=z1)
  for name, weight, enabled, term in OPTIONAL_TERMS:
    if enabled(config):
      terms[name] = term(ctx, style_params, d_params, batch, k_aug, nets=nets, config=config)
      total = total + config[weight] * terms[name]
  return total, terms


# ------------------------------------------------------------------------------------------ the iteration


def domain_spread(codes, y, num_domains):
  """Mean over the batch's domains of the per-domain std of codes [B, D] (averaged over components): a
  training scalar that shows a collapsing style distribution while it happens."""
  one_hot = jax.nn.one_hot(y, num_domains)  # [B, K]
  count = one_hot.sum(0)  # [K]
  mean = (one_hot.T @ codes) / jnp.maximum(count, 1)[:, None]
  var = (one_hot.T @ jnp.square(codes)) / jnp.maximum(count, 1)[:, None] - jnp.square(mean)
  std = jnp.sqrt(jnp.maximum(var, 0.0)).mean(-1)  # [K]
  present = count > 1
  return jnp.sum(jnp.where(present, std, 0.0)) / jnp.maximum(present.sum(), 1)


def train_step(state: TrainState, batch, rng, hp=None, *, config, nets: Networks):
  """One iteration. batch: x_src, x_ref, x_ref2 [B, ...]; y_src, y_trg [B]. rng: the run's base key.
  hp: `hyperparameters(config)`, an input of the compiled step (None: the config's, as constants).

  Returns (new state, metrics). When any loss or gradient is not finite, the returned state is the
  input state (so a checkpoint never holds diverged parameters) and metrics['finite'] is False.
  """
  k_z1, k_z2, k_aug = jax.random.split(jax.random.fold_in(rng, state.step), 3)
  b, y_trg = batch['x_src'].shape[0], batch['y_trg']
  z1, z2 = jax.random.normal(k_z1, (b, nets.z_dim)), jax.random.normal(k_z2, (b, nets.z_dim))
  hp = hyperparameters(config) if hp is None else hp
  lam_ds = losses.lambda_ds(state.step, config.lambda_ds, config.ds_iter)
  p, metrics = state.params, {'lambda_ds': lam_ds}

  # 1-2. D steps, latent- then reference-guided fakes.
  s_lat = jax.lax.stop_gradient(nets.map(p['style']['mapping'], z1, y_trg))
  s_ref = jax.lax.stop_gradient(nets.style(p['style']['style_encoder'], batch['x_ref'], y_trg))
  metrics.update({'style/latent_spread': domain_spread(s_lat, y_trg, nets.num_domains),
                  'style/reference_spread': domain_spread(s_ref, y_trg, nets.num_domains)})
  d_params, d_opt = p['discriminator'], state.opt_state['discriminator']
  for name, s_fake in (('latent', s_lat), ('ref', s_ref)):
    grads, terms = jax.grad(d_loss, has_aux=True)(d_params, p['generator'], batch, s_fake, s_lat, s_ref, nets=nets,
                                                  config=config)
    d_params, d_opt = state.apply_gradients('discriminator', d_params, d_opt, grads, hp)
    metrics.update({f'D/{name}_{k}': v for k, v in terms.items()}, **{f'grad_norm/D_{name}': optax.global_norm(grads)})

  # 3. G step, latent-guided: the generator and the style tree.
  grads, terms = jax.grad(g_loss_latent, has_aux=True)(ema_trees(p), d_params, batch, z1, z2, k_aug, nets=nets,
                                                       config=config, lambda_ds=lam_ds)
  g_params, g_opt = state.apply_gradients('generator', p['generator'], state.opt_state['generator'], grads['generator'],
                                          hp)
  style_params, style_opt = state.apply_gradients('style', p['style'], state.opt_state['style'], grads['style'], hp)
  metrics.update({f'G/latent_{k}': v for k, v in terms.items()})
  metrics.update({'grad_norm/G_latent': optax.global_norm(grads['generator']),
                  'grad_norm/style': optax.global_norm(grads['style'])})

  # 4. G step, reference-guided: the generator only, with the updated style encoder's codes.
  s1, s2 = (nets.style(style_params['style_encoder'], batch[k], y_trg) for k in ('x_ref', 'x_ref2'))
  g_ref = lambda gp: g_loss(gp, style_params, d_params, batch, s1, s2, nets=nets, config=config, lambda_ds=lam_ds)[:2]
  grads, terms = jax.grad(g_ref, has_aux=True)(g_params)
  g_params, g_opt = state.apply_gradients('generator', g_params, g_opt, grads, hp)
  metrics.update({f'G/ref_{k}': v for k, v in terms.items()}, **{'grad_norm/G_ref': optax.global_norm(grads)})

  # 5. EMA, and the finiteness guard.
  new_params = {'generator': g_params, 'style': style_params, 'discriminator': d_params}
  ema = jax.tree_util.tree_map(lambda e, q: config.ema_decay * e + (1 - config.ema_decay) * q, state.ema,
                               ema_trees(new_params))
  new_state = state.replace(step=state.step + 1, params=new_params, ema=ema,
                            opt_state={'generator': g_opt, 'style': style_opt, 'discriminator': d_opt})
  finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in jax.tree_util.tree_leaves(metrics)]))
  metrics['finite'] = finite
  return jax.tree_util.tree_map(lambda new, old: jnp.where(finite, new, old), new_state, state), metrics

"""One DSS training iteration as a pure function: the state, the optimizers and the four sub-steps.

Schedule (StarGAN v2's, with DSS's additions):
  1. D step, latent-guided fakes      (updates D and D_s)
  2. D step, reference-guided fakes   (updates D and D_s)
  3. G step, latent-guided            (updates the generator and style trees: flow + style encoder,
                                       including L_uni and L_smooth on the style encoder; with the
                                       extensions uni_target='both' / lambda_flow_nll, on the flow too)
  4. G step, reference-guided         (updates the generator only)
  5. EMA of the generator and style trees.
A tree not trained in a sub-step never passes through its optimizer (Adam would move it anyway).

D_s sees, at every update, latent codes F(z, u) and reference codes E(x_ref, u) of the target domain.
The style encoder's unification and smoothness terms use the source images' codes E(x_src, y_src),
which the cycle loss computes anyway: every style-encoder output is a reference-based code.
"""

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from dss_jax import losses, models

PyTree = Any


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  # {'generator': G, 'style': {'mapping', 'style_encoder'}, 'discriminator': {'discriminator', 'style_discriminator'}}
  params: PyTree
  ema: PyTree  # {'generator': G, 'style': {...}}: the copies used for sampling and evaluation.
  opt_state: PyTree  # {'generator', 'style', 'discriminator'}


def _adam(config, lr):
  # Coupled L2 weight decay (added to the gradient before Adam), as torch's Adam(weight_decay=...).
  return optax.chain(optax.add_decayed_weights(config.weight_decay),
                     optax.scale_by_adam(b1=config.beta1, b2=config.beta2, eps=1e-8),
                     optax.scale(-lr))


def make_optimizers(config) -> dict[str, optax.GradientTransformation]:
  """Three optimizers; the mapping network keeps its own (smaller) learning rate inside 'style'."""
  style = optax.multi_transform(
      {'mapping': _adam(config, config.f_lr), 'style_encoder': _adam(config, config.lr)},
      lambda p: {k: jax.tree_util.tree_map(lambda _, k=k: k, v) for k, v in p.items()})
  return {'generator': _adam(config, config.lr), 'style': style, 'discriminator': _adam(config, config.lr)}


def init_state(config, nets: models.Models, rng) -> TrainState:
  p = models.init_params(nets, config, rng)
  params = {'generator': p['generator'],
            'style': {'mapping': p['mapping'], 'style_encoder': p['style_encoder']},
            'discriminator': {'discriminator': p['discriminator'], 'style_discriminator': p['style_discriminator']}}
  opts = make_optimizers(config)
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    ema={'generator': params['generator'], 'style': params['style']},
                    opt_state={name: opts[name].init(params[name]) for name in opts})


def _update(opt, opt_state, params, grads):
  updates, opt_state = opt.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state


def train_step(state: TrainState, batch, rng, *, config, nets: models.Models):
  """One iteration. batch: x_src, x_ref, x_ref2 [B, H, W, 3]; y_src, y_trg [B]. rng: the run's base key.

  Returns (new state, metrics). When any loss or gradient is not finite, the returned state is the
  input state (so a checkpoint never holds diverged parameters) and metrics['finite'] is False.
  """
  opts = make_optimizers(config)
  rng = jax.random.fold_in(rng, state.step)
  k_z1, k_z2, k_aug = jax.random.split(rng, 3)
  x_src, y_src = batch['x_src'], batch['y_src']
  x_ref, x_ref2, y_trg = batch['x_ref'], batch['x_ref2'], batch['y_trg']
  b, zdim = x_src.shape[0], models.latent_dim(config)
  z1, z2 = jax.random.normal(k_z1, (b, zdim)), jax.random.normal(k_z2, (b, zdim))
  lam_ds = losses.lambda_ds(state.step, config.lambda_ds, config.ds_iter)
  use_uni, use_smooth = config.lambda_uni > 0, config.lambda_smooth > 0
  uni_flow, use_nll = use_uni and config.uni_target == 'both', config.lambda_flow_nll > 0
  if config.uni_target not in ('encoder', 'both'):
    raise ValueError(f"config.uni_target must be 'encoder' or 'both' (got {config.uni_target!r}).")
  if use_nll and config.mapping != 'flow':
    raise ValueError('config.lambda_flow_nll needs the flow mapping (mapping="flow"): the MLP has no density.')
  if config.sty_space not in ('s', 'z'):
    raise ValueError(f"config.sty_space must be 's' or 'z' (got {config.sty_space!r}).")
  sty_z = config.sty_space == 'z'
  if sty_z and config.mapping != 'flow':
    raise ValueError("config.sty_space='z' needs the flow mapping (mapping=\"flow\"): the MLP has no inverse.")

  g_apply = lambda p, x, s: nets.generator.apply({'params': p}, x, s)
  f_apply = lambda p, z, y: nets.mapping.apply({'params': p}, z, y)
  e_apply = lambda p, x, y=None: nets.style_encoder.apply({'params': p}, x, y)
  d_apply = lambda p, x, y: nets.discriminator.apply({'params': p}, x, y)
  ds_apply = lambda p, s, y: nets.style_discriminator.apply({'params': p}, s, y)
  params, metrics = state.params, {}

  # ------------------------------------------------------------------ D steps (latent, reference)
  sp = params['style']
  s_lat = jax.lax.stop_gradient(f_apply(sp['mapping'], z1, y_trg))
  s_ref = jax.lax.stop_gradient(e_apply(sp['style_encoder'], x_ref, y_trg))

  def d_loss(dp, s_fake):
    x_fake = jax.lax.stop_gradient(g_apply(params['generator'], x_src, s_fake))
    r1, logits_real = losses.r1_penalty(lambda x: d_apply(dp['discriminator'], x, y_src), x_src)
    terms = {'real': losses.adv_real(logits_real),
             'fake': losses.adv_fake(d_apply(dp['discriminator'], x_fake, y_trg)), 'reg': r1}
    total = terms['real'] + terms['fake'] + config.lambda_reg * r1
    if use_uni:
      terms['uni'] = losses.unification_d(ds_apply(dp['style_discriminator'], s_lat, y_trg),
                                          ds_apply(dp['style_discriminator'], s_ref, y_trg))
      total = total + config.lambda_uni * terms['uni']
    return total, terms

  d_params, d_opt = params['discriminator'], state.opt_state['discriminator']
  for name, s_fake in (('latent', s_lat), ('ref', s_ref)):
    grads, terms = jax.grad(d_loss, has_aux=True)(d_params, s_fake)
    d_params, d_opt = _update(opts['discriminator'], d_opt, d_params, grads)
    metrics.update({f'D/{name}_{k}': v for k, v in terms.items()})
    metrics[f'grad_norm/D_{name}'] = optax.global_norm(grads)

  # ------------------------------------------------------------------ G step, latent-guided
  def g_terms(gp, style_p, s1, s2, z1=None):
    """Adversarial, style, diversity and cycle terms shared by both G steps (z1: s1's latent, when known)."""
    content, cache = nets.generator.apply({'params': gp}, x_src, method=models.Generator.encode)
    decode = lambda s: nets.generator.apply({'params': gp}, content, s, cache, method=models.Generator.decode)
    x_fake = decode(s1)
    x_fake2 = jax.lax.stop_gradient(decode(s2))
    codes_src = e_apply(style_p['style_encoder'], x_src)  # [B, K, D]
    s_org = models.layers.gather_domain(codes_src, y_src)
    x_rec = g_apply(gp, x_fake, s_org)
    s_rec = e_apply(style_p['style_encoder'], x_fake, y_trg)
    if sty_z:  # Extension: compare in the flow's base space, where the flow's scale cancels.
      to_z = lambda s: nets.mapping.apply({'params': style_p['mapping']}, s, y_trg, method=models.FlowMapping.inverse)
      s_rec, s1 = to_z(s_rec), (z1 if z1 is not None else to_z(s1))
    terms = {'adv': losses.adv_real(d_apply(d_params['discriminator'], x_fake, y_trg)),
             'sty': losses.l1(s_rec, s1),
             'ds': losses.l1(x_fake, x_fake2),
             'cyc': losses.l1(x_rec, x_src)}
    total = terms['adv'] + config.lambda_sty * terms['sty'] - lam_ds * terms['ds'] + config.lambda_cyc * terms['cyc']
    return total, terms, codes_src, s_org

  def g_loss_latent(trainable):
    gp, style_p = trainable['generator'], trainable['style']
    s1, s2 = f_apply(style_p['mapping'], z1, y_trg), f_apply(style_p['mapping'], z2, y_trg)
    total, terms, codes_src, s_org = g_terms(gp, style_p, s1, s2, z1)
    if use_uni:
      terms['uni'] = losses.unification_e(ds_apply(d_params['style_discriminator'], s_org, y_src))
      total = total + config.lambda_uni * terms['uni']
    if uni_flow:  # Extension: the flow's codes are pulled towards the reference codes as well.
      terms['uni_flow'] = losses.unification_flow(ds_apply(d_params['style_discriminator'], s1, y_trg))
      total = total + config.lambda_uni * terms['uni_flow']
    if use_nll:  # Extension: the flow fits the reference codes by maximum likelihood (no gradient to E).
      log_p = nets.mapping.apply({'params': style_p['mapping']}, jax.lax.stop_gradient(s_org), y_src,
                                 method=models.FlowMapping.log_prob)
      terms['flow_nll'] = -jnp.mean(log_p) / s_org.shape[-1]
      total = total + config.lambda_flow_nll * terms['flow_nll']
    if use_smooth:
      positive = e_apply(style_p['style_encoder'], losses.geometric_augment(k_aug, x_src), y_src)
      terms['smooth'], _ = losses.hardest_negative_triplet(codes_src, y_src, positive, config.smooth_margin)
      total = total + config.lambda_smooth * terms['smooth']
    return total, terms

  trainable = {'generator': params['generator'], 'style': params['style']}
  grads, terms = jax.grad(g_loss_latent, has_aux=True)(trainable)
  g_params, g_opt = _update(opts['generator'], state.opt_state['generator'], params['generator'], grads['generator'])
  style_params, style_opt = _update(opts['style'], state.opt_state['style'], params['style'], grads['style'])
  metrics.update({f'G/latent_{k}': v for k, v in terms.items()})
  metrics['grad_norm/G_latent'] = optax.global_norm(grads['generator'])
  metrics['grad_norm/style'] = optax.global_norm(grads['style'])

  # ------------------------------------------------------------------ G step, reference-guided
  s1 = e_apply(style_params['style_encoder'], x_ref, y_trg)
  s2 = e_apply(style_params['style_encoder'], x_ref2, y_trg)

  def g_loss_ref(gp):
    total, terms, _, _ = g_terms(gp, style_params, s1, s2)
    return total, terms

  grads, terms = jax.grad(g_loss_ref, has_aux=True)(g_params)
  g_params, g_opt = _update(opts['generator'], g_opt, g_params, grads)
  metrics.update({f'G/ref_{k}': v for k, v in terms.items()})
  metrics['grad_norm/G_ref'] = optax.global_norm(grads)
  metrics['lambda_ds'] = lam_ds

  # ------------------------------------------------------------------ EMA and the finiteness guard
  new_params = {'generator': g_params, 'style': style_params, 'discriminator': d_params}
  decay = config.ema_decay
  ema = jax.tree_util.tree_map(lambda e, p: decay * e + (1 - decay) * p, state.ema,
                               {'generator': g_params, 'style': style_params})
  new_state = TrainState(step=state.step + 1, params=new_params, ema=ema,
                         opt_state={'generator': g_opt, 'style': style_opt, 'discriminator': d_opt})
  finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in jax.tree_util.tree_leaves(metrics)]))
  new_state = jax.tree_util.tree_map(lambda new, old: jnp.where(finite, new, old), new_state, state)
  metrics['finite'] = finite
  return new_state, metrics


def sample_step(ema, x_src, x_ref, y_trg, z, *, nets: models.Models):
  """EMA translations for image grids: (reference-guided, latent-guided), each [B, H, W, 3]."""
  s_ref = nets.style_encoder.apply({'params': ema['style']['style_encoder']}, x_ref, y_trg)
  s_lat = nets.mapping.apply({'params': ema['style']['mapping']}, z, y_trg)
  g = lambda s: nets.generator.apply({'params': ema['generator']}, x_src, s)
  return g(s_ref), g(s_lat)

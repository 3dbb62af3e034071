"""The training state: one struct holding every parameter tree, optimizer state and EMA copy.

Layout of the trees (what train, inference, evaluation and the tools share):
  params    {'generator': G, 'style': {'mapping', 'style_encoder'},
             'discriminator': {'discriminator', 'style_discriminator'}}
  ema       {'generator', 'style'}: the copies used for sampling and evaluation
  opt_state {'generator', 'style', 'discriminator'}: one optax state per trained tree
  tx        the optimizers (static: part of the structure, not of the checkpoint), as flax's
            `TrainState.tx`; their learning rates arrive with each update (`hp`), so a resume that changes
            them reuses the compiled step. The mapping network keeps its own smaller one (f_lr) inside 'style'.

A workdir is compatible with a config when the abstract shapes of their states agree (`mismatch`).
"""

import dataclasses
import functools
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from dss_jax import models, workdir

PyTree = Any
TREES = ('generator', 'style', 'discriminator')


def _adam(lr, config):
  # Coupled L2 weight decay (added to the gradient before Adam), as torch's Adam(weight_decay=...).
  return optax.chain(optax.add_decayed_weights(config.weight_decay),
                     optax.scale_by_adam(b1=config.beta1, b2=config.beta2, eps=1e-8),
                     optax.scale(-lr))


# The learning rates are inputs of the compiled step (train_step.hyperparameters): a value, not a constant of
# the program, so a resume that changes one reuses the compiled step and its persistent-cache entry. They are
# the only ones: the same program with the betas or the loss weights as inputs rounds differently from the one
# with them as constants (XLA folds constants into chains of products and fuses differently), 373 and 389 of
# the 431 arrays of the tiny config's state differed after 3 steps, and stored results must stay reproducible
# bit for bit. A learning rate multiplies the update once, the same operation as a constant: identical bits.
LEARNING_RATES = ('lr', 'f_lr')


def _label_style_tree(p):
  return {k: jax.tree_util.tree_map(lambda _, k=k: k, v) for k, v in p.items()}


@dataclasses.dataclass(frozen=True)
class Optimizers:
  """The three optimizers, defined by their static hyperparameters (the learning rates come with each update:
  LEARNING_RATES): equal configs give equal (hashable) optimizers, whatever their learning rates, so states
  built from them share compiled steps."""
  beta1: float
  beta2: float
  weight_decay: float

  @classmethod
  def from_config(cls, config) -> 'Optimizers':
    return cls(float(config.beta1), float(config.beta2), float(config.weight_decay))

  def transform(self, tree: str, lrs=None) -> optax.GradientTransformation:
    """The optimizer of a tree ('generator' | 'style' | 'discriminator') with learning rates lrs ({'lr', 'f_lr'}:
    f32 scalars, traced in the step); without lrs, good for `init` only (the state holds no learning rate)."""
    lrs = lrs or dict.fromkeys(LEARNING_RATES, 0.0)
    if tree == 'style':
      return optax.multi_transform({'mapping': _adam(lrs['f_lr'], self), 'style_encoder': _adam(lrs['lr'], self)},
                                   _label_style_tree)
    if tree in ('generator', 'discriminator'):
      return _adam(lrs['lr'], self)
    raise KeyError(tree)


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: PyTree
  ema: PyTree
  opt_state: PyTree
  tx: Optimizers = flax.struct.field(pytree_node=False)

  def apply_gradients(self, tree: str, params, opt_state, grads, lrs):
    """One optimizer update of `tree` at learning rates lrs ({'lr', 'f_lr'}) -> (new params, optimizer state)."""
    updates, opt_state = self.tx.transform(tree, lrs).update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def group(flat: dict) -> dict:
  """Network name -> tree (`Networks.init`) into the state's three trees."""
  return {'generator': flat['generator'],
          'style': {'mapping': flat['mapping'], 'style_encoder': flat['style_encoder']},
          'discriminator': {'discriminator': flat['discriminator'],
                            'style_discriminator': flat['style_discriminator']}}


def ema_trees(params: dict) -> dict:
  """The trees that have EMA copies (the ones used for sampling)."""
  return {'generator': params['generator'], 'style': params['style']}


def init_state(config, nets: models.Networks, rng) -> TrainState:
  params = group(nets.init(rng))
  tx = Optimizers.from_config(config)
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, ema=ema_trees(params),
                    opt_state={name: tx.transform(name).init(params[name]) for name in TREES}, tx=tx)


def abstract_state(config, nets: models.Networks | None = None) -> TrainState:
  """The state's shapes and dtypes (no memory allocated)."""
  nets = nets or models.build(config)
  return jax.eval_shape(functools.partial(init_state, config, nets), jax.random.key(0))


def _shapes(config):
  state = abstract_state(config)
  leaves = jax.tree_util.tree_flatten_with_path(serialization_view(state))[0]
  return {jax.tree_util.keystr(path): (tuple(x.shape), str(x.dtype)) for path, x in leaves}


def serialization_view(state: TrainState) -> dict:
  """What a checkpoint stores: every array of the state (not the static optimizers)."""
  return flax.serialization.to_state_dict(state)


def mismatch(saved_config, config) -> list[str] | None:
  """None when a state written under saved_config restores into config's networks; else the config keys
  whose values differ and change the state's shapes (each tested alone), e.g. ['style_dim']."""
  target = _shapes(config)
  if _shapes(saved_config) == target:
    return None
  saved, current = flat_config(saved_config), flat_config(config)
  culprits = []
  for key in sorted(set(saved) | set(current)):
    if saved.get(key) == current.get(key) or key not in current:
      continue
    probe = config.copy_and_resolve_references()
    with probe.unlocked():
      _set(probe, key, saved.get(key))
    try:
      if _shapes(probe) != target:
        culprits.append(key)
    except (ValueError, TypeError, KeyError):  # A value the other config cannot build: it matters.
      culprits.append(key)
  return culprits or sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))


def flat_config(config) -> dict:
  """A config as {'dotted.key': value} (what hparams and the compatibility message name): `workdir.flat`, which
  main.py uses before JAX is imported."""
  return workdir.flat(config)


def _set(config, dotted, value):
  *parents, leaf = dotted.split('.')
  for p in parents:
    config = config[p]
  config[leaf] = value

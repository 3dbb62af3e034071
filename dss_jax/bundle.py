"""A trained model as three small files, and the model shipped with dss_jax.

A bundle is a folder holding what `inference.Translator` needs and nothing else:

  config.json   the run's config (as in its workdir)
  ema.msgpack   the EMA weights {'generator', 'style': {'mapping', 'style_encoder'}} (flax.serialization)
  model.json    where it comes from: the command that trained it, the commit, the steps, its measured figures
                and, on the synthetic data, what each style slider moves (measured against the true factors)

The package ships one: README's main job on the synthetic data (`SHIPPED`), which `python -m dss_jax.demo`
opens when no --workdir is given. `scripts/make_shipped_model.py` writes it from a finished run.

  t = bundle.load()                       # the shipped model, a Translator
  info = bundle.info()                    # its model.json
  bundle.write('my_bundle', translator, {'command': ...})
"""

import json
import os

import ml_collections
import numpy as np

SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'assets', 'synthetic_main')
FILES = ('config.json', 'ema.msgpack', 'model.json')


def info(path: str = SHIPPED) -> dict:
  """The bundle's model.json."""
  _check(path)
  with open(os.path.join(path, 'model.json')) as f:
    return json.load(f)


def _check(path: str):
  missing = [name for name in FILES if not os.path.exists(os.path.join(path, name))]
  if missing:
    if path == SHIPPED:
      raise FileNotFoundError(f'The shipped model is not in this installation ({SHIPPED} lacks {", ".join(missing)}): '
                              'reinstall dss_jax, or open a trained run with --workdir.')
    raise FileNotFoundError(f'{path!r} is not a dss_jax model bundle: it lacks {", ".join(missing)}.')


def load(path: str = SHIPPED, **kwargs):
  """The bundle's model as an `inference.Translator` (kwargs: its batch_size)."""
  from flax import serialization

  from dss_jax import inference
  from dss_jax.datasets import registry
  meta = info(path)
  with open(os.path.join(path, 'config.json')) as f:
    config = ml_collections.ConfigDict(registry.upgrade_config(json.load(f)))
  with open(os.path.join(path, 'ema.msgpack'), 'rb') as f:
    params = serialization.msgpack_restore(f.read())
  return inference.Translator(config, params, domains=meta.get('domains'), step=meta.get('steps'), **kwargs)


def write(path: str, translator, provenance: dict) -> str:
  """Writes translator's config and EMA weights, and provenance (with its domains and steps) as model.json,
  into `path` (written under a temporary name, then renamed: a bundle is complete or absent)."""
  import shutil

  import jax
  from flax import serialization
  params = jax.tree.map(np.asarray, jax.device_get(translator.params))
  meta = {'domains': list(translator.domains), 'steps': translator.step, **provenance}
  tmp = path.rstrip('/') + '.tmp'
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  with open(os.path.join(tmp, 'config.json'), 'w') as f:
    f.write(translator.config.to_json_best_effort(indent=1, sort_keys=True) + '\n')
  with open(os.path.join(tmp, 'ema.msgpack'), 'wb') as f:
    f.write(serialization.msgpack_serialize(params))
  with open(os.path.join(tmp, 'model.json'), 'w') as f:
    json.dump(meta, f, indent=1)
    f.write('\n')
  if os.path.exists(path):
    shutil.rmtree(path)
  os.replace(tmp, path)
  return path

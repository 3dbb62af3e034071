"""The `path:arg` argument of every config file: comma-separated words (big_vision's `parse_arg` style).

  --config=configs/synthetic.py:dss,tiny,lr=0.001,flow.num_bins=8

Each word is one of three kinds, applied in this order whatever the order written:
- a configuration (a name of configs/default.py VARIANTS: `stargan_v2`, `dss`, ...; at most one);
- a preset of the config file (its PRESETS, e.g. configs/synthetic.py's `tiny`: the networks and data the
  tests, the Colab notebook's TINY mode and docs use, written once);
- KEY=VALUE, a key of the config (dotted for nested ones) and a Python literal (`3`, `1e-3`, `True`, `(1, 2)`;
  anything else is a string), applied last, as `--config.KEY=VALUE` would be.

An argument of one configuration name is what it always was, so results recorded with it build the same
config (scripts/provenance.py compares the config a configuration builds now with the one a run recorded).
"""

import ast


def split(arg: str, presets) -> tuple[str, list[str], dict]:
  """(configuration, preset names, {key: value}) of `arg`; ValueError names a word that is none of them."""
  from configs import default
  variant, chosen, overrides = '', [], {}
  for word in (w.strip() for w in arg.split(',')):
    if not word:
      continue
    if '=' in word:
      key, _, text = word.partition('=')
      overrides[key.strip()] = _literal(text.strip())
    elif word in presets:
      chosen.append(word)
    elif word in default.VARIANTS:
      if variant:
        raise ValueError(f'Config argument {arg!r} names two configurations ({variant!r} and {word!r}); give one.')
      variant = word
    else:
      raise ValueError(f'Unknown word {word!r} in the config argument {arg!r}: a configuration '
                       f'({", ".join(default.VARIANTS)}), a preset ({", ".join(presets) or "none here"}) or '
                       'KEY=VALUE.')
  return variant, chosen, overrides


def _literal(text: str):
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def finalize(config, arg: str, presets=None):
  """The config file's config with `arg` applied: its configuration (default.finalize), then its presets,
  then its KEY=VALUE pairs (an unknown key is refused, with the nearest key named)."""
  from configs import default
  presets = presets or {}
  variant, chosen, overrides = split(arg, presets)
  config = default.finalize(config, variant)
  for name in chosen:
    presets[name](config)
  from dss_jax import workdir
  keys = workdir.flat(config)
  for key, value in overrides.items():
    if key not in keys:
      raise ValueError(workdir.unknown_key_sentence(key, config))
    if isinstance(keys[key], float) and isinstance(value, int):
      value = float(value)
    try:
      workdir.set_dotted(config, key, value)
    except TypeError as e:
      raise ValueError(f'{key}={value!r} in the config argument {arg!r}: {e}') from None
  return config

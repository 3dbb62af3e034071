"""The datasets of dss_jax, in one place: what `config.dataset` may be and what each one provides.

  from dss_jax.datasets import registry
  registry.domain_names(config)             # ['cat', 'dog', 'wild']: label order, checked against num_domains
  registry.arrays(config, 'test')           # the whole split in memory (synthetic), else None

Per dataset (`DATASETS`): its domain names, its in-memory splits where they exist, and the name of the
input pipeline's function that builds its tf.data source (input_pipeline looks it up). This module
imports no TensorFlow, no TFDS and not the input pipeline: asking a trained model its domain names, or
evaluating on the synthetic dataset (`eval_data.eval_batches`), never pays for them. The dataset keys of
the config (configs/default.py documents them):

  config.dataset            'synthetic' | 'folder' | 'afhq' | 'celeba_hq' | 'vector'
  config.afhq_version       'v1' | 'v2' (the TFDS builder config of 'afhq')
  config.synthetic.variant  'style_domains' | 'species'

`upgrade_config` maps the keys of older config.json files (`dataset_config`) onto these.
"""

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from dss_jax.datasets import afhq_configs, image_folder, synthetic, vector
from dss_jax.errors import DomainCountError


@dataclasses.dataclass(frozen=True)
class Dataset:
  """One value of config.dataset.

  domains: config -> domain names in label order (unchecked). describe: (config, names) -> how the
  count error names the dataset. source: the name of input_pipeline's function (config, split, shard) ->
  the dataset's tf.data source, or None for data made in memory only (the pipeline says so).
  arrays: (config, split) -> the whole split in memory, or None when the dataset has no such form.
  """
  name: str
  domains: Callable[..., list[str]]
  describe: Callable[..., str]
  source: str | None
  arrays: Callable[..., dict[str, np.ndarray]] | None = None
  train_iterator: Callable | None = None  # (config, seed) -> numpy training batches, for data made in memory.


# ------------------------------------------------------------------------------------------ config keys


def synthetic_variant(config) -> str:
  """config.synthetic.variant, checked ('style_domains' when unset)."""
  variant = config.synthetic.get('variant') or 'style_domains'
  if variant not in synthetic.VARIANTS:
    raise ValueError(f"For config.dataset='synthetic', config.synthetic.variant must be one of {synthetic.VARIANTS}, "
                     f'not {variant!r}.')
  return variant


def tfds_config_name(config) -> str:
  """The config of the TFDS builder `afhq`: config.afhq_version for 'afhq' (checked), 'celeba_hq' for CelebA-HQ."""
  if config.dataset == 'celeba_hq':
    return 'celeba_hq'
  version = config.get('afhq_version') or 'v1'
  if version not in afhq_configs.AFHQ_VERSIONS:
    raise ValueError(f"For config.dataset='afhq', config.afhq_version must be one of {afhq_configs.AFHQ_VERSIONS}, "
                     f'not {version!r}.')
  return version


def upgrade_config(raw: dict) -> dict:
  """A config dict as older runs wrote it (config.json) -> today's keys; `raw` is changed in place and returned.

  `dataset_config` meant the AFHQ version for 'afhq' and the synthetic variant for 'synthetic'.
  """
  if 'dataset_config' in raw:
    value = raw.pop('dataset_config')
    if raw.get('dataset') == 'synthetic':
      raw.setdefault('synthetic', {}).setdefault('variant', value or 'style_domains')
    elif raw.get('dataset', 'afhq') == 'afhq':
      raw.setdefault('afhq_version', value or 'v1')
  return raw


# ------------------------------------------------------------------------------------------ the datasets


def _synthetic_arrays(config, split):
  s = config.synthetic
  per_domain = s.train_per_domain if split == 'train' else s.test_per_domain
  return synthetic.load_split(s.n_style, synthetic_variant(config), split, per_domain, config.img_size)


DATASETS = {
    'synthetic': Dataset(
        'synthetic', lambda c: synthetic.domain_names(c.synthetic.n_style, synthetic_variant(c)),
        lambda c, names: f'the synthetic dataset with n_style={c.synthetic.n_style} (K = 2n+1)',
        source='synthetic_source', arrays=_synthetic_arrays),
    # find_domains checks the count itself, with the folder layout in its message.
    'folder': Dataset('folder', lambda c: image_folder.find_domains(c.data_dir, c.num_domains),
                      lambda c, names: f'{c.data_dir!r}', source='folder_source'),
    'afhq': Dataset('afhq', lambda c: list(afhq_configs.DOMAINS[tfds_config_name(c)]),
                    lambda c, names: f'afhq ({", ".join(names)})', source='tfds_source'),
    'vector': Dataset('vector', lambda c: [f'domain{k}' for k in range(c.num_domains)],
                      lambda c, names: 'the vector data', source=None,
                      train_iterator=lambda c, seed: vector.from_config(c).batches(c.batch_size, seed)),
    'celeba_hq': Dataset('celeba_hq', lambda c: list(afhq_configs.DOMAINS['celeba_hq']),
                         lambda c, names: f'celeba_hq ({", ".join(names)})', source='tfds_source'),
}


def get(config) -> Dataset:
  """The entry of config.dataset (ValueError naming the datasets otherwise)."""
  if config.dataset not in DATASETS:
    raise ValueError(f'config.dataset must be one of {tuple(DATASETS)}, not {config.dataset!r}. For your own images '
                     'use --config.dataset=folder --config.data_dir=/path/to/root --config.num_domains=K.')
  return DATASETS[config.dataset]


def domain_names(config) -> list[str]:
  """Domain names in label order; raises DatasetNotFoundError / DomainCountError with a plain message."""
  dataset = get(config)
  names = list(dataset.domains(config))
  if len(names) != config.num_domains:
    raise DomainCountError(f'{dataset.describe(config, names)} has {len(names)} domains but config.num_domains is '
                           f'{config.num_domains}: set --config.num_domains={len(names)}.')
  return names


def arrays(config, split: str) -> dict[str, np.ndarray] | None:
  """A whole split ('train' | 'test') in memory, read-only: dict(image float32 [N, H, W, 3] in [-1, 1],
  label int32 [N], ...) sorted by domain; None for datasets read through tf.data only."""
  dataset = get(config)
  if dataset.arrays is None:
    return None
  domain_names(config)
  return dataset.arrays(config, split)


def batches(data: dict[str, np.ndarray], batch_size: int) -> Iterator[dict[str, np.ndarray]]:
  """Consecutive batches (views) of in-memory arrays; the last one may be smaller."""
  for start in range(0, len(data['label']), batch_size):
    yield {key: value[start:start + batch_size] for key, value in data.items()}


def eval_split(split: str) -> str:
  """'train' | 'test' ('val' is accepted for 'test'); ValueError otherwise."""
  if split not in ('train', 'test', 'val'):
    raise ValueError(f"split must be 'train' or 'test', not {split!r}.")
  return 'test' if split == 'val' else split


__all__ = ['DATASETS', 'Dataset', 'arrays', 'batches', 'domain_names', 'eval_split', 'get',
           'synthetic_variant', 'tfds_config_name', 'upgrade_config']

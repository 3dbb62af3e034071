"""TFDS builder `synthetic`: the ground-truth dataset of `synthetic.py`, stored as TFDS records.

  import dss_jax.datasets.synthetic_builder, tensorflow_datasets as tfds   # registers the builder
  ds = tfds.load('synthetic/style_domains', split='test')   # rendered locally on first use, no download

Configs: `style_domains` and `species` (32 px, n_style = 2), `style_domains_64` / `species_64`
(64 px) and `style_domains_n3` (three style factors). Any other combination:
`tfds.builder('synthetic', config=SyntheticConfig(name='mine', variant='species', size=64, n_style=3))`.
Every example carries the image (uint8 PNG of `synthetic.render`), the domain label and the true
content and style factors. The records hold the same factors as `synthetic.load_split` with the same
seed, so the pipeline may read either; images agree after rounding to uint8.
"""

import inspect
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from dss_jax.datasets import synthetic
from dss_jax.images import to_uint8  # [-1, 1] float images -> uint8, as stored in the records.


class SyntheticConfig(tfds.core.BuilderConfig):
  """Variant, image size, number of style factors, split sizes and seed of the synthetic dataset."""

  def __init__(self, *, variant='style_domains', size=32, n_style=2, train_per_domain=2_000, test_per_domain=200,
               seed=0, **kwargs):
    kwargs.setdefault('version', tfds.core.Version(f'{synthetic.RENDER_VERSION}.0.0'))  # The renderer's.
    kwargs.setdefault('description', f'{variant}, {size} px, {n_style} style factors ({synthetic.num_domains(n_style)} '
                                     'domains).')
    super().__init__(**kwargs)
    self.variant, self.size, self.n_style = variant, size, n_style
    self.train_per_domain, self.test_per_domain, self.seed = train_per_domain, test_per_domain, seed


class Synthetic(tfds.core.GeneratorBasedBuilder):
  """Procedural images with known content and style factors (dss_jax.datasets.synthetic)."""

  BUILDER_CONFIGS: ClassVar[list[tfds.core.BuilderConfig]] = [
      SyntheticConfig(name='style_domains', variant='style_domains'),
      SyntheticConfig(name='species', variant='species'),
      SyntheticConfig(name='style_domains_64', variant='style_domains', size=64),
      SyntheticConfig(name='species_64', variant='species', size=64),
      SyntheticConfig(name='style_domains_n3', variant='style_domains', n_style=3),
  ]

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls):
    # TFDS's own lookup needs `importlib_resources` (an optional extra of etils), missing in some installs.
    return epath.Path(inspect.getfile(cls))

  def _info(self):
    c = self.builder_config
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(c.size, c.size, 3)),
            'label': tfds.features.ClassLabel(names=synthetic.domain_names(c.n_style, c.variant)),
            'content': tfds.features.Tensor(shape=(len(synthetic.CONTENT_NAMES),), dtype=np.float32),
            'style': tfds.features.Tensor(shape=(c.n_style,), dtype=np.float32),
        }),
        supervised_keys=('image', 'label'),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # rendered locally
    c = self.builder_config
    return {'train': self._generate_examples('train', c.train_per_domain),
            'test': self._generate_examples('test', c.test_per_domain)}

  def _generate_examples(self, split, per_domain):
    c = self.builder_config
    data = synthetic.load_split(c.n_style, c.variant, split, per_domain, c.size, c.seed)
    images = to_uint8(data['image'])
    for i in range(len(images)):
      yield i, {'image': images[i], 'label': int(data['label'][i]), 'content': data['content'][i],
                'style': data['style'][i]}

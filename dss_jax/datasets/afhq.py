"""TFDS builder `afhq`: AFHQ v1, AFHQ v2 and CelebA-HQ, from the archives StarGAN v2 publishes.

The archives cannot be downloaded by TFDS (they are on Dropbox behind StarGAN v2's `download.sh`), so
this is a manual-download builder. Once, outside Python:

  git clone https://github.com/clovaai/stargan-v2 && cd stargan-v2
  bash download.sh afhq-dataset         # AFHQ v1 -> data/afhq/{train,val}/{cat,dog,wild}/*.jpg
  bash download.sh afhq-v2-dataset      # AFHQ v2 -> {train,test}/{cat,dog,wild}/*.png
  bash download.sh celeba-hq-dataset    # CelebA-HQ -> data/celeba_hq/{train,val}/{female,male}/*.jpg

then point dss_jax at the folder that holds the extracted `train/` (or any folder above it):

  python -m dss_jax.main --config=configs/afhq.py --config.manual_dir=/path/to/stargan-v2/data/afhq ...

The first run prepares the TFDS records (images stored as the original encoded files); later runs
read them. Splits: 'train' (train/) and 'test' (the official val/ folder, or test/ for AFHQ v2).
Labels are the sorted domain-folder names, as StarGAN v2.
"""

import inspect
import os
from typing import ClassVar

import tensorflow_datasets as tfds
from etils import epath

from dss_jax.datasets import afhq_configs, image_folder
from dss_jax.errors import DatasetNotFoundError, DomainCountError

_CITATION_AFHQ = """@inproceedings{choi2020starganv2,
  title={StarGAN v2: Diverse Image Synthesis for Multiple Domains},
  author={Yunjey Choi and Youngjung Uh and Jaejun Yoo and Jung-Woo Ha},
  booktitle={CVPR}, year={2020}}"""

RELEASE_URL = 'https://github.com/clovaai/stargan-v2#datasets-and-pre-trained-networks'


class AfhqConfig(tfds.core.BuilderConfig):
  """One dataset of the family: its domains and the download.sh target that fetches it."""

  def __init__(self, *, domains, download_target, layout, **kwargs):
    super().__init__(version=tfds.core.Version('1.0.0'), **kwargs)
    self.domains = tuple(domains)
    self.download_target = download_target
    self.layout = layout


CONFIGS = {
    'v1': AfhqConfig(name='v1', description='AFHQ v1 (2020): 512 px JPEG, cat/dog/wild, ~16k images.',
                     domains=afhq_configs.DOMAINS['v1'], download_target='afhq-dataset',
                     layout='train/{cat,dog,wild}/*.jpg and val/{cat,dog,wild}/*.jpg'),
    'v2': AfhqConfig(name='v2', description='AFHQ v2 (2021): 512 px PNG (Lanczos-resized), cat/dog/wild.',
                     domains=afhq_configs.DOMAINS['v2'], download_target='afhq-v2-dataset',
                     layout='train/{cat,dog,wild}/*.png and test/{cat,dog,wild}/*.png (or val/)'),
    'celeba_hq': AfhqConfig(name='celeba_hq', description='CelebA-HQ as released with StarGAN v2: 1024 px JPEG.',
                            domains=afhq_configs.DOMAINS['celeba_hq'], download_target='celeba-hq-dataset',
                            layout='train/{female,male}/*.jpg and val/{female,male}/*.jpg'),
}

_TEST_FOLDERS = ('val', 'test')


def missing_data_message(config: AfhqConfig, manual_dir: str) -> str:
  """The plain-English explanation of where the files must be and how to get them."""
  return (
      f"The '{config.name}' dataset of the TFDS builder 'afhq' was not found in {manual_dir!r}. It needs the "
      f'extracted StarGAN v2 archive, laid out as {config.layout} (in that folder or one below it). Get it with '
      f'`bash download.sh {config.download_target}` from a clone of https://github.com/clovaai/stargan-v2 '
      f'(see {RELEASE_URL}), then point dss_jax at the extracted folder with '
      f'--config.manual_dir=/path/to/extracted (or, for tfds directly, '
      f'tfds.download.DownloadConfig(manual_dir=...)).')


def find_root(manual_dir: str, domains) -> str | None:
  """The folder under manual_dir (depth <= 3) whose train/ holds all the domain folders, or None."""
  if not manual_dir or not os.path.isdir(manual_dir):
    return None
  frontier = [manual_dir]
  for _ in range(4):
    next_frontier = []
    for folder in frontier:
      train = os.path.join(folder, 'train')
      if os.path.isdir(train) and all(os.path.isdir(os.path.join(train, d)) for d in domains):
        return folder
      try:
        children = sorted(os.listdir(folder))
      except OSError:
        continue
      next_frontier += [os.path.join(folder, c) for c in children
                        if not c.startswith('.') and os.path.isdir(os.path.join(folder, c))]
    frontier = next_frontier
  return None


class Afhq(tfds.core.GeneratorBasedBuilder):
  """AFHQ (v1, v2) and CelebA-HQ, StarGAN v2's benchmarks, from a manual download."""

  BUILDER_CONFIGS: ClassVar[list[tfds.core.BuilderConfig]] = list(CONFIGS.values())
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Extract the archive of StarGAN v2 (`bash download.sh afhq-dataset | afhq-v2-dataset | celeba-hq-dataset` '
      f'from https://github.com/clovaai/stargan-v2, see {RELEASE_URL}) into the manual_dir (or a folder below it), '
      'so that it holds train/<domain>/ and val/<domain>/ (AFHQ v2: test/<domain>/). With dss_jax: '
      '--config.manual_dir=/path/to/extracted.')

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls):
    # TFDS's own lookup needs `importlib_resources` (an optional extra of etils), missing in some installs.
    return epath.Path(inspect.getfile(cls))

  def _info(self):
    return self.dataset_info_from_configs(
        description=self.builder_config.description,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(None, None, 3)),
            'label': tfds.features.ClassLabel(names=list(self.builder_config.domains)),
            'file_name': tfds.features.Text(),
        }),
        supervised_keys=('image', 'label'),
        homepage=RELEASE_URL,
        citation=_CITATION_AFHQ,
    )

  def _split_generators(self, dl_manager):
    config = self.builder_config
    try:
      manual_dir = os.fspath(dl_manager.manual_dir)
    except Exception as e:  # TFDS asserts that the (default) manual dir exists and is not empty.
      where = str(getattr(dl_manager, '_manual_dir', None) or "TFDS's default manual dir (<data_dir>/downloads/manual)")
      raise DatasetNotFoundError(missing_data_message(config, where)) from e
    root = find_root(manual_dir, config.domains)
    if root is None:
      raise DatasetNotFoundError(missing_data_message(config, manual_dir))
    found = image_folder.list_domains(os.path.join(root, 'train'))
    if list(found) != list(config.domains):
      raise DomainCountError(
          f"{os.path.join(root, 'train')!r} holds the folders {found}, but '{config.name}' has the domains "
          f'{list(config.domains)}. For other domains use the image-folder dataset: --config.dataset=folder '
          f'--config.data_dir={root} --config.num_domains={len(found)}.')
    splits = {'train': self._generate_examples(os.path.join(root, 'train'))}
    for name in _TEST_FOLDERS:
      if os.path.isdir(os.path.join(root, name)):
        splits['test'] = self._generate_examples(os.path.join(root, name))
        break
    return splits

  def _generate_examples(self, directory):
    files = []
    for domain in self.builder_config.domains:
      files += [(p, domain) for p in image_folder.list_images(os.path.join(directory, domain))]
    readable = set(image_folder.filter_readable([p for p, _ in files], directory))
    for path, domain in files:
      if path in readable:
        name = os.path.relpath(path, directory)
        yield name, {'image': path, 'label': domain, 'file_name': name}

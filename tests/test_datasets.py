"""TFDS builders: `afhq` (v1, v2, celeba_hq) prepared from tiny fake manual dirs, and `synthetic`."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from configs import default
from dss_jax import input_pipeline as ip
from dss_jax.datasets import afhq, image_folder, synthetic, synthetic_builder  # (registers the TFDS builders)

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared', 'data',
                      'representative')


def write_tree(root, split, counts, seed=0, ext_cycle=('.jpg', '.png')):
  """root/split/<domain>/ with images whose dominant channel is the domain index; returns root."""
  rng = np.random.default_rng(seed)
  for d, (name, n) in enumerate(sorted(counts.items())):
    os.makedirs(os.path.join(root, split, name), exist_ok=True)
    for i in range(n):
      pixels = rng.integers(0, 60, (36, 36, 3))
      pixels[..., d % 3] += 180
      Image.fromarray(pixels.astype(np.uint8)).save(os.path.join(root, split, name, f'{i}{ext_cycle[i % 2]}'))
  return root


def prepare(name, manual_dir, data_dir):
  builder = tfds.builder(f'afhq/{name}', data_dir=str(data_dir))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
  return builder


def test_builders_are_registered():
  assert tfds.builder_cls('afhq') is afhq.Afhq and tfds.builder_cls('synthetic') is synthetic_builder.Synthetic
  assert [c.name for c in afhq.Afhq.BUILDER_CONFIGS] == ['v1', 'v2', 'celeba_hq']
  assert {'style_domains', 'species'} <= {c.name for c in synthetic_builder.Synthetic.BUILDER_CONFIGS}


@pytest.fixture(scope='module')
def afhq_v1(tmp_path_factory):
  """A fake extracted AFHQ v1 archive one folder below the manual dir (as download.sh leaves it), prepared."""
  manual = tmp_path_factory.mktemp('manual')
  root = manual / 'afhq'
  write_tree(root, 'train', {'cat': 4, 'dog': 3, 'wild': 2})
  write_tree(root, 'val', {'cat': 1, 'dog': 1, 'wild': 1}, seed=1)
  (root / 'train' / 'dog' / 'corrupt.jpg').write_bytes(b'\xff\xd8\xff garbage')  # skipped, with one warning
  data_dir = tmp_path_factory.mktemp('tfds')
  return prepare('v1', manual, data_dir), manual, data_dir


def test_afhq_prepared_from_fake_manual_dir(afhq_v1):
  builder, _, _ = afhq_v1
  assert builder.info.features['label'].names == ['cat', 'dog', 'wild']
  assert builder.info.splits['train'].num_examples == 9 and builder.info.splits['test'].num_examples == 3
  examples = list(builder.as_dataset(split='train').as_numpy_iterator())
  assert sorted(e['file_name'].decode() for e in examples)[:2] == ['cat/0.jpg', 'cat/1.png']
  for e in examples:
    assert e['image'].shape == (36, 36, 3) and e['image'].mean(axis=(0, 1)).argmax() == e['label']


def test_afhq_through_the_input_pipeline(afhq_v1):
  _, manual, data_dir = afhq_v1
  config = default.get_config()
  config.dataset, config.afhq_version, config.num_domains = 'afhq', 'v1', 3
  config.data_dir, config.manual_dir = str(data_dir), str(manual)
  config.img_size, config.batch_size, config.val_batch_size = 16, 6, 2
  assert ip.get_domains(config) == ['cat', 'dog', 'wild']
  it = ip.create_train_iterator(config, seed=0)
  batches = [next(it) for _ in range(8)]
  for b in batches:
    assert b['x_src'].shape == (6, 16, 16, 3) and -1 <= b['x_ref'].min() and b['x_ref2'].max() <= 1
    np.testing.assert_array_equal(b['x_src'].mean(axis=(1, 2)).argmax(-1), b['y_src'])
    np.testing.assert_array_equal(b['x_ref'].mean(axis=(1, 2)).argmax(-1), b['y_trg'])
    np.testing.assert_array_equal(b['x_ref2'].mean(axis=(1, 2)).argmax(-1), b['y_trg'])
  assert set(np.concatenate([b['y_trg'] for b in batches])) == {0, 1, 2}
  evals = list(ip.create_eval_iterator(config))
  assert [len(e['label']) for e in evals] == [2, 1] and sorted(np.concatenate([e['label'] for e in evals])) == [0, 1, 2]
  config.num_domains = 2
  with pytest.raises(ip.DomainCountError, match='has 3 domains but config.num_domains is 2'):
    ip.get_domains(config)


def test_afhq_v2_test_folder_and_celeba_hq(tmp_path):
  write_tree(tmp_path / 'v2', 'train', {'cat': 2, 'dog': 2, 'wild': 2}, ext_cycle=('.png', '.png'))
  write_tree(tmp_path / 'v2', 'test', {'cat': 1, 'dog': 1, 'wild': 1}, ext_cycle=('.png', '.png'))
  builder = prepare('v2', tmp_path / 'v2', tmp_path / 'tfds')
  assert builder.info.splits['test'].num_examples == 3  # AFHQ v2 names its held-out folder test/
  write_tree(tmp_path / 'celeba' / 'celeba_hq', 'train', {'female': 2, 'male': 1})
  builder = prepare('celeba_hq', tmp_path / 'celeba', tmp_path / 'tfds')
  assert builder.info.features['label'].names == ['female', 'male'] and builder.info.splits['train'].num_examples == 3
  assert 'test' not in builder.info.splits  # no val/ folder: train only


def test_missing_archive_error_names_layout_source_and_flag(tmp_path):
  (tmp_path / 'manual' / 'something_else').mkdir(parents=True)
  for manual in (tmp_path / 'manual', tmp_path / 'nowhere'):
    with pytest.raises(FileNotFoundError) as info:
      prepare('v1', manual, tmp_path / 'tfds')
    message = str(info.value)
    for expected in ('train/{cat,dog,wild}/*.jpg', 'val/', 'download.sh afhq-dataset',
                     'github.com/clovaai/stargan-v2', '--config.manual_dir='):
      assert expected in message, (expected, message)
  with pytest.raises(FileNotFoundError, match='download.sh celeba-hq-dataset'):
    prepare('celeba_hq', tmp_path / 'manual', tmp_path / 'tfds')
  # Through the pipeline: the same message, before TFDS is even asked.
  config = default.get_config()
  config.data_dir, config.manual_dir = str(tmp_path / 'tfds'), str(tmp_path / 'nowhere')
  with pytest.raises(ip.DatasetNotFoundError, match='download.sh afhq-dataset'):
    ip.create_train_iterator(config, seed=0)


def test_wrong_domain_folders_error(tmp_path):
  write_tree(tmp_path, 'train', {'cat': 1, 'dog': 1, 'wild': 1, 'zebra': 1})
  with pytest.raises(ValueError, match=r"'v1' has the domains \['cat', 'dog', 'wild'\].*--config.dataset=folder"):
    prepare('v1', tmp_path, tmp_path / 'tfds')


def test_find_root_on_real_layout():
  if not os.path.isdir(SHARED):
    pytest.skip(f'real AFHQ/CelebA-HQ JPEGs not found at {SHARED} (../shared is absent in this checkout)')
  # The representative images use src/ref rather than train/val: not a prepared archive.
  assert afhq.find_root(SHARED, ('cat', 'dog', 'wild')) is None
  assert image_folder.list_domains(os.path.join(SHARED, 'afhq', 'src')) == ['cat', 'dog', 'wild']


def test_synthetic_builder_matches_render(tmp_path):
  config = synthetic_builder.SyntheticConfig(name='tiny_species', variant='species', train_per_domain=3,
                                             test_per_domain=2, seed=5)
  builder = tfds.builder('synthetic', config=config, data_dir=str(tmp_path))
  builder.download_and_prepare()
  assert builder.info.features['label'].names == synthetic.domain_names(2, 'species')
  assert builder.info.splits['train'].num_examples == 15 and builder.info.splits['test'].num_examples == 10
  examples = list(builder.as_dataset(split='test').as_numpy_iterator())
  content = np.stack([e['content'] for e in examples])
  style = np.stack([e['style'] for e in examples])
  images = np.stack([e['image'] for e in examples])
  assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8
  np.testing.assert_array_equal(images, synthetic_builder.to_uint8(synthetic.render(content, style, 32)))
  np.testing.assert_array_equal(content[:, 0], np.array([e['label'] for e in examples]) % 5)
  stored = synthetic.load_split(2, 'species', 'test', per_domain=2, seed=5)
  assert sorted(map(tuple, style)) == sorted(map(tuple, stored['style']))


def test_synthetic_builder_default_configs_exist():
  builder = tfds.builder('synthetic/style_domains')
  assert builder.builder_config.size == 32 and builder.builder_config.n_style == 2
  assert builder.info.features['style'].shape == (2,)
  assert tfds.builder('synthetic/species_64').info.features['image'].shape == (64, 64, 3)

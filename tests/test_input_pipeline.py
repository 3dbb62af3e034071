"""Input pipeline on small folders made here (PNG, JPEG, a corrupt file), on the synthetic dataset and on real JPEGs."""

import logging
import os

import numpy as np
import pytest
import scipy.stats
from PIL import Image

from configs import default
from configs import synthetic as synthetic_config
from dss_jax import input_pipeline as ip
from dss_jax.datasets import image_folder, synthetic

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared', 'data',
                      'representative')


def write_image(path, domain, rng, size=(40, 48)):
  """An RGB image whose dominant channel is the domain index (so a transformed image still tells its domain)."""
  pixels = rng.integers(0, 60, (size[1], size[0], 3))
  pixels[..., domain] += 180
  Image.fromarray(pixels.astype(np.uint8)).save(path, quality=95)


def make_tree(root, counts, split='train', seed=0, corrupt=True):
  """root/split/<domain>/ with counts[d] images each, PNG and JPEG mixed; plus one corrupt and one empty file."""
  rng = np.random.default_rng(seed)
  names = sorted(counts)
  for d, name in enumerate(names):
    folder = os.path.join(root, split, name)
    os.makedirs(os.path.join(folder, 'sub'), exist_ok=True)
    for i in range(counts[name]):
      ext = '.png' if i % 2 else ('.JPG' if i % 3 == 0 else '.jpeg')
      where = folder if i % 4 else os.path.join(folder, 'sub')  # images may sit deeper below the domain folder
      write_image(os.path.join(where, f'{i:03d}{ext}'), d, rng)
    with open(os.path.join(folder, 'notes.txt'), 'w') as f:
      f.write('not an image, ignored')
  if corrupt:
    with open(os.path.join(root, split, names[0], 'broken.jpg'), 'wb') as f:
      f.write(b'\xff\xd8 this is not really a JPEG')
    open(os.path.join(root, split, names[-1], 'empty.png'), 'wb').close()
  return root


def folder_config(root, num_domains, img_size=16, batch_size=8):
  config = default.get_config()
  config.dataset, config.data_dir, config.num_domains = 'folder', str(root), num_domains
  config.img_size, config.batch_size, config.val_batch_size = img_size, batch_size, 7
  return config


def domain_of(images):
  """The dominant channel of each image: [B, H, W, 3] -> [B]."""
  return images.mean(axis=(1, 2)).argmax(-1)


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('folder'))
  make_tree(root, {'cats': 30, 'dogs': 6}, 'train')  # sizes 5:1
  make_tree(root, {'cats': 5, 'dogs': 4}, 'val', seed=1, corrupt=False)
  return root


@pytest.fixture(scope='module')
def batches(tree):
  it = ip.create_train_iterator(folder_config(tree, 2), seed=3)
  return [next(it) for _ in range(150)]


def test_domains_and_count_errors(tree, tmp_path):
  assert ip.get_domains(folder_config(tree, 2)) == ['cats', 'dogs']
  with pytest.raises(ip.DomainCountError, match=r'Found 2 domain folder\(s\).*config.num_domains is 3.*'
                                                r'--config.num_domains=2'):
    ip.get_domains(folder_config(tree, 3))
  with pytest.raises(ValueError):  # DomainCountError is a ValueError
    ip.create_train_iterator(folder_config(tree, 5), seed=0)
  with pytest.raises(ip.DatasetNotFoundError, match='needs config.data_dir'):
    ip.get_domains(folder_config('', 2))
  with pytest.raises(FileNotFoundError, match=r'No train/ folder in .*Expected layout: root/train/<domain>/'):
    ip.get_domains(folder_config(tmp_path, 2))
  os.makedirs(tmp_path / 'train')
  with pytest.raises(ip.DatasetNotFoundError, match='has no domain sub-folders'):
    ip.get_domains(folder_config(tmp_path, 2))
  config = folder_config(tree, 2)
  config.dataset = 'imagenet'
  with pytest.raises(ValueError, match=r"config.dataset must be one of .*--config.dataset=folder"):
    ip.get_domains(config)


def test_val_with_other_domains_is_an_error(tmp_path):
  make_tree(tmp_path, {'a': 2, 'b': 2}, 'train', corrupt=False)
  make_tree(tmp_path, {'a': 2, 'c': 2}, 'val', corrupt=False)
  with pytest.raises(ip.DomainCountError, match='differ from those of train/'):
    next(ip.create_eval_iterator(folder_config(tmp_path, 2)))


def test_corrupt_files_skipped_with_one_warning(tmp_path, caplog):
  make_tree(tmp_path, {'a': 4, 'b': 4}, 'train')
  with caplog.at_level(logging.WARNING, logger='dss_jax.data'):
    batch = next(ip.create_train_iterator(folder_config(tmp_path, 2), seed=0))
  warnings = [r for r in caplog.records if 'unreadable or corrupt' in r.getMessage()]
  assert len(warnings) == 1 and 'Skipped 2 unreadable or corrupt image file(s) of 10' in warnings[0].getMessage()
  assert batch['x_src'].shape == (8, 16, 16, 3)


def test_train_batch_shapes_and_range(batches):
  b = batches[0]
  assert set(b) == {'x_src', 'y_src', 'x_ref', 'x_ref2', 'y_trg'}
  for key in ('x_src', 'x_ref', 'x_ref2'):
    assert b[key].shape == (8, 16, 16, 3) and b[key].dtype == np.float32
    assert -1 <= b[key].min() and b[key].max() <= 1
  for key in ('y_src', 'y_trg'):
    assert b[key].shape == (8,) and b[key].dtype == np.int32


@pytest.mark.parametrize('key', ['y_src', 'y_trg'])
def test_domain_balanced_despite_5_to_1_sizes(batches, key):
  labels = np.concatenate([b[key] for b in batches])
  counts = np.bincount(labels, minlength=2)
  assert scipy.stats.chisquare(counts).pvalue > 1e-3, counts  # uniform over domains, not 5:1
  assert abs(counts[0] / counts.sum() - 0.5) < 0.06


def test_images_come_from_their_domains_and_refs_differ(batches):
  for b in batches:
    np.testing.assert_array_equal(domain_of(b['x_src']), b['y_src'])
    np.testing.assert_array_equal(domain_of(b['x_ref']), b['y_trg'])
    np.testing.assert_array_equal(domain_of(b['x_ref2']), b['y_trg'])
  x_ref = np.concatenate([b['x_ref'] for b in batches])
  x_ref2 = np.concatenate([b['x_ref2'] for b in batches])
  same = np.all(np.isclose(x_ref, x_ref2), axis=(1, 2, 3))
  assert same.mean() < 0.1
  # References are drawn fresh each step: the pair of a target domain changes over the run.
  assert len({x.tobytes() for x in x_ref}) > 30


def test_same_seed_same_batches(tree, batches):
  again = ip.create_train_iterator(folder_config(tree, 2), seed=3)
  other = ip.create_train_iterator(folder_config(tree, 2), seed=4)
  for i in range(3):
    a, o = next(again), next(other)
    for key in batches[i]:
      np.testing.assert_array_equal(a[key], batches[i][key])
    assert not np.array_equal(o['x_src'], batches[i]['x_src'])


def test_augmentation_crop_and_flip():
  import tensorflow as tf

  box = tf.function(ip._random_resized_crop_box)
  for i in range(200):  # crop boxes: area 80-100 %, aspect 0.9-1.1, inside the image
    top, left, ch, cw = (int(v) for v in box(tf.constant([48, 40, 3]), tf.constant([i, 7])))
    assert 0 <= top and top + ch <= 48 and 0 <= left and left + cw <= 40
    assert 0.79 <= ch * cw / (48 * 40) <= 1.0 and 0.85 <= cw / ch <= 1.15
  image = tf.random.stateless_uniform([20, 20, 3], [0, 0], -1, 1)
  transform = tf.function(lambda seed: ip.train_transform(image, seed, 20, randcrop_prob=0.5))
  flips = same = 0
  for i in range(100):
    out = transform(tf.constant([i, 1])).numpy()
    flips += np.array_equal(out, image.numpy()[:, ::-1])
    same += np.array_equal(out, image.numpy())
  assert 10 < flips < 45 and 10 < same < 45  # no crop (p .5) x flip or not (p .5 each)
  out = ip.train_transform(image, tf.constant([0, 1]), 10, randcrop_prob=0.0)
  assert out.shape == (10, 10, 3)


def test_eval_iterator_val_split_order_and_last_batch(tree):
  config = folder_config(tree, 2)
  batches = list(ip.create_eval_iterator(config, 'test'))
  assert [len(b['label']) for b in batches] == [7, 2]  # val/ has 9 images; val_batch_size 7
  labels = np.concatenate([b['label'] for b in batches])
  np.testing.assert_array_equal(labels, [0] * 5 + [1] * 4)
  images = np.concatenate([b['image'] for b in batches])
  assert images.shape == (9, 16, 16, 3) and images.dtype == np.float32 and -1 <= images.min() <= images.max() <= 1
  np.testing.assert_array_equal(domain_of(images), labels)
  again = np.concatenate([b['image'] for b in ip.create_eval_iterator(config, 'test')])
  np.testing.assert_array_equal(images, again)  # deterministic, no augmentation
  train = np.concatenate([b['label'] for b in ip.create_eval_iterator(config, 'train')])
  assert len(train) == 36


def test_eval_falls_back_to_train_without_val(tmp_path, caplog):
  make_tree(tmp_path, {'a': 3, 'b': 2}, 'train', corrupt=False)
  with caplog.at_level(logging.WARNING, logger='dss_jax.data'):
    labels = np.concatenate([b['label'] for b in ip.create_eval_iterator(folder_config(tmp_path, 2))])
  assert len(labels) == 5 and any('No val/ folder' in r.getMessage() for r in caplog.records)


def test_per_process_file_sharding(tree):
  source = ip._source(folder_config(tree, 2), 'train')
  import tensorflow as tf

  seen = []
  for process in range(2):
    stream = source.domain_stream(0, seed=0, process=process, count=2)
    seen.append({k.decode() for k, _ in stream.take(30).as_numpy_iterator()})
  assert len(seen[0]) == len(seen[1]) == 15 and not seen[0] & seen[1]
  assert tf.is_tensor(source.load(tf.constant(sorted(seen[0])[0])))


def test_batch_size_per_process(tree, monkeypatch):
  monkeypatch.setattr(ip.jax, 'process_count', lambda: 2)
  monkeypatch.setattr(ip.jax, 'process_index', lambda: 1)
  batch = next(ip.create_train_iterator(folder_config(tree, 2, batch_size=8), seed=0))
  assert batch['x_src'].shape[0] == 4
  with pytest.raises(ValueError, match='multiple of the number of processes'):
    ip.create_train_iterator(folder_config(tree, 2, batch_size=5), seed=0)


def test_load_image_folder_tree_and_flat(tree, tmp_path, caplog):
  images, labels, domains = ip.load_image_folder(os.path.join(tree, 'train'), 24)
  assert domains == ['cats', 'dogs'] and images.shape == (36, 24, 24, 3) and images.dtype == np.float32
  np.testing.assert_array_equal(labels, [0] * 30 + [1] * 6)
  np.testing.assert_array_equal(domain_of(images), labels)
  rng = np.random.default_rng(0)
  write_image(tmp_path / 'a.png', 1, rng)
  write_image(tmp_path / 'b.jpg', 2, rng)
  (tmp_path / 'c.jpg').write_bytes(b'garbage')
  with caplog.at_level(logging.WARNING, logger='dss_jax.data'):
    images, labels, domains = ip.load_image_folder(str(tmp_path), 8)
  assert images.shape == (2, 8, 8, 3) and domains == [] and list(labels) == [-1, -1]
  assert -1 <= images.min() and images.max() <= 1
  assert sum('Skipped 1 unreadable' in r.getMessage() for r in caplog.records) == 1
  with pytest.raises(FileNotFoundError, match='is not a folder'):
    ip.load_image_folder(str(tmp_path / 'nope'), 8)


# ------------------------------------------------------------------------------------------ synthetic

@pytest.fixture(scope='module')
def synthetic_cfg():
  config = synthetic_config.get_config()
  config.synthetic.train_per_domain, config.synthetic.test_per_domain = 60, 10
  config.batch_size = 10
  return config


def test_synthetic_train_iterator(synthetic_cfg):
  assert ip.get_domains(synthetic_cfg) == synthetic.domain_names(2)
  it = ip.create_train_iterator(synthetic_cfg, seed=0)
  batches = [next(it) for _ in range(60)]
  b = batches[0]
  assert b['x_src'].shape == (10, 32, 32, 3) and b['y_trg'].dtype == np.int32
  counts = np.bincount(np.concatenate([b['y_trg'] for b in batches]), minlength=5)
  assert scipy.stats.chisquare(counts).pvalue > 1e-3, counts
  # The references' background lightness follows the target domain's style distribution.
  data = synthetic.load_split(2, split='train', per_domain=60)
  corner = lambda x: x[:, 0, 0].mean(-1)  # background pixel (objects are central)
  x_ref, y_trg = np.concatenate([b['x_ref'] for b in batches]), np.concatenate([b['y_trg'] for b in batches])
  for d in range(5):
    stored, drawn = corner(data['image'][data['label'] == d]), corner(x_ref[y_trg == d])
    assert stored.min() - 0.02 <= drawn.min() and drawn.max() <= stored.max() + 0.02


def test_synthetic_counts_and_variant_checked(synthetic_cfg):
  config = synthetic_config.get_config()
  config.num_domains = 3
  with pytest.raises(ip.DomainCountError, match='has 5 domains but config.num_domains is 3'):
    ip.get_domains(config)
  config = synthetic_config.get_config()
  config.synthetic.variant = 'v1'
  with pytest.raises(ValueError, match="config.synthetic.variant must be one of"):
    ip.get_domains(config)
  config = default.get_config()
  config.afhq_version = 'style_domains'
  with pytest.raises(ValueError, match="config.afhq_version must be one of"):
    ip.get_domains(config)


def test_synthetic_eval_is_exact(synthetic_cfg):
  batches = list(ip.create_eval_iterator(synthetic_cfg))
  assert [len(b['label']) for b in batches] == [50]  # 5 x 10 test images, val_batch_size 64
  b = batches[0]
  assert set(b) == {'image', 'label', 'content', 'style'}
  np.testing.assert_array_equal(b['image'], synthetic.render(b['content'], b['style'], 32))


# ------------------------------------------------------------------------------------------ real JPEGs

@pytest.fixture(scope='module')
def real_root(tmp_path_factory):
  if not os.path.isdir(SHARED):
    pytest.skip(f'real AFHQ/CelebA-HQ JPEGs not found at {SHARED} (../shared is absent in this checkout)')
  root = tmp_path_factory.mktemp('real')
  os.symlink(os.path.join(SHARED, 'afhq', 'src'), root / 'train')
  os.symlink(os.path.join(SHARED, 'afhq', 'ref'), root / 'val')
  return str(root)


def test_real_afhq_jpegs_through_the_folder_pipeline(real_root):
  config = folder_config(real_root, 3, img_size=64, batch_size=6)
  assert ip.get_domains(config) == ['cat', 'dog', 'wild']
  b = next(ip.create_train_iterator(config, seed=0))
  assert b['x_src'].shape == (6, 64, 64, 3) and -1 <= b['x_ref'].min() and b['x_ref2'].max() <= 1
  assert b['x_src'].std() > 0.1  # real pictures, not blank
  images = np.concatenate([e['image'] for e in ip.create_eval_iterator(config)])
  assert images.shape[1:] == (64, 64, 3)
  assert len(images) == len(image_folder.list_images(os.path.join(real_root, 'val')))


def test_real_celeba_hq_load_image_folder(real_root):
  del real_root  # only for the skip
  images, labels, domains = ip.load_image_folder(os.path.join(SHARED, 'celeba_hq', 'src'), 32)
  assert domains == ['female', 'male'] and images.shape[1:] == (32, 32, 3) and set(labels) == {0, 1}
  images, labels, domains = ip.load_image_folder(os.path.join(SHARED, 'custom', 'female'), 32)
  assert domains == [] and list(labels) == [-1] * len(images)

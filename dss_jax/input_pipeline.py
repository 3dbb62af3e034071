"""Input pipelines: tf.data -> numpy batches for the training step and for evaluation.

Training (`create_train_iterator`), as StarGAN v2 with fresh reference pairs:
  * source images drawn domain-balanced (each domain equally likely, whatever its size: the
    reference's WeightedRandomSampler), with their labels y_src;
  * a target domain y_trg drawn uniformly and two references of it, x_ref and x_ref2, drawn fresh at
    every step (two consecutive draws of that domain's shuffled stream, so they differ unless the
    domain has one image; the reference fixes the pairs once per run);
  * the reference's training transforms on all three images: with probability config.randcrop_prob a
    random-resized crop (scale 0.8-1.0, ratio 0.9-1.1), resize to config.img_size (bilinear,
    anti-aliased), horizontal flip with p 0.5, values in [-1, 1];
  * each process reads its own 1/process_count of every domain's files, and yields
    config.batch_size // process_count examples per step; tf.data prefetches config.prefetch
    batches in background threads.
  Batches: dict(x_src [B, H, W, 3], y_src [B], x_ref, x_ref2 [B, H, W, 3], y_trg [B]); float32
  images in [-1, 1], int32 labels. Seeded: the same (data, seed, process) gives the same batches.

Evaluation (`create_eval_iterator`): resize only, deterministic order (by domain, then file; TFDS
records in their stored order), batches of config.val_batch_size (the last one may be smaller), not
sharded across processes: dict(image, label) and, for the synthetic dataset, the true `content` and
`style` factors (read-only views of the cached split).

Datasets (config.dataset, see `datasets.registry`): 'synthetic' (rendered in memory by
`datasets.synthetic.load_split`, no preparation), 'folder' (config.data_dir/train/<domain>/, see
`datasets.image_folder`), 'afhq' and 'celeba_hq' (the TFDS builder `afhq`, configs v1 / v2 (config.afhq_version)
/ celeba_hq, from config.manual_dir). The registry names this module's source function of each dataset
(`synthetic_source`, `folder_source`, `tfds_source`).
"""

import os
from collections.abc import Iterator

import jax
import numpy as np
import tensorflow as tf

from dss_jax.datasets import image_folder, registry
from dss_jax.datasets.image_folder import load_image_folder
from dss_jax.errors import DatasetNotFoundError, DomainCountError

__all__ = ['DatasetNotFoundError', 'DomainCountError', 'create_eval_iterator', 'create_train_iterator',
           'get_domains', 'load_image_folder']

DATASETS = tuple(registry.DATASETS)
CROP_SCALE = (0.8, 1.0)
CROP_RATIO = (0.9, 1.1)

try:  # tf.data must never take accelerator memory from JAX.
  tf.config.set_visible_devices([], 'GPU')
except RuntimeError:  # TF already initialised its devices: nothing to do.
  pass


# ------------------------------------------------------------------------------------------ domains

def get_domains(config) -> list[str]:
  """Domain names in label order; raises DatasetNotFoundError / DomainCountError with a plain message."""
  return registry.domain_names(config)


# ------------------------------------------------------------------------------------------ sources

class _Source:
  """Where a split's images come from: endless shuffled key streams per domain, an ordered eval stream of
  (key, label), and `load`, a tf function turning a key into a float32 [h, w, 3] image in [-1, 1].

  Keys are cheap to shuffle (file paths, row indices) or, for TFDS records, the encoded image bytes.
  """

  def __init__(self, num_domains, load, keys=None, tfds_dataset=None, shuffle_buffer=2_000):
    self.num_domains = num_domains
    self.load = load
    self.keys = keys  # one array per domain (folder, synthetic), or None (TFDS)
    self.tfds_dataset = tfds_dataset  # (shuffled?) -> tf.data.Dataset of (encoded image, label)
    self.shuffle_buffer = shuffle_buffer

  def domain_stream(self, domain: int, seed: int, process: int = 0, count: int = 1) -> tf.data.Dataset:
    """Endless (key, label) stream of one domain, reshuffled every epoch; this process's share only."""
    if self.keys is not None:
      keys = self.keys[domain]
      keys = keys[process::count] if len(keys) >= count else keys
      ds = tf.data.Dataset.from_tensor_slices(keys).shuffle(len(keys), seed=seed, reshuffle_each_iteration=True)
    else:  # TFDS records (already sharded by process): read, keep this domain, shuffle in a buffer.
      ds = self.tfds_dataset(seed).filter(lambda key, label: label == domain).map(lambda key, label: key)
      ds = ds.shuffle(self.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return ds.repeat().map(lambda key: (key, tf.constant(domain, tf.int32)))

  def ordered(self) -> tf.data.Dataset:
    """Every (key, label) of the split once, in a fixed order."""
    if self.keys is not None:
      keys = np.concatenate(self.keys)
      labels = np.concatenate([np.full(len(k), d, np.int32) for d, k in enumerate(self.keys)])
      return tf.data.Dataset.from_tensor_slices((keys, labels))
    return self.tfds_dataset(None)


def _decode(encoded):
  """Encoded image bytes -> float32 [h, w, 3] in [-1, 1] (TF's twin of images.from_uint8)."""
  image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  return tf.cast(image, tf.float32) / 127.5 - 1.0


def folder_source(config, split, shard=False) -> _Source:
  """config.data_dir/<split>/<domain>/ files (each process reads its share in `domain_stream`)."""
  del shard
  domains = get_domains(config)
  files, _ = image_folder.scan_split(config.data_dir, split, domains)
  return _Source(len(domains), lambda path: _decode(tf.io.read_file(path)), keys=[np.array(f) for f in files])


def synthetic_source(config, split, shard=False) -> _Source:
  """The in-memory split of `registry.arrays` (each process reads its share in `domain_stream`)."""
  del shard
  data = registry.arrays(config, split)
  images = tf.constant(data['image'])
  keys = [np.nonzero(data['label'] == d)[0].astype(np.int64) for d in range(config.num_domains)]
  return _Source(config.num_domains, lambda i: tf.gather(images, i), keys=keys)


def _tfds_builder(config):
  import tensorflow_datasets as tfds

  from dss_jax.datasets import afhq  # Registers the TFDS builder `afhq`.

  name = registry.tfds_config_name(config)
  builder = tfds.builder(f'afhq/{name}', data_dir=config.data_dir or None)
  if not builder.is_prepared():  # first use: write the TFDS records from the extracted archive
    if config.manual_dir and not os.path.isdir(config.manual_dir):
      raise DatasetNotFoundError(afhq.missing_data_message(afhq.CONFIGS[name], config.manual_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=config.manual_dir or None))
  return builder


def tfds_source(config, split, shard: bool | tuple[int, int] = False) -> _Source:
  """Encoded images and labels from the prepared `afhq` records (decoded later, in parallel). shard: read this
  process's 1/process_count of the records (True), or that of (process, count)."""
  import tensorflow_datasets as tfds

  get_domains(config)
  builder = _tfds_builder(config)
  if split not in builder.info.splits:
    raise DatasetNotFoundError(f"The prepared {builder.info.full_name} has no '{split}' split "
                               f'(it has {sorted(builder.info.splits)}): was val/ (or test/) missing from the archive?')
  process, count = shard if isinstance(shard, tuple) else (jax.process_index(), jax.process_count())
  if shard and count > 1:
    split = tfds.even_splits(split, n=count, drop_remainder=False)[process]

  def dataset(seed):
    ds = builder.as_dataset(split=split, decoders={'image': tfds.decode.SkipDecoding()}, shuffle_files=seed is not None,
                            read_config=tfds.ReadConfig(shuffle_seed=seed))
    return ds.map(lambda ex: (ex['image'], tf.cast(ex['label'], tf.int32)))

  return _Source(config.num_domains, _decode, tfds_dataset=dataset, shuffle_buffer=config.shuffle_buffer)


def _source(config, split, shard=False) -> _Source:
  """The source function the registry names for config.dataset (one of the three above)."""
  name = registry.get(config).source
  if name is None:
    raise ValueError(f'config.dataset={config.dataset!r} is made in memory: it has no tf.data source.')
  return globals()[name](config, split, shard)


# ------------------------------------------------------------------------------------------ transforms

def _resize(image, size: int):
  """Bilinear, anti-aliased (as PIL) resize to size x size; a no-op when the image already has that size."""
  shape = tf.shape(image)
  return tf.cond(tf.logical_and(shape[0] == size, shape[1] == size), lambda: image,
                 lambda: tf.image.resize(image, (size, size), method='bilinear', antialias=True))


def _random_resized_crop_box(shape, seed):
  """torchvision RandomResizedCrop.get_params: 10 tries of (area scale, log-uniform ratio), else the centre crop."""
  h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
  seeds = tf.random.experimental.stateless_split(seed, 4)
  area = h * w * tf.random.stateless_uniform([10], seeds[0], *CROP_SCALE)
  log_ratio = tf.random.stateless_uniform([10], seeds[1], np.log(CROP_RATIO[0]), np.log(CROP_RATIO[1]))
  ratio = tf.exp(log_ratio)
  cw, ch = tf.round(tf.sqrt(area * ratio)), tf.round(tf.sqrt(area / ratio))
  ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)
  first = tf.argmax(tf.cast(ok, tf.int32))
  # Fallback (no try fits): the largest centre crop whose ratio is within the range.
  ratio_in = w / h
  fw = tf.where(ratio_in < CROP_RATIO[0], w, tf.where(ratio_in > CROP_RATIO[1], tf.round(h * CROP_RATIO[1]), w))
  fh = tf.where(ratio_in < CROP_RATIO[0], tf.round(w / CROP_RATIO[0]), h)
  any_ok = tf.reduce_any(ok)
  cw, ch = tf.where(any_ok, cw[first], fw), tf.where(any_ok, ch[first], fh)
  u = tf.random.stateless_uniform([2], seeds[2])
  top = tf.where(any_ok, tf.floor(u[0] * (h - ch + 1)), tf.floor((h - ch) / 2))
  left = tf.where(any_ok, tf.floor(u[1] * (w - cw + 1)), tf.floor((w - cw) / 2))
  return tf.cast(top, tf.int32), tf.cast(left, tf.int32), tf.cast(ch, tf.int32), tf.cast(cw, tf.int32)


def train_transform(image, seed, img_size: int, randcrop_prob: float):
  """The reference's training transform. image: float32 [h, w, 3] in [-1, 1]; seed: int32 [2] (stateless)."""
  seeds = tf.random.experimental.stateless_split(seed, 3)
  u = tf.random.stateless_uniform([2], seeds[0])

  def crop():
    top, left, ch, cw = _random_resized_crop_box(tf.shape(image), seeds[1])
    return image[top:top + ch, left:left + cw]

  image = tf.cond(u[0] < randcrop_prob, crop, lambda: image)
  image = _resize(image, img_size)
  image = tf.cond(u[1] < 0.5, lambda: image[:, ::-1], lambda: image)
  image = tf.clip_by_value(image, -1.0, 1.0)
  image.set_shape([img_size, img_size, 3])
  return image


# ------------------------------------------------------------------------------------------ training

def _options():
  options = tf.data.Options()
  options.deterministic = True
  options.threading.private_threadpool_size = max(2, os.cpu_count() or 2)
  return options


def create_train_iterator(config, seed: int, *, process: int | None = None,
                          count: int | None = None) -> Iterator[dict[str, np.ndarray]]:
  """Endless training batches for this process (see the module docstring for keys and transforms).

  process, count: whose share to read (default: this process's, jax.process_index() of jax.process_count());
  a test reads every process's share in one process to rebuild the global batches.
  """
  process = jax.process_index() if process is None else process
  count = jax.process_count() if count is None else count
  batch = config.batch_size // count
  if batch < 1 or config.batch_size % count:
    raise ValueError(f'config.batch_size ({config.batch_size}) must be a positive multiple of the number of '
                     f'processes ({count}).')
  source = _source(config, 'train', shard=(process, count))
  k = source.num_domains
  stream_seeds = np.random.default_rng([seed, process]).integers(0, 2**31 - 1, size=2 * k + 3)
  weights = [1.0 / k] * k  # domain-balanced, whatever the domain sizes
  src = tf.data.Dataset.sample_from_datasets(
      [source.domain_stream(d, int(stream_seeds[d]), process, count) for d in range(k)], weights,
      seed=int(stream_seeds[2 * k]))
  pairs = [source.domain_stream(d, int(stream_seeds[k + d]), process, count).batch(2, drop_remainder=True)
           for d in range(k)]  # two consecutive draws of the target domain's stream
  ref = tf.data.Dataset.sample_from_datasets(pairs, weights, seed=int(stream_seeds[2 * k + 1]))
  aug_seed = int(stream_seeds[2 * k + 2])

  def load(index, src_elem, ref_elem):
    (src_key, y_src), (ref_keys, y_pair) = src_elem, ref_elem
    seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(aug_seed, tf.int64), index]), 3)
    transform = lambda img, s: train_transform(img, s, config.img_size, config.randcrop_prob)
    return {'x_src': transform(source.load(src_key), seeds[0]), 'y_src': y_src,
            'x_ref': transform(source.load(ref_keys[0]), seeds[1]),
            'x_ref2': transform(source.load(ref_keys[1]), seeds[2]), 'y_trg': y_pair[0]}

  ds = tf.data.Dataset.zip(tf.data.Dataset.counter(), src, ref)
  ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  ds = ds.ignore_errors(log_warning=True)  # a file that passed the header check but fails to decode is skipped
  ds = ds.batch(batch, drop_remainder=True).prefetch(max(1, config.prefetch))
  return iter(ds.with_options(_options()).as_numpy_iterator())


# ------------------------------------------------------------------------------------------ evaluation

def create_eval_iterator(config, split: str = 'test') -> Iterator[dict[str, np.ndarray]]:
  """Every image of a split once, in a fixed order, resized to config.img_size (no augmentation).

  Yields dict(image float32 [b, H, W, 3] in [-1, 1], label int32 [b]) (+ content, style for the
  synthetic dataset), b = config.val_batch_size except maybe for the last batch. 'test' is the val/
  folder (test/ for AFHQ v2) of folder datasets and AFHQ / CelebA-HQ; 'train' is also accepted.
  """
  split = registry.eval_split(split)
  data = registry.arrays(config, split)
  if data is not None:  # In memory (synthetic): the arrays themselves.
    return registry.batches(data, config.val_batch_size)
  source = _source(config, split, shard=False)
  ds = source.ordered()

  def load(key, label):
    image = tf.clip_by_value(_resize(source.load(key), config.img_size), -1.0, 1.0)
    image.set_shape([config.img_size, config.img_size, 3])
    return {'image': image, 'label': label}

  ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  ds = ds.ignore_errors(log_warning=True)  # a file that passed the header check but fails to decode is skipped
  ds = ds.batch(config.val_batch_size).prefetch(max(1, config.prefetch))
  return iter(ds.with_options(_options()).as_numpy_iterator())

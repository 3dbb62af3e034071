"""Your own images as a dataset: a `train/<domain>/` tree (optionally `val/<domain>/`), no TensorFlow.

  python -m dss_jax.main --config=configs/afhq.py --config.dataset=folder \
      --config.data_dir=/path/to/root --config.num_domains=K --workdir=runs/mine

Layout, as StarGAN v2: `root/train/<domain>/**/*.jpg|jpeg|png|bmp|gif` (any depth below the domain
folder, any case of the extension) and optionally the same under `root/val/` for evaluation. Domains
are the sorted sub-folder names of `train/`; their number must equal config.num_domains. Unreadable
or corrupt images are skipped and counted in one warning per scan of a split; without val/, a warning
says that train/ stands in for it. (A run scans a split more than once; the programs print each warning
once: `console.OncePerWarning`.)

`load_image_folder` reads a folder of images into memory (for `--mode=sample --src_dir ...`): a
`<domain>/` tree, or a flat folder of images (label -1).
"""

import concurrent.futures
import logging
import os

import numpy as np
from PIL import Image

from dss_jax import images as imglib
from dss_jax.errors import DatasetNotFoundError, DomainCountError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif')
FOLDER_LAYOUT = 'root/train/<domain>/*.jpg|png (one sub-folder per domain; optionally root/val/<domain>/ too)'

logger = logging.getLogger('dss_jax.data')


def is_image_file(name: str) -> bool:
  return name.lower().endswith(IMAGE_EXTENSIONS) and not os.path.basename(name).startswith('.')


def list_domains(split_dir: str) -> list[str]:
  """Sorted names of the (non-hidden) sub-folders of split_dir: the domains, in label order."""
  return sorted(d for d in os.listdir(split_dir) if not d.startswith('.') and os.path.isdir(os.path.join(split_dir, d)))


def list_images(directory: str) -> list[str]:
  """All image files below directory (recursively), sorted, as paths."""
  found = []
  for dirpath, dirnames, filenames in os.walk(directory, followlinks=True):
    dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
    found.extend(os.path.join(dirpath, f) for f in filenames if is_image_file(f))
  return sorted(found)


def _inspect(path: str) -> bool | None:
  """Cheap check that path is an image PIL can parse (header and, for PNG, chunk checksums): None when it is
  not, else whether it has an alpha channel (RGBA, LA, or a palette with transparency)."""
  try:
    if os.path.getsize(path) == 0:
      return None
    with Image.open(path) as image:
      alpha = image.mode in ('RGBA', 'LA', 'PA') or (image.mode == 'P' and 'transparency' in image.info)
      image.verify()
    return alpha
  except Exception:  # noqa: BLE001 - any failure to parse means "skip this file".
    return None


def filter_readable(paths: list[str], what: str) -> list[str]:
  """The paths PIL can parse; the others are dropped with ONE warning that counts them. Images with an alpha
  channel get one warning too: training reads their colour channels only (transparent pixels keep whatever
  colour they store), docs/datasets.md."""
  with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
    found = list(pool.map(_inspect, paths))
  bad = [p for p, alpha in zip(paths, found) if alpha is None]
  if bad:
    examples = ', '.join(bad[:3]) + (', ...' if len(bad) > 3 else '')
    logger.warning('Skipped %d unreadable or corrupt image file(s) of %d in %s: %s', len(bad), len(paths), what,
                   examples)
  transparent = [p for p, alpha in zip(paths, found) if alpha]
  if transparent:
    examples = ', '.join(transparent[:3]) + (', ...' if len(transparent) > 3 else '')
    logger.warning('%d image(s) of %d in %s have an alpha channel, which is dropped: their transparent pixels '
                   'show the colour stored under them (docs/datasets.md): %s', len(transparent), len(paths), what,
                   examples)
  return [p for p, alpha in zip(paths, found) if alpha is not None]


def check_num_domains(domains: list[str], num_domains: int | None, where: str) -> None:
  if num_domains is not None and len(domains) != num_domains:
    raise DomainCountError(
        f'Found {len(domains)} domain folder(s) in {where} ({", ".join(domains) or "none"}) but '
        f'config.num_domains is {num_domains}. Set --config.num_domains={len(domains)} or fix the folders '
        f'(expected layout: {FOLDER_LAYOUT}).')


def find_domains(root: str, num_domains: int | None = None) -> list[str]:
  """Domains of the folder dataset at root (sorted sub-folders of root/train), checked against num_domains."""
  if not root:
    raise DatasetNotFoundError(
        f"config.dataset='folder' needs config.data_dir, the root of your images laid out as {FOLDER_LAYOUT}: "
        '--config.data_dir=/path/to/root')
  train_dir = os.path.join(root, 'train')
  if not os.path.isdir(train_dir):
    raise DatasetNotFoundError(
        f'No train/ folder in {root!r} (config.data_dir). Expected layout: {FOLDER_LAYOUT}.')
  domains = list_domains(train_dir)
  if not domains:
    raise DatasetNotFoundError(f'{train_dir!r} has no domain sub-folders. Expected layout: {FOLDER_LAYOUT}.')
  check_num_domains(domains, num_domains, train_dir)
  return domains


def _no_val_note(root: str) -> None:
  logger.warning('No val/ folder in %s: the sample grids and the evaluation use train/ instead '
                 '(docs/datasets.md).', root)


def split_dir(root: str, split: str) -> str:
  """The folder of a split: 'train' -> root/train; 'test'/'val' -> root/val (root/train when absent)."""
  if split == 'train':
    return os.path.join(root, 'train')
  if split not in ('test', 'val'):
    raise ValueError(f"split must be 'train', 'test' or 'val', not {split!r}.")
  val = os.path.join(root, 'val')
  if os.path.isdir(val):
    return val
  _no_val_note(root)
  return os.path.join(root, 'train')


def scan_split(root: str, split: str, domains: list[str]) -> tuple[list[list[str]], list[str]]:
  """Readable image paths of each domain of a split: (files per domain, domains).

  The split's domain folders must be the same as train's (StarGAN v2 asserts the same count).
  """
  directory = split_dir(root, split)
  if split == 'train' and not os.path.isdir(os.path.join(root, 'val')):
    _no_val_note(root)  # Said when training starts, not only at the first evaluation.
  found = list_domains(directory)
  if found != domains:
    raise DomainCountError(
        f'The domain folders of {directory!r} ({", ".join(found) or "none"}) differ from those of train/ '
        f'({", ".join(domains)}). Every split needs the same <domain>/ sub-folders.')
  files = []
  for domain in domains:
    paths = list_images(os.path.join(directory, domain))
    files.append(paths)
  flat = filter_readable([p for paths in files for p in paths], directory)
  keep = set(flat)
  files = [[p for p in paths if p in keep] for paths in files]
  empty = [d for d, paths in zip(domains, files) if not paths]
  if empty:
    raise DatasetNotFoundError(
        f'No readable images ({", ".join(IMAGE_EXTENSIONS)}) in domain folder(s) {", ".join(empty)} of '
        f'{directory!r}.')
  single = [d for d, paths in zip(domains, files) if len(paths) == 1]
  if single and split == 'train':
    logger.warning('Domain(s) %s of %s have a single training image: every batch repeats it, and its style codes '
                   'can only learn that image (docs/datasets.md).', ', '.join(single), directory)
  return files, domains


def _load(path: str, img_size: int) -> np.ndarray | None:
  try:
    return imglib.load_image(path, img_size)
  except (FileNotFoundError, ValueError):  # unreadable: counted and skipped by the caller.
    return None


def load_image_folder(path: str, img_size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
  """Reads every image below path, resized to img_size: (images float32 [N, H, W, 3] in [-1, 1],
  labels int32 [N], domains).

  A folder with sub-folders is a `<domain>/` tree (label = index of the sorted sub-folder name); a
  flat folder of images gives label -1 and domains []. Unreadable files are skipped with one warning.
  """
  if not os.path.isdir(path):
    raise DatasetNotFoundError(f'{path!r} is not a folder. Give a folder of images, or of <domain>/ folders of images.')
  domains = list_domains(path)
  if domains:
    entries = [(p, label) for label, d in enumerate(domains) for p in list_images(os.path.join(path, d))]
  else:
    entries = [(os.path.join(path, f), -1) for f in sorted(os.listdir(path)) if is_image_file(f)]
  if not entries:
    raise DatasetNotFoundError(f'No images ({", ".join(IMAGE_EXTENSIONS)}) found in {path!r}.')
  with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
    loaded = list(pool.map(lambda entry: _load(entry[0], img_size), entries))
  bad = [p for (p, _), image in zip(entries, loaded) if image is None]
  if bad:
    logger.warning('Skipped %d unreadable or corrupt image file(s) of %d in %s: %s', len(bad), len(entries), path,
                   ', '.join(bad[:3]) + (', ...' if len(bad) > 3 else ''))
  good = [(image, label) for image, (_, label) in zip(loaded, entries) if image is not None]
  if not good:
    raise DatasetNotFoundError(f'None of the {len(entries)} image files in {path!r} could be read.')
  images = np.stack([image for image, _ in good]).astype(np.float32)
  labels = np.array([label for _, label in good], np.int32)
  return images, labels, domains

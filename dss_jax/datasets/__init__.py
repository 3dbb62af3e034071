"""Datasets of dss_jax. Importing this package registers the TFDS builders `afhq` and `synthetic`.

  import dss_jax.datasets  # noqa: F401
  tfds.builder('afhq/v2', config=None)            # AFHQ v1 / v2 / CelebA-HQ (manual download)
  tfds.builder('synthetic/style_domains')          # the ground-truth benchmark (rendered locally)

Modules: `synthetic` (pure numpy factors and `render`), `synthetic_builder`, `afhq`, `image_folder`
(your own `train/<domain>/` tree; no TensorFlow). Registering costs only the `tensorflow_datasets`
import (about 0.5 s; TensorFlow itself is imported when a dataset is built or read).
"""

from dss_jax.datasets import afhq, synthetic_builder  # noqa: F401  (registers the builders)

"""Evaluation data: every image of a split once, in a fixed order, with TensorFlow only where it is needed.

`eval_batches` serves evaluation and sampling. A dataset made in memory (synthetic) is read from its
arrays (`datasets.registry.arrays`), so evaluating on it never imports TensorFlow; the others go through
`input_pipeline.create_eval_iterator` (tf.data). It sits above both so that the registry (TF-free) never
imports the input pipeline, which imports the registry.
"""

from collections.abc import Iterator

import numpy as np

from dss_jax.datasets import registry


def eval_batches(config, split: str = 'test') -> Iterator[dict[str, np.ndarray]]:
  """Every image of a split once, in a fixed order, in batches of config.val_batch_size: dict(image, label)
  (+ content, style for the synthetic dataset). 'val' is accepted for 'test'."""
  data = registry.arrays(config, registry.eval_split(split))
  if data is not None:
    return registry.batches(data, config.val_batch_size)
  from dss_jax import input_pipeline  # TensorFlow.
  return input_pipeline.create_eval_iterator(config, split)


__all__ = ['eval_batches']

"""Each loss term against hand-made inputs with known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dss_jax import losses


def test_r1_against_an_analytic_linear_discriminator():
  # D(x) = <w, x> per sample: the gradient is w for every sample, so R1 = 0.5 * sum(w^2).
  w = jax.random.normal(jax.random.key(0), (4, 4, 3))
  x = jax.random.normal(jax.random.key(1), (5, 4, 4, 3))
  penalty, logits = losses.r1_penalty(lambda x: jnp.sum(x * w, axis=(1, 2, 3)), x)
  np.testing.assert_allclose(penalty, 0.5 * jnp.sum(w**2), rtol=1e-5)
  np.testing.assert_allclose(logits, jnp.sum(x * w, axis=(1, 2, 3)), rtol=1e-5)
  # D(x) = 0.5 * ||x||^2: the gradient is x itself, so R1 = 0.5 * mean_b ||x_b||^2; and it is differentiable.
  penalty, _ = losses.r1_penalty(lambda x: 0.5 * jnp.sum(x**2, axis=(1, 2, 3)), x)
  np.testing.assert_allclose(penalty, 0.5 * jnp.mean(jnp.sum(x**2, axis=(1, 2, 3))), rtol=1e-5)
  scale_grad = jax.grad(lambda a: losses.r1_penalty(lambda x: a * jnp.sum(x * w, axis=(1, 2, 3)), x)[0])(2.0)
  np.testing.assert_allclose(scale_grad, 2.0 * jnp.sum(w**2), rtol=1e-5)  # d/da 0.5 a^2 |w|^2.


def test_adversarial_signs_and_values():
  confident_real, confident_fake = jnp.full((4,), 10.0), jnp.full((4,), -10.0)
  assert losses.adv_real(confident_real) < 1e-4 and losses.adv_real(confident_fake) > 9.9
  assert losses.adv_fake(confident_fake) < 1e-4 and losses.adv_fake(confident_real) > 9.9
  np.testing.assert_allclose(losses.adv_real(jnp.zeros(3)), np.log(2), rtol=1e-6)
  np.testing.assert_allclose(losses.adv_fake(jnp.zeros(3)), np.log(2), rtol=1e-6)


def test_unification_losses():
  # D_s is right (latent high, reference low): its loss is small and the encoder's is large.
  high, low = jnp.full((4,), 8.0), jnp.full((4,), -8.0)
  assert losses.unification_d(high, low) < 1e-3
  assert losses.unification_e(low) > 7.9
  # The encoder lowers its loss by making its codes look latent (raising D_s's logit).
  assert jax.grad(losses.unification_e)(jnp.zeros(4)).max() < 0


def test_l1_and_lambda_ds_schedule():
  np.testing.assert_allclose(losses.l1(jnp.ones(4), jnp.zeros(4)), 1.0)
  for step in (0, 1, 250, 999, 1000, 1500):
    expected = 2.0 * max(0.0, 1.0 - step / 1000)
    np.testing.assert_allclose(losses.lambda_ds(step, 2.0, 1000), expected, atol=1e-6)


def test_triplet_picks_the_hardest_negative_under_the_anchors_head():
  # 4 images, 2 domains, 2-d codes. Under head 0, image 2 is closest to anchor 0; under head 1,
  # image 3 would be, but anchor 0 has domain 0, so image 2 must be chosen.
  codes = jnp.zeros((4, 2, 2))
  codes = codes.at[:, 0].set(jnp.array([[0., 0.], [5., 0.], [1., 0.], [3., 0.]]))
  codes = codes.at[:, 1].set(jnp.array([[0., 0.], [5., 0.], [4., 0.], [0.5, 0.]]))
  y = jnp.array([0, 0, 1, 1])
  positive = jnp.array([[0.2, 0.], [5., 0.], [4., 0.], [3., 0.]])  # anchors' augmentations
  loss, negative = losses.hardest_negative_triplet(codes, y, positive, margin=1.0)
  assert int(negative[0]) == 2  # |0 - 1| under head 0.
  assert int(negative[2]) == 1  # Image 2 under head 1 is 4: nearest other is image 1 (5), not itself.
  # Anchor 0: max(1 + 0.2 - 1, 0) = 0.2. Anchor 1 (head 0, code 5): nearest other = image 3 (3): 1 + 0 - 2 < 0.
  # Anchor 2 (head 1, code 4): pos 0, neg |4 - 5| = 1: 1 + 0 - 1 = 0. Anchor 3 (head 1, code .5): pos 2.5,
  # nearest other under head 1 is image 0 (0): 1 + 2.5 - 0.5 = 3.
  np.testing.assert_allclose(loss, (0.2 + 0 + 0 + 3.0) / 4, rtol=1e-5)


@pytest.mark.parametrize('seed', [0, 1])
def test_geometric_augment_keeps_colours_and_moves_pixels(seed):
  # A two-colour image: augmentation moves the boundary but never invents a new colour.
  x = jnp.zeros((2, 16, 16, 3)).at[:, :, :8].set(jnp.array([0.8, -0.2, 0.1]))
  x = x.at[:, :, 8:].set(jnp.array([-0.5, 0.4, 0.9]))
  y = losses.geometric_augment(jax.random.key(seed), x)
  assert y.shape == x.shape
  lo, hi = jnp.minimum(x[0, 0, 0], x[0, 0, -1]), jnp.maximum(x[0, 0, 0], x[0, 0, -1])
  assert jnp.all(y >= lo - 1e-5) and jnp.all(y <= hi + 1e-5)
  assert not jnp.allclose(y, x)
  # The boundary stays roughly in place (zoom about the centre, shifts of at most 10 %): no flip-and-drift.
  left = y[..., 0] > 0.15  # Channel 0 is 0.8 on the left colour, -0.5 on the right.
  for b in range(2):
    cols = jnp.where(left[b].mean(0) > 0.5)[0]
    assert cols.size > 0 and (cols.max() < 12 or cols.min() > 4)

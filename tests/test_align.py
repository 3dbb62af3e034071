"""Face alignment (--mode=align): the similarity transform, the mirror padding, the Lanczos warp, the whole chain
on a picture with known landmarks, and the mode end to end with random FAN weights (no torch needed)."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from dss_jax import align
from dss_jax.models import fan as fan_lib


def face_landmarks(seed=0):
  """98 points of a 256 px face: eyes at y = 110, mouth corners at y = 170, the rest scattered."""
  rng = np.random.default_rng(seed)
  lm = rng.uniform(90, 170, (98, 2))
  lm[list(align.LEFT_EYE)] = [100, 110] + rng.normal(0, 4, (9, 2))
  lm[list(align.RIGHT_EYE)] = [156, 110] + rng.normal(0, 4, (9, 2))
  lm[76], lm[82] = [108, 170], [148, 170]
  return lm


def similarity_matrix(angle, scale, shift):
  c, s = np.cos(angle) * scale, np.sin(angle) * scale
  return np.array([[c, -s, shift[0]], [s, c, shift[1]], [0, 0, 1]])


def apply(m, points):
  return (m[:2, :2] @ points.T).T + m[:2, 2]


def test_similarity_undoes_a_similarity():
  ref = face_landmarks()
  t = similarity_matrix(0.3, 1.4, (-20.0, 35.0))
  m = align.similarity(apply(t, ref), ref)
  np.testing.assert_allclose(m, np.linalg.inv(t), atol=1e-9)
  np.testing.assert_allclose(apply(m, apply(t, ref)), ref, atol=1e-9)


def test_warp_with_integer_shifts_is_exact():
  img = np.random.default_rng(0).uniform(0, 255, (40, 40, 3))
  np.testing.assert_allclose(align.warp(img, np.eye(3), 32), img[:32, :32], atol=1e-9)
  shifted = align.warp(img, similarity_matrix(0.0, 1.0, (-3.0, -5.0)), 32)  # out(x, y) = img(x + 3, y + 5).
  np.testing.assert_allclose(shifted, img[5:37, 3:35], atol=1e-9)


def test_pad_mirror_keeps_the_centre_and_moves_the_landmarks():
  img = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
  padded, lm = align.pad_mirror(img, np.array([[10.0, 20.0]]))
  assert padded.shape == (128, 128, 3)
  np.testing.assert_allclose(padded[32:96, 32:96], img)
  np.testing.assert_allclose(lm, [[42.0, 52.0]])
  assert 0 <= padded.min() and padded.max() <= 255


def test_align_image_undoes_a_rotated_scaled_face():
  """A smooth 'face' turned, shrunk and moved, with its landmarks moved alike, comes back into place."""
  size = 256
  ys, xs = np.mgrid[0:size, 0:size] / size
  face = np.stack([np.sin(3 * xs + 1) * np.cos(2 * ys), np.cos(4 * ys + xs), np.sin(2 * xs * ys + 2)], -1)
  face = (face * 100 + 128).astype(np.float64)
  ref = face_landmarks()
  t = similarity_matrix(0.25, 0.8, (40.0, -10.0))
  moved = np.clip(np.round(align.warp(face, t, size)), 0, 255).astype(np.uint8)
  out = align.align_image(moved, apply(t, ref), ref, size).astype(np.float64)
  centre = np.s_[80:180, 80:180]  # Inside the moved picture, away from its zero border.
  assert np.abs(out[centre] - face[centre]).mean() < 1.5


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
  d = tmp_path_factory.mktemp('align')
  fan_lib.save_variables(jax.jit(fan_lib.init)(jax.random.key(0)), d / 'fan.npz')
  np.savez(d / 'celeba_lm_mean.npz', mean=face_landmarks().astype(np.float32))
  return d


def test_align_faces_writes_every_picture(weights, tmp_path):
  inp = tmp_path / 'in'
  inp.mkdir()
  rng = np.random.default_rng(0)
  for name in ('a.png', 'b.jpg'):
    Image.fromarray(rng.integers(0, 256, (300, 280, 3), dtype=np.uint8)).save(inp / name)
  (inp / 'notes.txt').write_text('not a picture')
  written = align.align_faces(str(inp), str(tmp_path / 'out'), str(weights / 'fan.npz'))  # lm file found next to it.
  assert [os.path.basename(p) for p in written] == ['a.png', 'b.jpg']
  for p in written:
    assert Image.open(p).size == (256, 256)


def test_missing_files_are_plain_errors(weights, tmp_path):
  inp = tmp_path / 'in'
  inp.mkdir()
  Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(inp / 'a.png')
  with pytest.raises(align.MeanLandmarksNotFoundError, match='download.sh wing'):
    align.align_faces(str(inp), str(tmp_path / 'out'), str(weights / 'fan.npz'), str(tmp_path / 'nope.npz'))
  with pytest.raises(fan_lib.FanWeightsNotFoundError, match='download.sh wing'):
    align.align_faces(str(inp), str(tmp_path / 'out'), str(tmp_path / 'fan.npz'), str(weights / 'celeba_lm_mean.npz'))
  with pytest.raises(align.AlignInputError):
    align.align_faces(str(tmp_path / 'missing'), str(tmp_path / 'out'), str(weights / 'fan.npz'))


def test_main_align_without_fan_weights_says_how_to_get_them(tmp_path):
  inp = tmp_path / 'in'
  inp.mkdir()
  Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(inp / 'a.png')
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu'}
  run = subprocess.run([sys.executable, '-m', 'dss_jax.main', '--config=configs/celeba_hq.py', '--mode=align',
                        f'--inp_dir={inp}', f'--out_dir={tmp_path / "out"}'], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=300)
  assert run.returncode != 0
  assert 'error: The FAN landmark network needs its weights' in run.stderr and 'download.sh wing' in run.stderr
  assert 'Traceback' not in run.stderr

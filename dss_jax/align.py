"""Face alignment as StarGAN v2's `--mode align`: your own face photos cropped the way CelebA-HQ is.

  python -m dss_jax.main --config=configs/celeba_hq.py:stargan_v2 --mode=align --inp_dir=my_faces \
      --out_dir=my_faces_aligned --config.fan_path=checkpoints/fan.npz [--lm_path=celeba_lm_mean.npz]

Per image (facts from STARGAN_V2_REFERENCE.md, "Face alignment for custom inputs"): resize to
img_size; the FAN's 98 landmarks; mirror-pad by half the size on each side, fading into a blurred copy
towards the outer border; a similarity transform that takes the landmarks to the CelebA-HQ mean
landmarks (`celeba_lm_mean.npz` from the official `download.sh wing`, scaled by img_size // 256):
rotation from the eye / mouth axis, scale from the eye centres and mouth corners, translation of the
landmarks' mean; a Lanczos (8x8 taps) warp; the top-left img_size x img_size crop. The pictures should
be roughly cropped around the face first, as for the reference.

Differences from the reference's OpenCV / scikit-image calls (numpy and scipy here, so no extra
dependency): sampling positions are exact (OpenCV rounds them to 1/32 pixel), uint8 pixels are read
without the reference's float truncation; outputs differ by at most a few grey levels.
"""

import os

import jax
import numpy as np
from absl import logging
from PIL import Image
from scipy import ndimage

from dss_jax import images
from dss_jax.models import fan as fan_lib

LEFT_EYE = (*range(60, 68), 96)  # The eye contour and its centre point (WFLW).
RIGHT_EYE = (*range(68, 76), 97)
MOUTH_CORNERS = (76, 82)
SCALE_POINTS = (96, 97, 76, 82)  # Eye centres and mouth corners: their distances to the mean set the scale.
MEAN_LANDMARKS_SIZE = 256  # The mean landmarks are in pixels of a 256 px image.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


class MeanLandmarksNotFoundError(FileNotFoundError):
  """The CelebA-HQ mean-landmark file (celeba_lm_mean.npz) is missing."""


class AlignInputError(FileNotFoundError):
  """--inp_dir is not a folder of pictures."""


class AlignArgumentError(ValueError):
  """--out_dir is not set, or the mean-landmark file is not the official one."""


def load_mean_landmarks(path):
  """celeba_lm_mean.npz (key 'mean') -> [98, 2] float32 (x, y) pixels of a 256 px face."""
  if not path or not os.path.isfile(path):
    where = f'there is no file {path!r}' if path else 'no path is set'
    raise MeanLandmarksNotFoundError(
        f'Face alignment needs the CelebA-HQ mean landmarks, but {where}. The official `bash download.sh wing` of '
        'the StarGAN v2 repository writes expr/checkpoints/celeba_lm_mean.npz: pass it with --lm_path.')
  with np.load(path) as data:
    if 'mean' not in data:
      raise AlignArgumentError(f'{path} has no array "mean"; it is not the official celeba_lm_mean.npz.')
    mean = np.asarray(data['mean'], np.float32)
  if mean.shape != (fan_lib.NUM_LANDMARKS, 2):
    raise AlignArgumentError(f'{path}: "mean" has shape {mean.shape}, expected ({fan_lib.NUM_LANDMARKS}, 2).')
  return mean


# ------------------------------------------------------------------------------------------ the transform


def _translation(offset):
  t = np.eye(3)
  t[:2, 2] = offset
  return t


def x_axis(landmarks):
  """The face's horizontal direction: eye-to-eye vector minus the eye-centre-to-mouth vector turned by 90
  degrees (so both the eye line and the face's vertical axis count), unit length."""
  left, right = landmarks[list(LEFT_EYE)].mean(0), landmarks[list(RIGHT_EYE)].mean(0)
  mouth_left, mouth_right = landmarks[MOUTH_CORNERS[0]], landmarks[MOUTH_CORNERS[1]]
  across = right - left
  up = (left + right) / 2 - (mouth_left + mouth_right) / 2
  axis = across - np.array([up[1], -up[0]])
  return axis / np.linalg.norm(axis)


def similarity(landmarks, reference):
  """3x3 matrix taking `landmarks` [98, 2] onto `reference` [98, 2] (x, y): move the mean to the origin,
  rotate the face's x axis onto the reference's, scale, move to the reference's mean."""
  landmarks, reference = np.asarray(landmarks, np.float64), np.asarray(reference, np.float64)
  a, b = x_axis(landmarks), x_axis(reference)
  cos = float(np.clip(a @ b, -1.0, 1.0))
  sin = np.sqrt(1.0 - cos * cos) * np.sign(a[0] * b[1] - a[1] * b[0])
  rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
  spread = lambda p: np.linalg.norm(p - p.mean(0), axis=1)
  scale = (spread(reference) / spread(landmarks))[list(SCALE_POINTS)].mean()
  return (_translation(reference.mean(0)) @ np.diag([scale, scale, 1.0]) @ rotation
          @ _translation(-landmarks.mean(0)))


# ------------------------------------------------------------------------------------------ the pixels


def _resize_linear(img, h, w):
  """OpenCV-style INTER_LINEAR resize of [H, W, C] (half-pixel centres, no antialiasing), float64."""
  mh = fan_lib._resize_matrix(img.shape[0], h, False).astype(np.float64)
  mw = fan_lib._resize_matrix(img.shape[1], w, False).astype(np.float64)
  rows = np.tensordot(mh, img.astype(np.float64), axes=(1, 0))  # [h, W, C]
  return np.einsum('pw,owc->opc', mw, rows, optimize=True)


def pad_mirror(img, landmarks):
  """uint8 [H, W, 3], landmarks [98, 2] -> (float64 [H + 2 (H // 2), ..., 3] in [0, 255], moved landmarks).

  Reflect-pads by half the size on each side; towards the outer border the picture fades (weight^4 of
  a ramp over a quarter of the padded size) into a blurred copy (Gaussian, sigma H // 100, on a half-size
  version), so the warp never shows hard mirror seams.
  """
  h, w, _ = img.shape
  padded = np.pad(img, ((h // 2, h // 2), (w // 2, w // 2), (0, 0)), mode='reflect')
  ph, pw, _ = padded.shape
  small = np.clip(np.round(_resize_linear(padded, h, w)), 0, 255) / 255.0  # OpenCV keeps uint8 here.
  sigma = h // 100
  if sigma > 0:
    small = ndimage.gaussian_filter(small, sigma=(sigma, sigma, 0), mode='nearest', truncate=4.0)
  blurred = _resize_linear(small, ph, pw) * 255.0
  ramp = max(ph // 4, 1)
  wy = np.clip(np.arange(ph) / ramp, 0, 1)
  wx = np.clip(np.arange(pw) / ramp, 0, 1)  # The reference uses the height's quarter for both axes.
  wy, wx = np.minimum(wy, wy[::-1]), np.minimum(wx, wx[::-1])
  weight = (np.minimum(wy[:, None], wx[None, :]) ** 4)[..., None]
  out = padded * weight + blurred * (1.0 - weight)
  return out, np.asarray(landmarks, np.float64) + np.array([pw // 4, ph // 4])


def _lanczos4(frac):
  """frac [N] in [0, 1) -> [N, 8] normalised Lanczos (a = 4) weights of the taps floor - 3 .. floor + 4."""
  t = frac[:, None] + 3.0 - np.arange(8)[None, :]
  safe = np.where(np.abs(t) < 1e-9, 1.0, t)
  w = np.where(np.abs(t) < 1e-9, 1.0, 4.0 * np.sin(np.pi * safe) * np.sin(np.pi * safe / 4.0) / (np.pi * safe)**2)
  return w / w.sum(axis=1, keepdims=True)


def warp(img, matrix, size):
  """Output pixel (x, y) of [size, size, C] samples img [H, W, C] at matrix^-1 (x, y), Lanczos, zero outside."""
  h, w, c = img.shape
  ys, xs = np.mgrid[0:size, 0:size]
  src = np.linalg.inv(matrix) @ np.stack([xs.ravel(), ys.ravel(), np.ones(size * size)]).astype(np.float64)
  u, v = src[0] / src[2], src[1] / src[2]
  u0, v0 = np.floor(u), np.floor(v)
  wu, wv = _lanczos4(u - u0), _lanczos4(v - v0)
  cols = u0.astype(np.int64)[:, None] - 3 + np.arange(8)[None, :]  # [N, 8]
  valid_c = (cols >= 0) & (cols < w)
  cols = np.clip(cols, 0, w - 1)
  out = np.zeros((size * size, c))
  for i in range(8):
    rows = v0.astype(np.int64) - 3 + i
    valid = valid_c & ((rows >= 0) & (rows < h))[:, None]
    taps = img[np.clip(rows, 0, h - 1)[:, None], cols] * valid[..., None]  # [N, 8, C]
    out += wv[:, i:i + 1] * np.einsum('nk,nkc->nc', wu, taps)
  return out.reshape(size, size, c)


def align_image(image, landmarks, mean_landmarks, size):
  """uint8 [H, W, 3] and its landmarks [98, 2] -> aligned uint8 [size, size, 3].

  mean_landmarks: the CelebA-HQ reference already in pixels of a `size` image.
  """
  padded, landmarks = pad_mirror(np.asarray(image, np.uint8), landmarks)
  aligned = warp(padded, similarity(landmarks, mean_landmarks), size)
  return np.floor(np.clip(aligned / 255.0, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------------------------------ the mode


class FaceAligner:
  """The FAN's landmarks and the CelebA-HQ reference, for images of img_size pixels."""

  def __init__(self, fan_path, lm_path, img_size=256):
    self.variables = fan_lib.load_variables(os.path.abspath(fan_path) if fan_path else fan_path)
    if img_size < MEAN_LANDMARKS_SIZE:
      raise AlignArgumentError(f'Face alignment works at img_size {MEAN_LANDMARKS_SIZE} or more (got {img_size}), '
                               'as the reference: the mean landmarks are scaled by img_size // 256.')
    self.reference = load_mean_landmarks(lm_path) * (img_size // MEAN_LANDMARKS_SIZE)
    self.img_size = img_size
    self._landmarks = jax.jit(fan_lib.landmarks)

  def landmarks(self, x):
    """x [B, img_size, img_size, 3] in [-1, 1] -> [B, 98, 2]."""
    return np.asarray(self._landmarks(self.variables, np.asarray(x, np.float32)))

  def align(self, x):
    """x [B, img_size, img_size, 3] in [-1, 1] -> aligned uint8 [B, img_size, img_size, 3]."""
    marks = self.landmarks(x)
    return np.stack([align_image(images.to_uint8(img), m, self.reference, self.img_size) for img, m in zip(x, marks)])


def default_lm_path(fan_path):
  """celeba_lm_mean.npz next to the FAN weights: where a user who followed docs/import.md keeps both."""
  return os.path.join(os.path.dirname(os.path.abspath(fan_path)), 'celeba_lm_mean.npz') if fan_path else ''


def align_faces(inp_dir, out_dir, fan_path, lm_path=None, img_size=256):
  """Aligns every image file of inp_dir into out_dir (same file names); returns the written paths.

  lm_path None: celeba_lm_mean.npz next to fan_path.
  """
  if not inp_dir or not os.path.isdir(inp_dir):
    raise AlignInputError(f'--inp_dir {inp_dir!r} is not a folder of face pictures.')
  if not out_dir:
    raise AlignArgumentError('--mode=align needs --out_dir, the folder for the aligned pictures.')
  aligner = FaceAligner(fan_path, default_lm_path(fan_path) if lm_path is None else lm_path, img_size)
  names = sorted(n for n in os.listdir(inp_dir) if n.lower().endswith(IMAGE_EXTENSIONS))
  if not names:
    raise AlignInputError(f'{inp_dir} has no image files ({", ".join(IMAGE_EXTENSIONS)}).')
  os.makedirs(out_dir, exist_ok=True)
  written = []
  for name in names:
    try:
      x = images.load_image(os.path.join(inp_dir, name), img_size)
    except ValueError as e:
      logging.warning('Skipping %s: %s', name, e)
      continue
    out = os.path.join(out_dir, name)
    Image.fromarray(aligner.align(x[None])[0]).save(out)
    logging.info('Aligned %s -> %s', name, out)
    written.append(out)
  return written

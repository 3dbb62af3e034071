"""--mode=sample and --mode=eval end to end on the tiny model trained once per session (test_inference.py)."""

import json
import os
import shutil

import numpy as np
import pytest
from conftest import tiny_config
from PIL import Image
from test_inference import trained_workdir

from dss_jax import images, inference, sample


@pytest.fixture(scope='module')
def translator():
  return inference.Translator.from_workdir(trained_workdir())


def assert_grid(path, rows, cols, cell=32):
  """path holds a labelled grid of rows x cols cells of `cell` px (2 px gaps, scaled up to LABEL_MIN_CELL)
  with its label margins above and to the left."""
  picture = np.asarray(Image.open(path))
  scale = -(-images.LABEL_MIN_CELL // cell)
  body = ((rows * (cell + 2) - 2) * scale, (cols * (cell + 2) - 2) * scale)
  top, left = picture.shape[0] - body[0], picture.shape[1] - body[1]
  assert 10 < top < 120 and 0 <= left < 120, (picture.shape, body)
  assert (picture[:12].min(axis=-1) < 100).any(), 'no title'


def gif_frames(path):
  """Frames shown by a GIF (PIL merges identical consecutive frames into one longer frame)."""
  gif, total = Image.open(path), 0
  for i in range(gif.n_frames):
    gif.seek(i)
    total += gif.info['duration']
  return round(total / round(1000 * 2 / sample.VIDEO_FPS, -1))


def test_sample_from_the_val_split_writes_grids_video_and_images(translator, tmp_path):
  result = sample.run(tiny_config(), trained_workdir(), out_dir=str(tmp_path), num=3, max_images=4,
                      translator=translator)
  # 4 sources + the reference column; 10 references (2 per domain) + the source row.
  assert_grid(result['reference'], 11, 5)
  assert len(result['latent']) == 5 * 3  # Every domain at psi 0.5, 0.7, 1.0.
  assert os.path.basename(result['latent'][0]) == 'latent_domain0_psi0.5.png'
  assert_grid(result['latent'][0], 4, 4)
  assert_grid(result['truncation'], 10, 1 + 2 * 5)  # Per reference: it, then 2 sources with 4 psi each.
  assert result['video'].endswith(('.gif', '.mp4'))
  if result['video'].endswith('.gif'):
    assert gif_frames(result['video']) == 5 * 31 + 10  # 5 same-domain pairs x 31 frames, last frame held 10 times.
  assert len(os.listdir(os.path.join(result['images'], 'reference'))) == 10 * 4
  assert len(os.listdir(os.path.join(result['images'], 'latent'))) == 5 * 3 * 4 * 3
  # Per domain: a traversal sheet (4 style components x 2 sources; source + 5 values) and 3 component videos.
  sheets = [p for p in result['traversal'] if p.endswith('.png')]
  assert len(sheets) == 5 and len(result['traversal']) == 5 * 4
  assert os.path.basename(sheets[0]) == 'traversal_domain0.png'
  assert_grid(sheets[0], 4 * 2, 1 + 5)


def test_sample_from_folders_and_gif_writer(translator, tmp_path):
  from dss_jax.datasets import synthetic
  data = synthetic.load_split(2, 'style_domains', 'test', per_domain=4, size=32)
  for root, offset in (('src', 0), ('ref', 2)):
    for i in range(offset, 20, 4):
      folder = tmp_path / root / f'domain{data["label"][i]}'
      folder.mkdir(parents=True, exist_ok=True)
      Image.fromarray(((data['image'][i] + 1) * 127.5).astype(np.uint8)).save(folder / f'{i}.png')
  result = sample.run(tiny_config(), trained_workdir(), out_dir=str(tmp_path / 'out'), src_dir=str(tmp_path / 'src'),
                      ref_dir=str(tmp_path / 'ref'), target='domain1', num=2, psis=[1.0], translator=translator,
                      video_format='gif')
  assert_grid(result['reference'], 6, 6)
  assert [os.path.basename(p) for p in result['latent']] == ['latent_domain1_psi1.png']
  # One reference per domain: no same-domain pair, so the video interpolates random styles of each domain.
  assert gif_frames(result['video']) == 5 * 31 + 10


def test_sample_one_image_with_n_styles(tmp_path):
  path = tmp_path / 'cat.jpg'
  Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 40, 3), np.uint8)).save(path)
  result = sample.run(tiny_config(), trained_workdir(), checkpoint='2', out_dir=str(tmp_path / 'out'),
                      image=str(path), target='domain3', num=5)
  (grid_path,) = result['translations']
  assert os.path.basename(grid_path) == 'cat_to_domain3.png'
  assert_grid(grid_path, 3, 6)  # Rows = psi, columns = 1 + 5.
  assert len(os.listdir(tmp_path / 'out' / 'cat_to_domain3')) == 3 * 5


def test_write_video_gif(tmp_path):
  frames = np.random.default_rng(0).integers(0, 255, (4, 9, 11, 3), np.uint8)
  path = sample.write_video(frames, str(tmp_path / 'v'), fmt='gif')
  assert gif_frames(path) == 14
  alphas = sample.video_alphas()
  assert len(alphas) == 31 and alphas[0] == 0 and np.all(np.diff(alphas) >= 0) and alphas[-1] == 1


def test_main_sample_flags(tmp_path):
  from absl.testing import flagsaver

  from dss_jax import main
  if not main.FLAGS.is_parsed():
    main.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(config=tiny_config(), workdir=trained_workdir(), mode='sample', out_dir=str(tmp_path),
                           num=2, psi=['1.0'], max_images=2, video=False):
    main.main(['main'])
  assert (tmp_path / 'reference.png').exists() and (tmp_path / 'latent_domain4_psi1.png').exists()
  assert not (tmp_path / 'interpolation.gif').exists()


# ------------------------------------------------------------------------------------------ eval

SMALL = dict(num_pairs=40, num_latent=40, num_latent_mcc=50, oracle_per_domain=20, oracle_steps=20)


@pytest.fixture(scope='module')
def oracle_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp('oracle'))


def _stand_in_features(x):
  """Cheap stand-in for Inception: 4 x 4 average-pooled pixels, 12 features."""
  return x.reshape(len(x), 4, 8, 4, 8, 3).mean((2, 4)).reshape(len(x), -1)[:, :12]


def _stand_in_lpips(outs):
  m = len(outs)
  return float(np.mean([np.abs(outs[i] - outs[j]).mean() for i in range(m) for j in range(i + 1, m)]))


def test_eval_synthetic_writes_json_and_markdown_with_every_metric(translator, tmp_path, oracle_dir):
  from dss_jax import evaluate
  metrics = evaluate.run(tiny_config(), str(tmp_path), model=translator,
                         synthetic_kwargs=dict(SMALL, oracle_dir=oracle_dir))
  with open(tmp_path / 'metrics_step2.json') as f:
    saved = json.load(f)
  for key in ('mcc', 'mcc_random_encoder', 'dci', 'dci_random_encoder', 'counterfactual', 'latent_quality',
              'unification', 'smoothness', 'smoothness_random_encoder', 'latent_mcc', 'latent_mcc_untrained',
              'edit', 'edit_untrained', 'fid_lpips', 'settings', 'z_effect', 'z_effect_untrained',
              'z_effect_copy_source', 'latent_quality_copy_source', 'latent_quality_untrained',
              'reference_style_copy_source', 'reference_style_untrained'):
    assert key in saved, key
  assert saved['z_effect_copy_source']['min'] < 1e-6
  assert set(saved['latent_mcc']['per_domain']) == {'0', '1', '2', '3', '4'}
  assert saved['settings']['num_latent_mcc'] == 50
  assert set(saved['mcc']['per_domain']) == {'0', '1', '2', '3', '4'} and 0 <= saved['mcc']['mean'] <= 1
  for key in ('disentanglement', 'completeness', 'informativeness'):
    assert key in saved['dci'] and key in saved['dci_random_encoder']
  assert set(saved['counterfactual']) == {'model', 'copy_source', 'copy_reference', 'flat_reference_background'}
  assert set(saved['counterfactual']['model']) == {'l1', 'psnr', 'l1_object', 'psnr_object', 'iou'}
  q = saved['latent_quality']
  for key in ('domain_accuracy', 'bayes_domain_accuracy', 'oracle_real_domain_accuracy', 'shape_accuracy',
              'content_corr', 'rotation_agreement', 'style_wasserstein_mean'):
    assert key in q, key
  assert 0.5 < q['bayes_domain_accuracy'] < 1
  for key in ('frechet_mean', 'frechet_relative_mean', 'accuracy_mean', 'frechet', 'accuracy'):
    assert key in saved['unification']
  assert len(saved['fid_lpips']['skipped']) == 2  # No weight files in the tiny config: skipped, not crashed.
  table = (tmp_path / 'metrics_step2.md').read_text()
  for needle in ('MCC (mean', 'random encoder', 'DCI disentanglement', 'DCI completeness', 'DCI informativeness',
                 'counterfactual L1 object region', 'copy reference', 'flat reference background', 'IoU',
                 'Bayes ceiling', 'content correlation', 'style Wasserstein', 'unification gap: Fréchet',
                 'classifier accuracy', 'smoothness', 'latent MCC', 'untrained model', 'Skipped: FID needs',
                 'Skipped: LPIPS needs', 'edit purity', 'edit content drift', 'z-effect', 'copy source 0.000 / 0.000',
                 'a random direction of the same model'):
    assert needle in table, needle
  assert saved['edit']['space'] == 'z' and len(saved['edit']['component_effect']) == tiny_config().style_dim
  assert metrics['mcc']['mean'] == pytest.approx(saved['mcc']['mean'])


def test_latent_mcc_reads_the_factors_back_from_generated_images(monkeypatch):
  """A generator that paints s into the image and an oracle that reads it back (monotone, permuted): MCC 1;
  a generator that mixes the components (a rotation): clearly less."""
  from dss_jax import evaluate
  from dss_jax.metrics import oracle

  class Painter:
    def __init__(self, mix):
      self.mix = mix
    def style_from_z(self, z, labels):
      return z + np.asarray(labels)[:, None]
    def generate(self, sources, s):
      return np.broadcast_to((s @ self.mix)[:, None, None, :] / 10, (len(s), 2, 2, 2))

  monkeypatch.setattr(oracle, 'oracle_predict', lambda orc, images: {'style': np.tanh(images[:, 0, 0, ::-1] * 10)})
  rng = np.random.default_rng(0)
  z, labels = rng.standard_normal((300, 2)), np.repeat(np.arange(3), 100)
  exact = evaluate._latent_mcc(Painter(np.eye(2)), None, None, z, labels)
  assert exact['mean'] == pytest.approx(1.0) and set(exact['per_domain']) == {0, 1, 2}
  c = np.cos(np.pi / 4)
  mixed = evaluate._latent_mcc(Painter(np.array([[c, -c], [c, c]])), None, None, z, labels)
  assert mixed['mean'] < 0.85


def test_edit_purity_is_one_when_a_component_moves_one_factor_and_lower_when_it_mixes(monkeypatch):
  """A translator whose component c paints the style along a fixed direction, read back by a stand-in oracle:
  single-factor directions give purity 1 and no content drift; a 45-degree mix gives 0.5."""
  import types

  from dss_jax import evaluate
  from dss_jax.metrics import oracle

  class Painter:
    style_dim, is_flow, config = 2, True, types.SimpleNamespace(num_domains=2)

    def __init__(self, directions):
      self.directions = np.asarray(directions, np.float64)

    def traverse(self, src, u, c, values, reference=None):
      s = np.asarray(values)[:, None, None] * self.directions[c][None, None, :] * 0.1  # [V, 1, n]
      return np.broadcast_to(s[:, :, None, None, :], (len(values), len(src), 2, 2, 2)).copy()

    # The same painter seen as a flow with z = s (for the random-direction edits).
    def encode_style(self, ref, y):
      return np.zeros((len(ref), 2))

    def style_to_z(self, s, y):
      return s

    def style_from_z(self, z, y):
      return z

    def generate(self, src, s):
      return np.broadcast_to((s @ self.directions * 0.1)[:, None, None, :], (len(s), 2, 2, 2)).copy()

  def read(orc, images):
    n = len(images)
    return {'style': images[:, 0, 0, :], 'content': np.zeros((n, 5)), 'shape': np.zeros(n, int)}

  monkeypatch.setattr(oracle, 'oracle_predict', read)
  rng = np.random.default_rng(0)
  x, y = np.zeros((40, 2, 2, 3)), np.repeat(np.arange(2), 20)
  style = rng.uniform(0, 1, (40, 2))
  pure = evaluate.edit_purity(Painter(np.eye(2)), None, x, y, style, num_per_domain=5)
  assert pure['purity'] == pytest.approx(1.0) and pure['content_drift'] == 0.0
  assert pure['component_effect'][0] > 0 and pure['component_effect'][1] > 0
  c = np.sqrt(0.5)
  mixed = evaluate.edit_purity(Painter([[c, c], [c, -c]]), None, x, y, np.tile([[0.2, 0.2], [0.4, 0.4]], (20, 1)),
                               num_per_domain=5)
  assert mixed['purity'] == pytest.approx(0.5)
  assert 0.5 < pure['purity_random_direction'] < 1.0
  # Against a random direction of the same model: pure components gain, 45-degree mixed ones do not.
  assert 0.5 < pure['purity_model_random_direction'] < 0.95 and pure['purity_gain'] > 0.05
  assert mixed['purity_gain'] < 0.0


def test_z_effect_is_zero_when_z_is_ignored_although_the_pooled_spread_is_not(monkeypatch):
  """A generator that keeps each source's style whatever z is: the fixed-source z-effect is exactly 0, the
  pooled spread is the sources' spread; one whose output follows z: z-effect > 0."""
  import types

  from dss_jax import evaluate
  from dss_jax.metrics import oracle

  class Translator:
    z_dim, config = 2, types.SimpleNamespace(num_domains=2)

    def __init__(self, follows_z):
      self.follows_z = follows_z

    def translate(self, images, u, z):
      out = images.copy()
      if self.follows_z:  # z's first component paints the first style channel only.
        out[..., 0] += z[:, None, None, 0]
      return out

  monkeypatch.setattr(oracle, 'oracle_predict', lambda orc, images: {'style': images[:, 0, 0, :2]})
  rng = np.random.default_rng(0)
  x = rng.uniform(-0.5, 0.5, (40, 2, 2, 3))
  y, style = np.repeat(np.arange(2), 20), x[:, 0, 0, :2]
  ignores = evaluate.z_effect(Translator(False), None, x, y, style, num_sources=8, num_z=5)
  assert max(ignores['per_factor']) < 1e-9  # 0 up to the float round-off of a std of equal values.
  assert evaluate.z_effect(Translator(False), None, x, y, style, copy_source=True, num_sources=8, num_z=5)['min'] < 1e-9
  follows = evaluate.z_effect(Translator(True), None, x, y, style, num_sources=8, num_z=5)
  assert follows['per_factor'][0] > 1.0 and follows['per_factor'][1] < 1e-9
  pooled = oracle.latent_guided_quality(
      {'style': style, 'content': np.zeros((40, 5)), 'shape': np.zeros(40), 'domain': y}, y, np.zeros((40, 5)),
      style, y)
  assert min(pooled['style_spread_ratio']) > 0.9  # What the pooled figure gives the z-ignoring generator.


def test_fid_lpips_without_weights_logs_the_message(translator, caplog):
  from dss_jax import evaluate
  config = tiny_config()
  config.inception_path = '/nonexistent/inception.npz'
  with caplog.at_level('WARNING'):
    result = evaluate.fid_lpips(config, translator)
  assert result['skipped'] and set(result) == {'skipped'}
  assert "'/nonexistent/inception.npz' does not exist" in caplog.text and 'convert_torchvision_weights' in caplog.text


def test_fid_lpips_protocol_with_stand_in_networks(translator, tmp_path):
  from dss_jax import evaluate
  config = tiny_config()
  config.val_batch_size = 32  # Larger than the 8 validation images per domain (StarGAN v2 crashed there).
  result = evaluate.fid_lpips(config, translator, str(tmp_path), feature_fn=_stand_in_features,
                              lpips_fn=_stand_in_lpips, num_outs=3)
  for name in ('FID_latent', 'LPIPS_latent', 'FID_reference', 'LPIPS_reference'):
    assert len(result[name]) == 5 * 4 + 1  # K(K-1) tasks and the mean.
    assert np.isfinite(result[name]['mean'])
  assert 'domain0_to_domain1' in result['FID_latent']
  assert result['LPIPS_reference']['mean'] > 0  # References differ between the outputs of one source.
  assert (tmp_path / 'fid_lpips_step2.json').exists()


def test_main_eval_flags(tmp_path, monkeypatch):
  """main's --mode=eval flags reach evaluate.run: the checkpoint of --checkpoint, the config's seed, the files of
  that step. The benchmark itself is a stand-in here (test_eval_synthetic_writes_json_and_markdown_with_every_metric
  runs it, and tests/test_newcomer.py runs --mode=eval as a command): the real one doubled this test's time."""
  from absl.testing import flagsaver

  from dss_jax import evaluate, main
  seen = {}

  def stand_in(config, t, workdir, seed, write, **kwargs):
    seen.update(step=t.step, seed=seed, workdir=workdir)
    return {'stand_in': {'mean': 0.5}}

  monkeypatch.setattr(evaluate, 'evaluate_synthetic', stand_in)
  workdir = tmp_path / 'run'
  shutil.copytree(trained_workdir(), workdir)
  if not main.FLAGS.is_parsed():
    main.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(config=tiny_config(), workdir=str(workdir), mode='eval', checkpoint='2'):
    main.main(['main'])
  assert seen == {'step': 2, 'seed': tiny_config().seed, 'workdir': str(workdir)}
  assert (workdir / 'metrics_step2.json').exists() and (workdir / 'metrics_step2.md').exists()
  assert json.loads((workdir / 'metrics_step2.json').read_text())['stand_in'] == {'mean': 0.5}


_FID_MISSING = "FID needs local Inception-v3 weights, but --config.inception_path is not set"
_LPIPS_MISSING = "LPIPS needs local AlexNet + LPIPS weights, but --config.lpips_path is not set"


@pytest.mark.parametrize('missing, benchmark, expected', [
    ((), True, []),
    (('inception',), True, [f'{_FID_MISSING}; evaluation measures LPIPS and the identifiability benchmark without '
                            'FID.']),
    (('lpips',), False, [f'{_LPIPS_MISSING}; evaluation measures FID without LPIPS.']),
    (('inception', 'lpips'), True,
     [f'{_FID_MISSING} (LPIPS is skipped too); evaluation measures the identifiability benchmark without FID and '
      'LPIPS.',
      f'{_LPIPS_MISSING} (FID is skipped too); evaluation measures the identifiability benchmark without FID and '
      'LPIPS.']),
    (('inception', 'lpips'), False, [f'{_FID_MISSING} (LPIPS is skipped too); evaluation measures nothing.',
                                     f'{_LPIPS_MISSING} (FID is skipped too); evaluation measures nothing.']),
])
def test_skip_notes_say_what_is_skipped_and_what_still_runs_in_every_combination(missing, benchmark, expected):
  """Both notes once said the other metric still ran, when both were skipped."""
  from dss_jax import errors, evaluate
  names = {'inception': ('FID', 'inception_path'), 'lpips': ('LPIPS', 'lpips_path')}
  notes = evaluate.skip_notes({names[w][0]: errors.MetricWeightsNotFoundError.missing('', w, names[w][1])
                               for w in missing}, benchmark)
  assert [note.splitlines()[0] for note in notes] == expected
  assert all('convert_torchvision_weights.py' in note.splitlines()[2] for note in notes)  # How to make the file.


def test_the_oracle_says_what_it_is_how_long_and_how_far_while_it_trains(tmp_path, monkeypatch, caplog):
  """--mode=eval printed nothing for 272 s while the oracle trained. The same small oracle as the eval tests'
  (SMALL: its compiled step comes from the persistent cache), a progress line after every step."""
  from dss_jax.datasets import registry
  from dss_jax.metrics import oracle
  config = tiny_config()
  monkeypatch.setattr(oracle, 'PROGRESS_SECONDS', 0.0)
  with caplog.at_level('INFO', logger='absl'):
    oracle.get_oracle(str(tmp_path), config.synthetic.n_style, registry.synthetic_variant(config), config.img_size,
                      per_domain=SMALL['oracle_per_domain'], steps=SMALL['oracle_steps'])
  lines = [r.getMessage() for r in caplog.records]
  assert lines[0].startswith('Training the oracle, the CNN that reads the true factors back from generated images '
                             '(20 steps on 20 images per domain; roughly 1 s to 4 s on a 2-core CPU, by its load')
  progress = [line for line in lines if line.startswith('Oracle: step ')]
  assert progress[0].startswith('Oracle: step 2 of 20, about ') and progress[0].endswith(' s left.')
  assert len(progress) == 18 and lines[-1].startswith('Oracle trained in ')

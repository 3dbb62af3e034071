"""The torchvision converter and the Flax ports agree with torch (runs only where torch is installed)."""

import importlib.util
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip('torch')
torchvision = pytest.importorskip('torchvision')

_SCRIPT = pathlib.Path(__file__).resolve().parents[1] / 'scripts' / 'convert_torchvision_weights.py'


@pytest.fixture(scope='module')
def conv():
  spec = importlib.util.spec_from_file_location('convert_torchvision_weights', _SCRIPT)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_inception_matches_torchvision(conv, tmp_path):
  torch.manual_seed(0)
  model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)
  for m in model.modules():  # Calibrate BN statistics so activations keep a sane scale.
    if isinstance(m, torch.nn.BatchNorm2d):
      m.momentum = None
  model.train()
  with torch.no_grad():
    model(torch.randn(2, 3, 299, 299))  # The auxiliary head (train mode) needs full size.
  torch.save(model.state_dict(), tmp_path / 'inception.pth')
  state, model = conv.convert_inception(str(tmp_path / 'inception.pth'))
  conv.save(state, str(tmp_path / 'inception.npz'))
  assert conv.verify('inception', str(tmp_path / 'inception.npz'), model, size=107) < 1e-3


def test_lpips_matches_torch(conv, tmp_path):
  torch.manual_seed(0)
  torch.save(torchvision.models.alexnet(weights=None).state_dict(), tmp_path / 'alex.pth')
  linear = {f'lin{i}.model.1.weight': torch.rand(1, c, 1, 1) for i, c in enumerate((64, 192, 384, 256, 256))}
  torch.save(linear, tmp_path / 'lin.pth')
  state, model = conv.convert_lpips(str(tmp_path / 'alex.pth'), str(tmp_path / 'lin.pth'))
  conv.save(state, str(tmp_path / 'lpips.npz'))
  assert conv.verify('lpips', str(tmp_path / 'lpips.npz'), model, size=96) < 1e-5
  np.testing.assert_array_equal(state['lin2.weight'], linear['lin2.model.1.weight'].numpy())

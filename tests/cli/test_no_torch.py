"""The runtime never needs PyTorch: upscale, info and the runtime API in a process where
`import torch` fails (as on a machine with only `pip install manifold-tiles`)."""

import json
import subprocess
import sys

SCRIPT = r"""
import json, sys
sys.modules["torch"] = None  # `import torch` now raises ImportError, as without the [train] extra
from typer.testing import CliRunner
from manifold_cli.cli import app

runner = CliRunner()
results = {}
for name, args in {"upscale": ["upscale", sys.argv[1], "--res", "24", "-o", sys.argv[2], "-q"],
                   "upscale_seed": ["upscale", sys.argv[1], "--res", "24", "-o", sys.argv[2] + "-seed", "-q",
                                    "--model", "seed"],
                   "transitions": ["transitions", sys.argv[1] + "/tile_01.png", sys.argv[1] + "/tile_02.png",
                                   "--res", "16", "-o", sys.argv[2] + "-wang/set.tsx", "-q"],
                   "variants": ["variants", sys.argv[1] + "/tile_01.png", "-n", "2", "-o", sys.argv[2] + "-v", "-q"],
                   "info": ["info", "--json"], "info_model": ["info", "--model", sys.argv[3], "--json"]}.items():
    r = runner.invoke(app, args)
    results[name] = [r.exit_code, r.output[-500:], repr(r.exception) if r.exit_code else ""]
loaded = sorted(m for m in sys.modules if m.startswith(("manifold_train", "manifold_export")))
results["loaded"] = loaded
print(json.dumps(results))
"""

API = r"""
import sys
sys.modules["torch"] = None
import numpy as np
from manifold_core.runtime import TileModel
model = TileModel.load(sys.argv[1], "cpu")
out = np.concatenate(list(model.render(np.full((2, 16, 16, 4), 200, np.uint8), 32, 32)))
assert out.shape == (2, 32, 32, 4)
print(sorted(m for m in sys.modules if m.startswith(("manifold_train", "manifold_export", "matplotlib"))))
"""


def test_upscale_and_info_run_where_torch_cannot_be_imported(tile_folder, tmp_path, tiny_local_model_dir):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tile_folder), str(tmp_path / "out"),
                           str(tiny_local_model_dir)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in ("upscale", "upscale_seed", "transitions", "variants", "info", "info_model"):
        assert results[name][0] == 0, (name, results[name])
    assert len(list((tmp_path / "out").rglob("*.png"))) == 48
    # the command line reads the training defaults and presets (pure Python), nothing else of training
    assert results["loaded"] == ["manifold_train", "manifold_train.config"], results["loaded"]


def test_the_runtime_api_imports_nothing_of_training(tiny_local_model_dir):
    proc = subprocess.run([sys.executable, "-c", API, str(tiny_local_model_dir)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"

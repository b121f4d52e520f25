"""The scripts are run as files (python scripts/tile_sets.py), not installed: put their folder on the path."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

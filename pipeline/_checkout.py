"""Puts this checkout's src/ first on the import path. `pip install -e .` makes every interpreter
import the workspace's src/, also inside the copies that `dvc exp run --temp/--queue` makes; the
code that runs must be the code DVC hashed, the copy's own."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

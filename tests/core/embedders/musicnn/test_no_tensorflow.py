"""musicnn runs without TensorFlow: loading the embedder and embedding never import it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.musicnn import weights_cache

SCRIPT = """
import sys
from pathlib import Path
import numpy as np
from musicrec_core.clip import Clip
from musicrec_core.embedders import load_embedder
embedder = load_embedder("musicnn")
clip = Clip(np.zeros(16000 * 4, dtype=np.float32))
assert embedder.embed(clip).vectors.shape == (1, 200)
print("tensorflow" in sys.modules)
"""


def test_loading_and_embedding_with_musicnn_never_imports_tensorflow(tmp_path: Path) -> None:
    with weights_cache(tmp_path):
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

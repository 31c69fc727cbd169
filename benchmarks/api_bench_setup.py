"""What the API benchmarks share: a synthetic catalog served by ``musicrec serve`` in a
process of its own, with keys, and the same request service in the benchmark's process.

Mental model: :func:`prepare` makes (or reuses) a work folder holding synthetic VGGish
weight files (``tests/helpers/vggish_files.py``: the real model's shapes, seeded random
weights), a catalog of ``items`` random unit 128-d vectors indexed with a vector backend's
shipped settings (Annoy unless ``--backend`` says otherwise; one catalog per backend and
size) under those weights' embedder id, each item an 11-character "YouTube" id, and the
cache root both processes use (``MUSICREC_CACHE_DIR``: clip cache, title cache, YouTube
budget). :class:`ServerProcess` runs ``musicrec serve`` on it (its own interpreter, so the
load generator never shares its GIL) with ``keys`` API keys; :func:`in_process_service`
starts the same :class:`~musicrec_core.service.service.RecommendService` in the caller's
process on the same catalog and settings, the baseline of every figure.

Nothing here reaches the network: title lookups that miss would ask an unreachable
loopback address; the benchmarks fill the title cache first.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core.api.key_limits import KeyLimits  # noqa: E402
from musicrec_core.api.keys import ApiKeyStore  # noqa: E402
from musicrec_core.audio.decode_workers import default_workers  # noqa: E402
from musicrec_core.catalog.index import (  # noqa: E402
    BACKENDS,
    DEFAULT_BACKEND,
    IndexBuilder,
    ItemMeta,
)
from musicrec_core.embedders.base import EmbedderId  # noqa: E402
from musicrec_core.embedders.vggish import embedder_version  # noqa: E402
from musicrec_core.embedders.vggish.checkpoint import file_md5  # noqa: E402
from musicrec_core.metrics import ServiceMetrics  # noqa: E402
from musicrec_core.recommender import Recommender  # noqa: E402
from musicrec_core.service.service import RecommendService  # noqa: E402
from musicrec_core.service.settings import ServiceSettings  # noqa: E402
from musicrec_core.service.workers import configure_workers  # noqa: E402
from tests.helpers.vggish_files import write_synthetic_vggish  # noqa: E402

NO_NETWORK_OEMBED = "http://127.0.0.1:9/oembed"
"""Where title lookups would go on a cache miss: a closed loopback port (no network)."""
KEY_LIMITS = KeyLimits(rate=1000, burst=1000, inflight=64)
"""Keys that a benchmark's load never reaches the limits of."""
_CHUNK = 10_000


@dataclass(frozen=True)
class Workspace:
    """A prepared work folder: the catalog, weights, cache root and key file."""

    folder: Path
    index_dir: Path
    checkpoint: Path
    pca: Path
    embedder: EmbedderId
    cache_root: Path
    keys_path: Path
    upload_dir: Path

    def service_settings(self) -> ServiceSettings:
        """The service settings both processes run with (titles on, from the cache)."""
        return ServiceSettings(
            _env_file=None,
            index_dir=self.index_dir,
            vggish_checkpoint=self.checkpoint,
            vggish_pca=self.pca,
            title_lookup=True,
            oembed_url=NO_NETWORK_OEMBED,
        )

    def environment(self) -> dict[str, str]:
        """The same settings as ``MUSICREC_`` variables, for ``musicrec serve``."""
        return {
            "MUSICREC_CACHE_DIR": str(self.cache_root),
            "MUSICREC_INDEX_DIR": str(self.index_dir),
            "MUSICREC_VGGISH_CHECKPOINT": str(self.checkpoint),
            "MUSICREC_VGGISH_PCA": str(self.pca),
            "MUSICREC_TITLE_LOOKUP": "true",
            "MUSICREC_OEMBED_URL": NO_NETWORK_OEMBED,
            "MUSICREC_API_KEYS_PATH": str(self.keys_path),
            "MUSICREC_API_UPLOAD_DIR": str(self.upload_dir),
        }


def add_workspace_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every API benchmark takes: ``--items``, ``--backend``, ``-n`` and
    ``--work``."""
    parser.add_argument("--items", type=int, default=1_000_000, help="catalog size")
    parser.add_argument(
        "--backend", choices=sorted(BACKENDS), default=DEFAULT_BACKEND, help="vector backend"
    )
    parser.add_argument("-n", type=int, default=10, help="items per answer")
    parser.add_argument("--work", type=Path, default=Path("/tmp/musicrec-bench-api"))


def catalog_id(number: int) -> str:
    """The 11-character "YouTube" id of catalog item ``number``."""
    return f"c{number:010d}"


def prepare(folder: Path, items: int, backend: str = DEFAULT_BACKEND) -> Workspace:
    """The workspace in ``folder`` with a catalog of ``items`` in ``backend`` (built once per
    size and backend, and reused); sets ``MUSICREC_CACHE_DIR`` for this process too."""
    folder.mkdir(parents=True, exist_ok=True)
    cache_root = folder / "cache"
    os.environ["MUSICREC_CACHE_DIR"] = str(cache_root)
    weights = folder / "weights"
    checkpoint, pca = weights / "vggish_model.ckpt", weights / "vggish_pca_params.npz"
    if not pca.exists():
        write_synthetic_vggish(weights)
    embedder = EmbedderId(
        name="vggish", version=embedder_version(file_md5(checkpoint), file_md5(pca)), dim=128
    )
    index_dir = folder / catalog_folder(items, backend)
    if not (index_dir / "CURRENT").exists():
        started = time.perf_counter()
        build_random_catalog(index_dir, items, embedder, backend)
        print(
            f"built {items:,} items ({backend}) in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    upload_dir = folder / "uploads"
    upload_dir.mkdir(exist_ok=True)
    return Workspace(
        folder, index_dir, checkpoint, pca, embedder, cache_root, folder / "keys.sqlite3",
        upload_dir,
    )  # fmt: skip


def catalog_folder(items: int, backend: str) -> str:
    """The work folder's name for a catalog of ``items`` in ``backend`` (Annoy's keeps the
    name it had before there was a choice)."""
    return f"catalog-{items}" if backend == DEFAULT_BACKEND else f"catalog-{backend}-{items}"


def build_random_catalog(
    target: Path, items: int, embedder: EmbedderId, backend: str = DEFAULT_BACKEND, seed: int = 0
) -> None:
    """``items`` random unit vectors (float32 [items, 128]) as YouTube items, with the
    backend's shipped index settings."""
    rng = np.random.default_rng(seed)
    with IndexBuilder(target, embedder=embedder, pooling="mean", backend=backend) as builder:
        for start in range(0, items, _CHUNK):
            count = min(_CHUNK, items - start)
            vectors = unit_rows(rng.standard_normal((count, embedder.dim)))
            metas = [
                ItemMeta(group=catalog_id(start + i), start_s=30.0, end_s=40.0, labels=("Music",))
                for i in range(count)
            ]
            builder.add_many(vectors.astype(np.float32), metas)
        builder.commit()


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` with each row scaled to length 1."""
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def add_keys(workspace: Workspace, count: int) -> list[str]:
    """``count`` fresh API keys (named ``bench-<run>-<i>``) with :data:`KEY_LIMITS`."""
    run = time.strftime("%H%M%S") + f"-{os.getpid()}"
    store = ApiKeyStore(workspace.keys_path)
    try:
        return [store.add(f"bench-{run}-{i}", KEY_LIMITS) for i in range(count)]
    finally:
        store.close()


async def in_process_service(workspace: Workspace) -> RecommendService:
    """The request service on the workspace's catalog, in this process (the baseline);
    ``await service.close()`` and close its recommender after."""
    settings = workspace.service_settings()
    configure_workers(settings)  # as `musicrec serve` configures its process
    recommender = await asyncio.to_thread(
        Recommender.open, workspace.index_dir, weights=settings.weight_files, serving=True
    )
    service = RecommendService.start(recommender, settings, ServiceMetrics())
    workers = default_workers()
    if workers is not None:
        await asyncio.to_thread(workers.prestart)
    return service


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """``musicrec serve`` on the workspace in a child process, until exit; its log goes to
    ``<folder>/server.log``."""

    START_WAIT_S = 600.0

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        env = os.environ | self.workspace.environment()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        log = (self.workspace.folder / "server.log").open("wb")
        command = [sys.executable, "-m", "musicrec_core.cli", "serve", "--port", str(self.port)]
        self._process = subprocess.Popen(
            command, cwd=self.workspace.folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + self.START_WAIT_S
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the server did not start; see {self.workspace.folder}")
            time.sleep(0.5)
        return self

    def _ready(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            return response.status == 200 and json.loads(response.read())["ready"] is True
        except (OSError, ValueError, KeyError):
            return False
        finally:
            connection.close()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __exit__(self, *_exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values`` (linear interpolation)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def load_line() -> str:
    """The machine's load averages, as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"

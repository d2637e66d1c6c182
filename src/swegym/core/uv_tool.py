"""uv, the installer environments are built with: where its binary is, and whether its
managed-interpreter downloads are reachable from here (probed once, remembered an hour)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from pathlib import Path

#: How long a probe of uv's interpreter downloads is trusted.
PROBE_TTL_S = 3600


@functools.lru_cache(maxsize=1)
def uv_binary() -> str | None:
    """The uv executable (the ``uv`` package's binary, else ``uv`` on PATH), or None."""
    try:
        from uv import find_uv_bin

        path = find_uv_bin()
        if path and os.access(path, os.X_OK):
            return os.path.realpath(path)
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    return os.path.realpath(found) if found else None


@functools.lru_cache(maxsize=1)
def uv_version() -> str | None:
    uv = uv_binary()
    if uv is None:
        return None
    out = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.split()[1] if out.returncode == 0 and len(out.stdout.split()) > 1 else None


def python_install(version: str, *, install_dir: Path, cache: Path) -> tuple[str | None, str]:
    """``uv python install version`` into ``install_dir``: ``(interpreter path, note)``.

    The path is None when uv is missing or its downloads are unreachable; the note then
    says why in one line. A failed download is remembered for an hour under ``cache``, so
    later builds do not wait for it again.
    """
    uv = uv_binary()
    if uv is None:
        return None, "uv is not installed (pip install uv): no uv-managed interpreter"
    marker = cache / "uv-python-unreachable"
    if marker.is_file() and time.time() - marker.stat().st_mtime < PROBE_TTL_S:
        return None, f"uv's interpreter downloads were unreachable at the last try ({marker.read_text().strip()})"
    env = dict(
        os.environ, UV_PYTHON_INSTALL_DIR=str(install_dir), UV_HTTP_RETRIES="0", UV_PYTHON_DOWNLOADS="automatic",
        UV_PYTHON_INSTALL_BIN="0",  # no python3.X links in the user's ~/.local/bin
    )
    out = subprocess.run([uv, "python", "install", version], capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        lines = [line.strip() for line in (out.stderr or out.stdout).splitlines() if line.strip()]
        cause = lines[-1] if lines else f"exit {out.returncode}"
        cause = cause.removeprefix("Caused by:").removeprefix("cause:").strip()
        cache.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{time.strftime('%Y-%m-%d %H:%M')}: {cause}"[:300])
        return None, f"uv python install {version} failed ({cause})"
    marker.unlink(missing_ok=True)
    found = subprocess.run([uv, "python", "find", version], capture_output=True, text=True, env=env, timeout=60)
    path = os.path.realpath(found.stdout.strip()) if found.stdout.strip() else ""
    if found.returncode != 0 or not path.startswith(os.path.realpath(install_dir) + os.sep):
        return None, f"uv python install {version} succeeded but uv python find did not locate it in {install_dir}"
    return path, f"python {version} installed by uv"


def downloads_unreachable(cache: Path) -> bool:
    """Whether a recent try found uv's interpreter downloads unreachable."""
    marker = cache / "uv-python-unreachable"
    return marker.is_file() and time.time() - marker.stat().st_mtime < PROBE_TTL_S


DOWNLOAD_PROBE_URL = "https://github.com/astral-sh/python-build-standalone/releases"


def downloads_reachable(cache: Path, *, url: str = DOWNLOAD_PROBE_URL) -> bool:
    """Whether uv's interpreter downloads answer from here (for plans; builds just try).

    A failed ``uv python install`` within the hour counts as unreachable without asking.
    """
    import urllib.error
    import urllib.request

    if uv_binary() is None or downloads_unreachable(cache):
        return False
    mirror = os.environ.get("UV_PYTHON_INSTALL_MIRROR")
    try:
        with urllib.request.urlopen(urllib.request.Request(mirror or url, method="HEAD"), timeout=5) as reply:
            return reply.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False

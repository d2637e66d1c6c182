"""The Docker runtime's base images, built locally from Debian packages (no registry needed).

``debootstrap`` installs a minimal Debian of one suite (its Python, venv, headers, a C/C++
toolchain and -dev libraries: see ``swegym.core.envrecipe``) into a directory, the host's uv
binary is copied in when it runs there, and the tarball is imported as an image. Every
environment image starts from the base image of the suite its Python version picks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swegym.core.envrecipe import DEFAULT_SUITE, IMAGE_CHANGES, PACKAGES
from swegym.core.runtime import EnvironmentBuildError

FALLBACK_MIRROR = "http://deb.debian.org/debian"
# Left out of the image: package downloads, apt lists and docs are only size.
_PRUNE = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")


def default_mirror(suite: str = DEFAULT_SUITE) -> str:
    """The Debian mirror apt uses on this machine (deb822 ``.sources`` or ``sources.list``)."""
    apt = Path("/etc/apt")
    for path in sorted(apt.glob("sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", _read(path)):
            fields = dict(_deb822_fields(stanza))
            suites = fields.get("suites", "").split()
            if "deb" in fields.get("types", "").split() and suite in suites and fields.get("enabled", "yes") != "no":
                for uri in fields.get("uris", "").split():
                    if not uri.rstrip("/").endswith("-security"):
                        return uri.rstrip("/")
    for path in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        for line in _read(path).splitlines():
            match = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if match and match.group(2) == suite:
                return match.group(1).rstrip("/")
    return FALLBACK_MIRROR


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _deb822_fields(stanza: str):
    for line in stanza.splitlines():
        if line.startswith("#") or ":" not in line or line[:1].isspace():
            continue
        key, _, value = line.partition(":")
        yield key.strip().lower(), value.strip()


def build_base_image(
    client: Any,
    tag: str,
    *,
    suite: str = DEFAULT_SUITE,
    mirror: str,
    work_dir: Path,
    uv: str | None = None,
    console_log: Callable[[str], None] = print,
    timeout: float = 1800,
) -> str:
    """debootstrap a minimal Debian ``suite`` into ``work_dir`` and import it as ``tag``; returns the image id.

    :param client: a ``docker.DockerClient``.
    :param uv: a static uv binary to copy into the image (installs then go through uv).
    """
    missing = [tool for tool in ("debootstrap", "tar") if shutil.which(tool) is None]
    if missing:
        raise EnvironmentBuildError(
            f"building the base image needs {' and '.join(missing)}: apt-get install {' '.join(missing)} "
            "(or pull a prebuilt image with -o runtime.base_pull=true)"
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="base-", dir=work_dir))
    try:
        root = scratch / "root"
        started = time.monotonic()
        argv = [
            "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root), mirror,
        ]
        console_log(f"swegym: building base image {tag}: {' '.join(argv)}")
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
            raise EnvironmentBuildError(f"debootstrap failed (exit {result.returncode}) for base image {tag}:\n{tail}")
        for relative in _PRUNE:
            target = root / relative
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    elif child.name != "lock":
                        child.unlink(missing_ok=True)
        if uv:
            _copy_uv(uv, root, console_log)
        console_log(f"swegym: debootstrap done in {time.monotonic() - started:.0f} s; importing {tag}")
        tarball = scratch / "root.tar"
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."], check=True)
        repository, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
        reply = client.api.import_image_from_file(str(tarball), repository=repository, tag=version, changes=list(IMAGE_CHANGES))
        image_id = _imported_id(reply) or client.images.get(tag).id
        size = client.images.get(image_id).attrs.get("Size", 0)
        console_log(
            f"swegym: base image {tag} ready ({image_id[:19]}, {size / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s"
        )
        return image_id
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_uv(uv: str, root: Path, console_log: Callable[[str], None]) -> None:
    """Copy the host's uv into the image if it runs there (uv's Linux wheels are static)."""
    target = root / "usr" / "local" / "bin" / "uv"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(uv, target)
    check = subprocess.run(["chroot", str(root), "/usr/local/bin/uv", "--version"], capture_output=True, text=True)
    if check.returncode != 0:
        target.unlink()
        console_log(f"swegym: {uv} does not run inside the image; its environment installs will use pip")


def _imported_id(reply: str) -> str | None:
    """The image id in the engine's import reply (JSON lines ending with ``{"status": "sha256:..."}``)."""
    for line in reversed(str(reply).splitlines()):
        try:
            status = json.loads(line).get("status", "")
        except (ValueError, AttributeError):
            continue
        if status.startswith("sha256:"):
            return status
    return None

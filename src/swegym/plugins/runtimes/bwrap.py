"""The bubblewrap command line of a sealed local sandbox.

Nothing of the host is visible but what is named here: /usr (read-only, with the /bin,
/lib, /lib64 and /sbin links distributions make to it), the few /etc files programs need,
a fresh /dev, /proc and /tmp, and the mounts the sandbox passes (its environment read-only,
its work tree read-write). No host home, project, secrets (/etc/shadow) or sockets
(/var/run/docker.sock). Every namespace is new (user, pid, ipc, uts, cgroup, and network
unless a command asks for it); inside, the process runs as an unprivileged uid with no
capabilities and no_new_privs (bubblewrap sets it), so a read-only mount cannot be made
writable again.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The uid and gid commands run as inside a sealed sandbox (mapped to the caller outside).
SANDBOX_UID = 1000
#: Where the sandbox's command server lives inside the sandbox (read-only).
SERVER_DIR = "/.swegym"
# /etc files that programs read (name resolution, TLS roots, the dynamic loader); no secret.
ETC_FILES = (
    "ssl", "ca-certificates", "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
    "localtime", "nsswitch.conf", "host.conf", "gai.conf", "mime.types", "os-release", "debian_version",
)
NETWORK_ETC_FILES = ("resolv.conf", "hosts")


def sealed_bwrap_args(mounts: list[tuple[str, str, str]], *, network: bool, workdir: str) -> list[str]:
    """``bwrap`` and its options; ``mounts`` are (``bind``/``ro-bind``, host path, sandbox path)."""
    args = ["bwrap", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC_FILES + (NETWORK_ETC_FILES if network else ()):
        path = f"/etc/{name}"
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for kind, source, target in mounts:
        args += [f"--{kind}", source, target]
    args += [
        "--unshare-all", "--unshare-user",
        *(["--share-net"] if network else []),
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--cap-drop", "ALL",
        "--die-with-parent", "--new-session",
        "--hostname", "sandbox",
        "--setenv", "HOME", "/tmp",
        "--chdir", workdir,
    ]
    return args


def interpreter_prefix(venv: Path) -> str | None:
    """The installation directory of the interpreter a virtual environment was made from."""
    python = venv / "bin" / "python"
    try:
        real = python.resolve(strict=True)
    except OSError:
        return None
    # <prefix>/bin/pythonX.Y: the prefix holds the interpreter's standard library.
    return str(real.parent.parent)

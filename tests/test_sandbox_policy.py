"""The local sandbox's bubblewrap command line binds nothing of the host but what it must;
isolation=none says loudly what it means."""

from __future__ import annotations

import logging

from swegym.plugins.runtimes import local
from swegym.plugins.runtimes.bwrap import sealed_bwrap_args
from swegym.plugins.runtimes.local import LocalRuntime


def binds(args: list[str]) -> list[tuple[str, str]]:
    return [(args[i + 1], args[i + 2]) for i, arg in enumerate(args) if arg in ("--bind", "--ro-bind")]


def test_sealed_args_bind_no_host_root_home_or_socket():
    args = sealed_bwrap_args([("bind", "/srv/tree", "/testbed")], network=False, workdir="/testbed")
    sources = [source for source, _ in binds(args)]
    assert "/" not in sources
    for forbidden in ("/root", "/home", "/var", "/run", "/etc", "/work", "/etc/shadow", "/var/run/docker.sock"):
        assert forbidden not in sources, forbidden
    assert all(s.startswith(("/usr", "/etc/", "/srv/tree")) for s in sources), sources
    assert ("/srv/tree", "/testbed") in binds(args)
    for flag in ("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"):
        assert flag in args
    assert args[args.index("--cap-drop") + 1] == "ALL"
    assert args[args.index("--uid") + 1] != "0"
    assert "--share-net" not in args and "/etc/resolv.conf" not in sources


def test_network_is_shared_only_when_asked():
    args = sealed_bwrap_args([], network=True, workdir="/testbed")
    assert "--share-net" in args


def test_isolation_none_warns_that_code_runs_with_your_rights(caplog):
    local._warned.discard("isolation-none")
    with caplog.at_level(logging.WARNING, logger=local.__name__):
        assert LocalRuntime(isolation="none").use_bwrap() is False
    assert "run with YOUR user's rights" in caplog.text


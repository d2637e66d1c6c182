"""The command server that lives inside a local sandbox for the sandbox's lifetime.

Starting a namespace per command (bubblewrap) costs several milliseconds; the server pays
it once. It reads one JSON request per line on stdin, runs the command in a fresh process
group with its timeout and output cap, and answers one JSON line on stdout. Every process
it starts inherits its namespaces and cgroup, so closing the sandbox can kill them all.

It runs as a plain script (``python -I -S exec_server.py``), importing only the
stdlib and its sibling ``process.py``: it starts in milliseconds, and nothing of the
host's site-packages is needed inside the sandbox.
"""

from __future__ import annotations

import json
import os
import sys

if __package__:
    from swegym.plugins.runtimes.process import kill_group, make_undumpable, run_process
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from process import kill_group, make_undumpable, run_process  # type: ignore[no-redef]

SCRIPT = os.path.abspath(__file__)


def serve(request_fd: int | None = None, reply_fd: int | None = None) -> None:
    make_undumpable()
    if request_fd is None or reply_fd is None:
        requests = sys.stdin
        replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
        # Commands must not write into the reply channel.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    else:
        requests, replies = os.fdopen(request_fd, "r"), os.fdopen(reply_fd, "w")
        for fd in (request_fd, reply_fd):
            os.set_inheritable(fd, False)
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    groups: set[int] = set()
    for line in requests:
        request = json.loads(line)
        result = run_process(
            ["bash", "-c", request["command"]],
            cwd=request.get("cwd"),
            env=request["env"],
            timeout=request.get("timeout"),
            max_output=request["max_output"],
            groups=groups,
        )
        reply = {
            "exit_code": result.exit_code,
            "output": result.output,
            "timed_out": result.timed_out,
            "truncated": result.truncated,
            "duration_s": result.duration_s,
        }
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    # The sandbox closed its end: take every process group we started with us.
    for group in groups:
        kill_group(group)


if __name__ == "__main__":
    serve(*(int(fd) for fd in sys.argv[1:3])) if len(sys.argv) == 3 else serve()

"""One bash process per episode, as OpenHands 0.14.0 kept it (runtime/utils/bash.py).

OpenHands drove an interactive bash through pexpect. Here one long-lived bash runs inside
the sandbox (started through ``Sandbox.exec`` with ``setsid``, so it outlives the call and
owns a process group) and executes each command with ``source`` in that same shell: the
working directory, variables, functions and background jobs persist, on every runtime.

Semantics kept from OpenHands (``run``):
- the command is split into top-level commands (OpenHands' own ``split_bash_commands``);
  each runs in turn, its text echoed before its output, and a failing one stops the rest;
- a command still running after ``timeout`` seconds (300 in SWE-Gym's runs) gets SIGINT,
  exit code 130 and OpenHands' note; if SIGINT does not end it within 2 tries of 1 s, its
  processes are killed with OpenHands' other note;
- an empty command shows what a still-running command printed since (exit code -1 if it is
  still running); ``ctrl+c`` sends SIGINT;
- output reads as the pty showed it (``\\r\\n`` line ends), followed by the prompt
  ``[Python Interpreter: ...]`` / ``user@openhands-workspace:DIR #``.
Not kept: a command cannot read stdin (it is /dev/null, where OpenHands' pty waited until
the timeout), and text sent while a command runs is run after it, not fed to its stdin.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Callable

import attrs

from swegym.core.runtime import Sandbox, SandboxError

SOFT_TIMEOUT_S = 5.0
INTERRUPT_WAIT_S = 1.0
INTERRUPT_TRIES = 2
_POLL = 0.05

_LOOP = r"""
echo $$ > {d}/pid
cd {workdir}
shopt -s expand_aliases
trap 'return 130 2>/dev/null' INT
exec 3<>{d}/in
while IFS= read -r __oh_n <&3; do
  source {d}/cmd.$__oh_n > {d}/out.$__oh_n 2>&1 < /dev/null
  __oh_rc=$?
  printf '%s\n%s\n%s\n%s\n' "$__oh_rc" "$(whoami 2>/dev/null || id -u)" "$(command -v python 2>/dev/null)" "$PWD" > {d}/st.$__oh_n.tmp
  mv {d}/st.$__oh_n.tmp {d}/st.$__oh_n
done
"""


@attrs.frozen
class PathView:
    """The repository's path as the model sees it (``/workspace/<name>``) and in the sandbox."""

    model_root: str
    sandbox_root: str

    def to_sandbox(self, text: str) -> str:
        return text if self.model_root == self.sandbox_root else text.replace(self.model_root, self.sandbox_root)

    def to_model(self, text: str) -> str:
        return text if self.model_root == self.sandbox_root else text.replace(self.sandbox_root, self.model_root)


@attrs.frozen
class BashResult:
    """What OpenHands' CmdOutputObservation held: content, exit code, interpreter details."""

    content: str
    exit_code: int
    interpreter_details: str = ""


@attrs.define
class _Step:
    output: str
    exit_code: int
    prompt: str


class BashSession:
    """The persistent shell of one episode (``close()`` kills it and everything it started)."""

    def __init__(
        self,
        sandbox: Sandbox,
        view: PathView,
        *,
        timeout: float = 300.0,
        split: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.view = view
        self.timeout = timeout
        self.split = split or (lambda command: [command] if command.strip() else [""])
        self.dir = f"{sandbox.state_dir.rstrip('/')}/.swegym-bash-{uuid.uuid4().hex[:12]}"
        self.count = 0
        self.running: int | None = None  # a command that has not finished
        self.offset = 0  # what of its output was shown already
        self.pid = 0
        self._start()

    # -- the shell process ----------------------------------------------------------

    def _start(self) -> None:
        d = shlex.quote(self.dir)
        self.sandbox.write_file(f"{self.dir}/loop.sh", _LOOP.format(d=d, workdir=shlex.quote(self.sandbox.workdir)))
        start = (
            f"mkfifo {d}/in && "
            f"if command -v setsid >/dev/null; then setsid -f bash --norc --noprofile {d}/loop.sh </dev/null >{d}/log 2>&1; "
            f"else bash --norc --noprofile {d}/loop.sh </dev/null >{d}/log 2>&1 & fi; "
            f"for i in $(seq 100); do [ -s {d}/pid ] && break; sleep {_POLL}; done; cat {d}/pid"
        )
        result = self.sandbox.exec(start, timeout=30)
        try:
            self.pid = int(result.output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SandboxError(f"the bash session did not start: {result.output.strip()[-300:]}") from None

    def close(self) -> None:
        if self.pid:
            try:
                self.sandbox.exec(f"kill -KILL -- -{self.pid} 2>/dev/null; kill -KILL {self.pid} 2>/dev/null; true", timeout=30)
            except SandboxError:
                pass  # a closed sandbox took the shell with it
            self.pid = 0

    def _signal(self, signal: str) -> None:
        # the shell's process group: the shell (which traps INT) and its foreground command
        self.sandbox.exec(f"kill -{signal} -- -{self.pid} 2>/dev/null || kill -{signal} {self.pid}", timeout=30)

    def _kill_children(self) -> None:
        script = (
            f"for s in /proc/[0-9]*/stat; do set -- $(cat $s 2>/dev/null | sed 's/.*) //'); "
            f"p=${{s#/proc/}}; p=${{p%/stat}}; [ \"$3\" = {self.pid} ] && [ \"$p\" != {self.pid} ] && kill -KILL $p 2>/dev/null; done; true"
        )
        self.sandbox.exec(script, timeout=30)

    def _wait(self, number: int, seconds: float) -> tuple[str | None, str]:
        """(status or None while running, new output) of command ``number`` after waiting."""
        d = shlex.quote(self.dir)
        ticks = max(1, int(seconds / _POLL))
        script = (
            f"for i in $(seq {ticks}); do [ -f {d}/st.{number} ] && break; sleep {_POLL}; done; "
            f"if [ -f {d}/st.{number} ]; then echo DONE; cat {d}/st.{number}; else echo RUNNING; fi; "
            f"echo '--swegym-output--'; tail -c +{self.offset + 1} {d}/out.{number} 2>/dev/null; true"
        )
        result = self.sandbox.exec(script, timeout=seconds + 60)
        head, _, output = result.output.partition("--swegym-output--\n")
        self.offset += len(output.encode())
        lines = head.splitlines()
        if lines and lines[0] == "DONE":
            return "\n".join(lines[1:]), output
        return None, output

    def _submit(self, command: str) -> int:
        self.count += 1
        number = self.count
        self.sandbox.write_file(f"{self.dir}/cmd.{number}", self.view.to_sandbox(command) + "\n")
        self.sandbox.exec(f"printf '%s\\n' {number} > {shlex.quote(self.dir)}/in", timeout=30)
        self.running, self.offset = number, 0
        return number

    # -- what the model sees -------------------------------------------------------------

    def _prompt(self, status: str | None) -> str:
        if status is None:
            return ""
        _, user, python, cwd = (status.split("\n") + ["", "", "", ""])[:4]
        other = f"[Python Interpreter: {python}]" if python else ""
        prompt = f"{other}\n{user}@openhands-workspace:{self.view.to_model(cwd)} "
        return prompt + ("# " if user in ("root", "0") else "$ ")

    def _finish(self, status: str | None, output: str) -> _Step:
        if status is None:
            return _Step(output, -1, "")
        self.running = None
        try:
            code = int(status.split("\n", 1)[0])
        except ValueError:
            code = 2  # OpenHands' value for an exit code it could not read
        return _Step(output, code, self._prompt(status))

    def _execute(self, command: str, timeout: float) -> _Step:
        if self.running is not None:  # still busy: OpenHands would type into it; we queue after it
            self._continue(SOFT_TIMEOUT_S)
        number = self._submit(command)
        status, output = self._wait(number, timeout)
        if status is not None:
            return self._finish(status, output)
        return self._interrupt(output, timeout)

    def _continue(self, seconds: float) -> _Step:
        if self.running is None:
            return _Step("", -1, "")  # nothing runs: OpenHands' expect timed out on an idle shell
        status, output = self._wait(self.running, seconds)
        return self._finish(status, output)

    def _interrupt(self, output: str, timeout: float | None) -> _Step:
        note = f"Command timed out after {timeout:g} seconds. " if timeout is not None else ""
        if self.running is None:
            # an idle shell answers SIGINT with a new prompt
            status, _ = self._idle_status()
            return _Step(output + f"\r\n\r\n[{note}SIGINT was sent to interrupt the command.]", 130, self._prompt(status))
        for _ in range(INTERRUPT_TRIES):
            self._signal("INT")
            status, more = self._wait(self.running, INTERRUPT_WAIT_S)
            output += more
            if status is not None:
                step = self._finish(status, output)
                return _Step(step.output + f"\r\n\r\n[{note}SIGINT was sent to interrupt the command.]", 130, step.prompt)
        self._kill_children()
        status, more = self._wait(self.running, INTERRUPT_WAIT_S * 5)
        step = self._finish(status, output + more)
        message = f"\r\n\r\n[{note}SIGINT was sent to interrupt the command, but failed. The command was killed.]"
        return _Step(step.output + message, step.exit_code, step.prompt)

    def _idle_status(self) -> tuple[str | None, str]:
        number = self._submit(":")
        return self._wait(number, 30)

    def run(self, command: str, *, timeout: float | None = None) -> BashResult:
        """Run ``command`` as OpenHands' BashSession.run did; the result as the model sees it."""
        timeout = self.timeout if timeout is None else timeout
        pieces = ""
        interpreter = ""
        exit_code = 0
        try:
            parts = self.split(command)
        except Exception:  # bashlex's NotImplementedError (arithmetic expansion, ...): run it whole
            parts = [command]
        for part in parts:
            if part == "":
                step = self._continue(SOFT_TIMEOUT_S)
            elif part.lower() == "ctrl+c":
                step = self._interrupt("", None)
            else:
                step = self._execute(part, timeout)
            exit_code = step.exit_code
            text = _pty(self.view.to_model(step.output)) + "\r\n" + step.prompt
            if part not in ("",) and part.lower() != "ctrl+c":
                head, marker, tail = text.rpartition("[Python Interpreter: ")
                if marker:
                    text, interpreter = head, marker + tail
            if pieces:
                pieces += "\r\n"
            pieces += part + "\r\n" + text
            if exit_code != 0:
                break
        return BashResult(pieces.rstrip("\r\n"), exit_code, interpreter)


def _pty(text: str) -> str:
    """Output as a terminal shows it: every line end ``\\r\\n``."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")

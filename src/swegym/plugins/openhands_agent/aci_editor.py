"""``str_replace_editor`` as openhands-aci 0.1.0's ``OHEditor`` behaved, on sandbox files.

OHEditor works on the local file system of OpenHands' runtime container; this one reads and
writes through ``Sandbox.read_file`` / ``write_file`` / ``exec``, so it works on every
runtime, and maps the model's ``/workspace/<name>`` view onto the sandbox's work tree. The
behaviour follows 0.1.0 (tests compare it with the installed OHEditor):
- any absolute path is accepted (not only the repository);
- ``view`` of a file is clipped at 16,000 characters of content with aci's notice; of a
  directory, ``find PATH -maxdepth 2 -not -path '*/\\.*'`` in the order find prints;
- every edit, ``create`` included, pushes onto the file's history: ``undo_edit`` after a
  ``create`` writes the created text again (the file stays), as 0.1.0 did;
- tabs are expanded in ``old_str``/``new_str`` (``str_replace``) and in the whole file
  (``insert``); line counts split on ``\\n`` (a trailing newline counts a last empty line).
The one change: ``create`` without ``file_text`` is aci's bare ``raise`` (a RuntimeError
traceback in the IPython cell); here it is the parameter-missing message.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from swegym.core.runtime import Sandbox
from swegym.plugins.openhands_agent.bash import PathView

COMMANDS = ("view", "create", "str_replace", "insert", "undo_edit")


class EditorError(Exception):
    """aci's ToolError: the message the model gets after ``ERROR:``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _invalid(parameter: str, value: Any, hint: str | None = None) -> EditorError:
    return EditorError(f"Invalid `{parameter}` parameter: {value}. {hint}" if hint else f"Invalid `{parameter}` parameter: {value}.")


def _missing(command: str, parameter: str) -> EditorError:
    return EditorError(f"Parameter `{parameter}` is required for command: {command}.")


class ACIEditor:
    """One episode's editor: its undo history lives as long as the episode."""

    def __init__(self, sandbox: Sandbox, view: PathView, *, max_chars: int, notice: str, snippet_lines: int) -> None:
        self.sandbox = sandbox
        self.view = view
        self.max_chars = max_chars
        self.notice = notice
        self.snippet_lines = snippet_lines
        self.history: dict[str, list[str]] = defaultdict(list)

    def __call__(self, arguments: Mapping[str, Any]) -> str:
        """The observation: the output, or ``ERROR:\\n`` and the message (aci's file_editor)."""
        try:
            return self._run(**arguments)
        except EditorError as exc:
            return f"ERROR:\n{exc.message}"

    def _run(self, *, command: str, path: str, file_text: str | None = None, view_range: list[int] | None = None,
             old_str: str | None = None, new_str: str | None = None, insert_line: int | None = None, **_: Any) -> str:
        self._validate(command, path)
        if command == "view":
            return self._view(path, view_range)
        if command == "create":
            if not file_text:
                raise _missing(command, "file_text")
            self._write(path, file_text)
            self.history[path].append(file_text)
            return f"File created successfully at: {path}"
        if command == "str_replace":
            if not old_str:
                raise _missing(command, "old_str")
            return self._str_replace(path, old_str, new_str)
        if command == "insert":
            if insert_line is None:
                raise _missing(command, "insert_line")
            if not new_str:
                raise _missing(command, "new_str")
            return self._insert(path, int(insert_line), new_str)
        if command == "undo_edit":
            return self._undo(path)
        raise EditorError(f"Unrecognized command {command}. The allowed commands for the oh_editor tool are: {', '.join(COMMANDS)}")

    # -- the file system, through the sandbox ---------------------------------------------

    def _where(self, path: str) -> str:
        return self.view.to_sandbox(path)

    def _kind(self, path: str) -> str:
        quoted = shlex.quote(self._where(path))
        result = self.sandbox.exec(f"if [ -d {quoted} ]; then echo dir; elif [ -e {quoted} ]; then echo file; else echo none; fi", timeout=60)
        return result.output.strip() or "none"

    def _read(self, path: str) -> str:
        try:
            return self.sandbox.read_file(self._where(path))
        except (OSError, UnicodeDecodeError, Exception) as exc:  # noqa: BLE001 - aci reports any failure the same way
            raise EditorError(f"Ran into {exc} while trying to read {path}") from None

    def _write(self, path: str, text: str) -> None:
        parent = path.rsplit("/", 1)[0] or "/"
        if self._kind(parent) != "dir":  # Path.write_text does not make parent directories
            raise EditorError(f"Ran into [Errno 2] No such file or directory: '{path}' while trying to write to {path}")
        try:
            self.sandbox.write_file(self._where(path), text)
        except Exception as exc:  # noqa: BLE001
            raise EditorError(f"Ran into {exc} while trying to write to {path}") from None

    def _validate(self, command: str, path: str) -> None:
        if not path.startswith("/"):
            raise _invalid("path", path, f"The path should be an absolute path, starting with `/`. Maybe you meant {path}?")
        kind = self._kind(path)
        if command == "create" and kind != "none":
            raise _invalid("path", path, f"File already exists at: {path}. Cannot overwrite files using command `create`.")
        if command != "create" and kind == "none":
            raise _invalid("path", path, f"The path {path} does not exist. Please provide a valid path.")
        if command != "view" and kind == "dir":
            raise _invalid("path", path, f"The path {path} is a directory and only the `view` command can be used on directories.")

    # -- commands ---------------------------------------------------------------------------

    def _clip(self, text: str) -> str:
        return text if not self.max_chars or len(text) <= self.max_chars else text[: self.max_chars] + self.notice

    def _output(self, snippet: str, description: str, start: int = 1) -> str:
        snippet = self._clip(snippet).expandtabs()
        numbered = "\n".join(f"{i + start:6}\t{line}" for i, line in enumerate(snippet.split("\n")))
        return f"Here's the result of running `cat -n` on {description}:\n" + numbered + "\n"

    def _view(self, path: str, view_range: list[int] | None) -> str:
        if self._kind(path) == "dir":
            if view_range:
                raise _invalid("view_range", view_range, "The `view_range` parameter is not allowed when `path` points to a directory.")
            listing = self.sandbox.exec(f"find {shlex.quote(self._where(path))} -maxdepth 2 -not -path '*/\\.*'", timeout=120)
            # aci read stdout and stderr apart: an error message replaces the listing
            stdout = self._clip(self.view.to_model(listing.output))
            if listing.exit_code != 0:
                return f"ERROR:\n{stdout}"
            return f"Here's the files and directories up to 2 levels deep in {path}, excluding hidden items:\n{stdout}\n"
        content = self._read(path)
        if not view_range:
            return self._output(content, path)
        if len(view_range) != 2 or not all(isinstance(i, int) for i in view_range):
            raise _invalid("view_range", view_range, "It should be a list of two integers.")
        lines = content.split("\n")
        count = len(lines)
        start, end = view_range
        if start < 1 or start > count:
            raise _invalid("view_range", view_range, f"Its first element `{start}` should be within the range of lines of the file: {[1, count]}.")
        if end > count:
            raise _invalid("view_range", view_range, f"Its second element `{end}` should be smaller than the number of lines in the file: `{count}`.")
        if end != -1 and end < start:
            raise _invalid("view_range", view_range, f"Its second element `{end}` should be greater than or equal to the first element `{start}`.")
        shown = "\n".join(lines[start - 1 :]) if end == -1 else "\n".join(lines[start - 1 : end])
        return self._output(shown, path, start)

    def _str_replace(self, path: str, old: str, new: str | None) -> str:
        content = self._read(path)
        old = old.expandtabs()
        new = new.expandtabs() if new is not None else ""
        occurrences = content.count(old)
        if occurrences == 0:
            raise EditorError(f"No replacement was performed, old_str `{old}` did not appear verbatim in {path}.")
        if occurrences > 1:
            numbers = [index + 1 for index, line in enumerate(content.split("\n")) if old in line]
            raise EditorError(f"No replacement was performed. Multiple occurrences of old_str `{old}` in lines {numbers}. Please ensure it is unique.")
        updated = content.replace(old, new)
        self._write(path, updated)
        self.history[path].append(content)
        line = content.split(old)[0].count("\n")
        start = max(0, line - self.snippet_lines)
        end = line + self.snippet_lines + new.count("\n")
        snippet = "\n".join(updated.split("\n")[start : end + 1])
        return (
            f"The file {path} has been edited. "
            + self._output(snippet, f"a snippet of {path}", start + 1)
            + "Review the changes and make sure they are as expected. Edit the file again if necessary."
        )

    def _insert(self, path: str, line: int, new: str) -> str:
        text = self._read(path).expandtabs()
        new = new.expandtabs()
        lines = text.split("\n")
        count = len(lines)
        if line < 0 or line > count:
            raise _invalid("insert_line", line, f"It should be within the range of lines of the file: {[0, count]}")
        new_lines = new.split("\n")
        updated = "\n".join(lines[:line] + new_lines + lines[line:])
        snippet = "\n".join(
            lines[max(0, line - self.snippet_lines) : line] + new_lines + lines[line : min(count, line + self.snippet_lines)]
        )
        self._write(path, updated)
        self.history[path].append(text)
        return (
            f"The file {path} has been edited. "
            + self._output(snippet, "a snippet of the edited file", max(1, line - self.snippet_lines + 1))
            + "Review the changes and make sure they are as expected (correct indentation, no duplicate lines, etc). "
            "Edit the file again if necessary."
        )

    def _undo(self, path: str) -> str:
        if not self.history[path]:
            raise EditorError(f"No edit history found for {path}.")
        previous = self.history[path].pop()
        self._write(path, previous)
        return f"Last edit to {path} undone successfully. {self._output(previous, path)}"

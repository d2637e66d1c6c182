"""OpenHands' own prompts, formats and rules, read from the installed packages at run time.

SWE-Gym ran CodeActAgent from openhands-ai 0.14.0 with openhands-aci 0.1.0's editor. Their
text is not retyped here: this module finds the installed files and takes what the scaffold
needs from them without importing OpenHands' module graph (litellm, browsergym, docker, ...):

- ``agenthub/codeact_agent/prompts/system_prompt.j2``: the system prompt;
- ``agenthub/codeact_agent/function_calling.py``: the schemas of execute_bash,
  str_replace_editor and finish (their assignments are evaluated alone);
- ``llm/fn_call_converter.py``: the text tool-call format for models without function
  calling, its in-context example, its parser and its stop words (the module is evaluated
  without its imports, which are two exception classes and a type alias);
- ``llm/llm.py``: the models OpenHands drove with native function calls;
- ``controller/stuck.py``: ``StuckDetector``, evaluated over this plugin's event classes;
- ``runtime/utils/bash.py``: ``split_bash_commands`` (needs bashlex);
- ``events/serialization/event.py``: ``truncate_content``, the observation truncation;
- ``openhands_aci.editor``: the editor's clipping length, notice and snippet window.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import logging
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from swegym.core.errors import SwegymError

OPENHANDS_VERSION = "0.14.0"
ACI_VERSION = "0.1.0"
INSTALL = f"pip install --no-deps --ignore-requires-python openhands-ai=={OPENHANDS_VERSION} openhands-aci=={ACI_VERSION} bashlex"


class OriginalMissing(SwegymError):
    """OpenHands' packages (the source of the scaffold's prompts and rules) are not installed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the openhands scaffold reads {what} from OpenHands' own packages: {INSTALL}")


class FunctionCallConversionError(Exception):
    """Raised by OpenHands' converter for a conversation it cannot convert."""


class FunctionCallValidationError(Exception):
    """Raised by OpenHands' converter for a call that does not fit the tools' schemas."""


def _package_dir(name: str, what: str) -> Path:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise OriginalMissing(what)
    return Path(next(iter(spec.submodule_search_locations)))


def _evaluate(path: Path, namespace: dict[str, Any], *, only: Iterable[str] | None = None) -> dict[str, Any]:
    """The top-level definitions of ``path``, evaluated without its imports in ``namespace``.

    ``only``: keep just the assignments, functions and classes of these names.
    """
    if not path.is_file():
        raise OriginalMissing(str(path.name))
    tree = ast.parse(path.read_text(), str(path))
    wanted = set(only) if only is not None else None
    body = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if wanted is not None:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = {node.name}
            elif isinstance(node, ast.Assign):
                names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = {node.target.id}
            else:
                continue
            if not names & wanted:
                continue
        elif not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)):
            continue  # module-level checks (asserts, loops over browsergym) are not needed
        body.append(node)
    module = ast.Module(body=body, type_ignores=[])
    exec(compile(module, str(path), "exec"), namespace)  # noqa: S102 - the installed package's own code
    return namespace


class _Logger(logging.LoggerAdapter):
    def __init__(self) -> None:
        super().__init__(logging.getLogger("swegym.openhands"), {})


@attrs.frozen
class Originals:
    """What the scaffold takes from OpenHands, loaded once per process (``load()``)."""

    system_prompt: str
    tools: tuple[Mapping[str, Any], ...]
    stop_words: tuple[str, ...]
    function_calling_models: tuple[str, ...]
    to_text_messages: Callable[..., list[dict[str, Any]]]
    from_text_messages: Callable[..., list[dict[str, Any]]]
    tool_call_to_string: Callable[[dict[str, Any]], str]
    truncate_content: Callable[[str, int], str]
    stuck_detector: type
    split_bash_commands: Callable[[str], list[str]] | None
    editor_max_chars: int
    editor_notice: str
    editor_snippet_lines: int
    example_prefix: str
    example_suffix: str
    source_dir: str

    def uses_native_calls(self, model: str) -> bool:
        """Whether OpenHands drove ``model`` with native function calls (its own rule)."""
        return (
            model in self.function_calling_models
            or model.split("/")[-1] in self.function_calling_models
            or any(name in model for name in self.function_calling_models)
        )


@functools.cache
def load() -> Originals:
    """Read OpenHands 0.14.0 and openhands-aci 0.1.0 from the installed packages."""
    root = _package_dir("openhands", f"CodeActAgent (openhands-ai=={OPENHANDS_VERSION})")
    aci = _package_dir("openhands_aci", f"the editor (openhands-aci=={ACI_VERSION})")
    agent = root / "agenthub" / "codeact_agent"
    prompt = (agent / "prompts" / "system_prompt.j2")
    if not prompt.is_file():
        raise OriginalMissing("the system prompt")
    system_prompt = prompt.read_text()
    if "{%" in system_prompt or "{{" in system_prompt:
        import jinja2

        system_prompt = jinja2.Template(system_prompt).render()
    system_prompt = system_prompt.strip()

    # the tool schemas: ChatCompletionToolParam and its function chunk are TypedDicts (dicts)
    tools_ns = _evaluate(
        agent / "function_calling.py",
        {"ChatCompletionToolParam": dict, "ChatCompletionToolParamFunctionChunk": dict},
        only=("_BASH_DESCRIPTION", "CmdRunTool", "_STR_REPLACE_EDITOR_DESCRIPTION", "StrReplaceEditorTool",
              "_FINISH_DESCRIPTION", "FinishTool", "get_tools"),
    )
    tools = (tools_ns["CmdRunTool"], tools_ns["FinishTool"], tools_ns["StrReplaceEditorTool"])  # get_tools' order

    converter = _evaluate(
        root / "llm" / "fn_call_converter.py",
        {
            "ChatCompletionToolParam": dict,
            "Iterable": typing.Iterable,
            "FunctionCallConversionError": FunctionCallConversionError,
            "FunctionCallValidationError": FunctionCallValidationError,
            "copy": __import__("copy"),
            "json": __import__("json"),
            "re": __import__("re"),
        },
    )
    llm_ns = _evaluate(root / "llm" / "llm.py", {}, only=("FUNCTION_CALLING_SUPPORTED_MODELS",))
    event_ns = _evaluate(root / "events" / "serialization" / "event.py", {}, only=("truncate_content",))

    from swegym.plugins.openhands_agent import events

    stuck_ns = _evaluate(
        root / "controller" / "stuck.py",
        {name: getattr(events, name) for name in events.__all__} | {"logger": _Logger()},
        only=("StuckDetector",),
    )
    split = None
    try:
        import bashlex

        bash_ns = _evaluate(
            root / "runtime" / "utils" / "bash.py", {"bashlex": bashlex, "logger": _Logger()}, only=("split_bash_commands",)
        )
        split = bash_ns["split_bash_commands"]
    except ImportError:
        pass
    aci_ns: dict[str, Any] = {}
    for name in ("config.py", "prompts.py"):
        _evaluate(aci / "editor" / name, aci_ns)
    return Originals(
        system_prompt=system_prompt,
        tools=tools,
        stop_words=tuple(converter["STOP_WORDS"]),
        function_calling_models=tuple(llm_ns["FUNCTION_CALLING_SUPPORTED_MODELS"]),
        to_text_messages=converter["convert_fncall_messages_to_non_fncall_messages"],
        from_text_messages=converter["convert_non_fncall_messages_to_fncall_messages"],
        tool_call_to_string=converter["convert_tool_call_to_string"],
        truncate_content=event_ns["truncate_content"],
        stuck_detector=stuck_ns["StuckDetector"],
        split_bash_commands=split,
        editor_max_chars=int(aci_ns["MAX_RESPONSE_LEN_CHAR"]),
        editor_notice=aci_ns["CONTENT_TRUNCATED_NOTICE"],
        editor_snippet_lines=int(aci_ns["SNIPPET_CONTEXT_WINDOW"]),
        example_prefix=converter["IN_CONTEXT_LEARNING_EXAMPLE_PREFIX"],
        example_suffix=converter["IN_CONTEXT_LEARNING_EXAMPLE_SUFFIX"],
        source_dir=str(root),
    )


def tool_names(originals: Originals) -> Sequence[str]:
    return [tool["function"]["name"] for tool in originals.tools]

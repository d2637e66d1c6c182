"""swegym's grading plugin for pytest, shipped into the sandbox as a standalone file.

The grader loads it first (``-p swegym_pytest_guard`` in PYTEST_ADDOPTS), before any
conftest or package code, and reads per-test outcomes from the file it writes instead of
the test log, which the code under test can print into. It records:

- each report as pytest's own runner made it (the innermost ``pytest_runtest_makereport``
  wrapper) and as it was logged: a difference means a plugin rewrote it;
- pytest's exit status and its terminal counts at the end of the session: a run that
  stops before (``os._exit``) or whose counts disagree with its log is suspect;
- where every hook implementation comes from, so the grader can tell hooks registered by
  code the patch changed;
- whether pytest's runner functions were replaced after this plugin loaded.

It runs in the tested Python (any version pytest supports): stdlib and pytest only.
"""

import json
import os
import sys

import pytest

_PATH = os.environ.pop("SWEGYM_GUARD_FILE", None)
_NONCE = os.environ.pop("SWEGYM_GUARD_NONCE", "")
_OUT = open(_PATH, "a", buffering=1) if _PATH else None  # noqa: SIM115 (kept for the session)
_MADE = {}  # (nodeid, when) -> outcome as pytest's runner made it


def _emit(record):
    if _OUT is not None:
        record["nonce"] = _NONCE
        _OUT.write(json.dumps(record) + "\n")
        _OUT.flush()


def _runner_functions():
    import _pytest.reports
    import _pytest.runner

    found = {}
    for module, names in (
        (_pytest.runner, ("call_and_report", "runtestprotocol", "call_runtest_hook", "pytest_runtest_makereport")),
        (_pytest.reports.TestReport, ("from_item_and_call", "__init__")),
        (_pytest.runner.CallInfo, ("from_call",)),
    ):
        for name in names:
            found[getattr(module, "__name__", str(module)) + "." + name] = vars(module).get(name)
    return found


_RUNNER = _runner_functions()
_emit({"event": "start", "pytest": pytest.__version__, "python": sys.version.split()[0]})


def _outcome(report):
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    return report.outcome


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item, call):
    result = yield
    try:
        report = result.get_result()
    except BaseException:
        return
    # pytest's own skipping plugin turns a failure into an xfail later, legitimately, when
    # the test is marked xfail or called pytest.xfail(): note whether that is the case.
    excinfo = getattr(call, "excinfo", None)
    xfail_ok = item.get_closest_marker("xfail") is not None or (
        excinfo is not None and type(excinfo.value).__name__ == "XFailed"
    )
    _MADE[(report.nodeid, report.when)] = [_outcome(report), xfail_ok]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    made = _MADE.pop((report.nodeid, report.when), [None, False])
    _emit(
        {
            "event": "report",
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": _outcome(report),
            "made": made[0],
            "xfail_ok": made[1],
        }
    )


def _hook_sources(pluginmanager):
    sources = set()
    for name in dir(pluginmanager.hook):
        if not name.startswith("pytest_"):
            continue
        caller = getattr(pluginmanager.hook, name)
        for impl in getattr(caller, "get_hookimpls", lambda: [])():
            code = getattr(impl.function, "__code__", None)
            sources.add(code.co_filename if code is not None else repr(impl.function))
    return sorted(sources)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    yield
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    counts = {}
    if reporter is not None:
        for key, reports in reporter.stats.items():
            if key:
                counts[key] = len([r for r in reports if getattr(r, "count_towards_summary", True)])
    _emit(
        {
            "event": "finish",
            "exitstatus": int(getattr(session, "exitstatus", exitstatus)),
            "counts": counts,
            "hook_sources": _hook_sources(session.config.pluginmanager),
            "runner_replaced": sorted(k for k, v in _runner_functions().items() if _RUNNER.get(k) is not v),
            "unlogged": sorted("%s (%s)" % key for key in _MADE),
        }
    )

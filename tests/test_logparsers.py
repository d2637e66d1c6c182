"""The log parsers on real pytest output (produced by running pytest here)."""

import subprocess
import sys
import textwrap

import pytest

from swegym.core.logparsers import get_log_parser, parse_log_pytest, parse_log_pytest_verbose

TESTS = textwrap.dedent(
    '''
    import pytest

    def test_ok():
        pass

    def test_fails():
        assert [1] == [2], "lists differ - really"

    @pytest.mark.parametrize("text", ["1.0.0 - 2.0.0", "[1.0]", "^1.2.3-rc.1", "a b", "x[y"])
    def test_param(text):
        assert text != "a b"

    @pytest.mark.parametrize("n", [1, 2], ids=["with space", "dash-id"])
    def test_ids(n):
        pass

    @pytest.mark.skip(reason="not today")
    def test_skipped():
        pass

    @pytest.mark.xfail(reason="known bug")
    def test_xfail():
        assert False

    @pytest.fixture
    def broken():
        raise RuntimeError("fixture broke")

    def test_error(broken):
        pass

    class TestGroup:
        def test_method(self):
            pass
    '''
)

EXPECTED = {
    "test_sample.py::test_ok": "PASSED",
    "test_sample.py::test_fails": "FAILED",
    "test_sample.py::test_param[1.0.0 - 2.0.0]": "PASSED",
    "test_sample.py::test_param[[1.0]]": "PASSED",
    "test_sample.py::test_param[^1.2.3-rc.1]": "PASSED",
    "test_sample.py::test_param[a b]": "FAILED",
    "test_sample.py::test_param[x[y]": "PASSED",
    "test_sample.py::test_ids[with space]": "PASSED",
    "test_sample.py::test_ids[dash-id]": "PASSED",
    "test_sample.py::test_xfail": "XFAIL",
    "test_sample.py::test_error": "ERROR",
    "test_sample.py::TestGroup::test_method": "PASSED",
}


def run_pytest(tmp_path, *args):
    (tmp_path / "test_sample.py").write_text(TESTS)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:timeout", *args, "test_sample.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "test_sample.py" in result.stdout, result.stdout + result.stderr
    return result.stdout


def test_pytest_rA_summary(tmp_path):
    parsed = parse_log_pytest(run_pytest(tmp_path, "-rA"))
    assert parsed == EXPECTED


def test_pydantic_variant_reads_verbose_lines(tmp_path):
    log = run_pytest(tmp_path, "-rA", "--tb=short", "-vv", "-o", "console_output_style=classic", "--no-header")
    parsed = get_log_parser("pytest_pydantic")(log)
    assert parsed == {**EXPECTED, "test_sample.py::test_skipped": "SKIPPED"}


def test_verbose_parser_without_summary(tmp_path):
    parsed = parse_log_pytest_verbose(run_pytest(tmp_path, "-v"))
    assert parsed["test_sample.py::test_skipped"] == "SKIPPED"
    assert parsed["test_sample.py::test_param[1.0.0 - 2.0.0]"] == "PASSED"
    assert parsed["test_sample.py::test_fails"] == "FAILED"


@pytest.mark.parametrize(
    "line, test_id",
    [
        ("FAILED t.py::test_a - AssertionError: x - y", "t.py::test_a"),
        ("FAILED t.py::test_a[1 - 2] - assert [1] == [2] - z", "t.py::test_a[1 - 2]"),
        ("ERROR t.py - ImportError: no module", "t.py"),
        ("PASSED t.py::test_b[a] b]", "t.py::test_b[a] b]"),
        ("XFAIL t.py::test_d - reason: known", "t.py::test_d"),
    ],
)
def test_summary_line_ids(line, test_id):
    assert list(parse_log_pytest(line)) == [test_id]


@pytest.mark.parametrize("parser", [parse_log_pytest, parse_log_pytest_verbose])
def test_only_markers_at_the_start_of_a_line_count(parser):
    # what pytest writes counts (a CRLF log too); what code under test prints, indented or coloured, does not
    log = (
        "PASSED t.py::test_real\r\n"
        "  PASSED t.py::test_indented\n"
        "\tFAILED t.py::test_tab\n"
        "\x1b[32mPASSED\x1b[0m t.py::test_coloured\n"
        "t.py::test_v \x1b[32mPASSED\x1b[0m\n"
        "  t.py::test_w PASSED\n"
    )
    assert parser(log) == {"t.py::test_real": "PASSED"}


def test_noise_is_ignored():
    log = "PASSED\nSKIPPED [1] t.py:3: not today\ncollected 3 items\n= 1 passed in 0.1s =\n"
    assert parse_log_pytest(log) == {}


def test_unknown_parser_lists_known():
    with pytest.raises(KeyError, match="known: pytest"):
        get_log_parser("junit")

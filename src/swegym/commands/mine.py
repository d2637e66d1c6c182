"""``swegym mine``: turn a local git history into SWE-bench-style task instances."""

from __future__ import annotations

from pathlib import Path

import click

from swegym.core.datasets import write_instances
from swegym.core.errors import UsageError
from swegym.core.mining import VERSION_SOURCES, find_pull_request, load_issues, mine_commit
from swegym.core.mining import mine as mine_instances


@click.command()
@click.option(
    "--repo-path", required=True, type=click.Path(path_type=Path),
    help="A work tree, a bare repository or a git bundle file.",
)
@click.option(
    "--repo", "repo_name",
    help="Repository name, e.g. owner/name (default: from the origin remote, else local/<dirname>).",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL file to write the instances to.",
)
@click.option(
    "--issues", "issues_file", type=click.Path(path_type=Path),
    help="JSON object mapping commit SHAs or issue numbers to {number, title, body}.",
)
@click.option("--from", "history_from", default="HEAD", show_default=True, help="Mine the history reachable from REV.")
@click.option("--rev", help="Mine exactly this commit (a merge against its first parent), or say why it does not qualify.")
@click.option("--pr", type=click.IntRange(min=1), help="Mine the commit that merged pull request N.")
@click.option(
    "--merges/--no-merges", default=False, show_default=True,
    help="Also mine merge commits (e.g. merged pull requests) against their first parent.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Keep only the N most recent instances.")
@click.option(
    "--version-from", type=click.Choice(VERSION_SOURCES), default="release", show_default=True,
    help="release: the release the base commit belongs to (version file, else first release tag "
    "containing it), mapped onto the repository's spec versions; tag: the nearest tag; "
    "pyproject: pyproject.toml's version.",
)
@click.pass_obj
def mine(
    app, repo_path: Path, repo_name: str | None, out: Path, issues_file: Path | None,
    history_from: str, rev: str | None, pr: int | None, merges: bool, limit: int | None, version_from: str,
) -> None:
    """Mine task instances from commits that change both code and tests."""
    if rev and pr:
        raise UsageError("give --rev or --pr, not both")
    issues = load_issues(issues_file) if issues_file else None
    from swegym.core.mining import repository_name

    name = repo_name or repository_name(repo_path)
    repositories = app.components["repositories"]
    # A registered repository's spec versions: each instance gets the one serving its release.
    spec_versions = repositories.get(name).versions if name in repositories else ()
    if pr:
        rev = find_pull_request(repo_path, pr, rev=history_from)
        app.console.print(f"pull request #{pr} was merged by {rev[:12]}")
    if rev:
        report = mine_commit(
            repo_path, rev, repo=name, issues=issues, version_from=version_from, spec_versions=spec_versions
        )
    else:
        report = mine_instances(
            repo_path, repo=name, rev=history_from, merges=merges, limit=limit, issues=issues,
            version_from=version_from, spec_versions=spec_versions,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    written = write_instances(report.instances, out)
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"mined {escape(str(repo_path))}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("commits scanned", str(report.scanned))
    table.add_row("candidates", str(report.candidates))
    for reason, count in sorted(report.skipped.items()):
        table.add_row(f"skipped: {reason}", str(count))
    table.add_row(f"instances written to {escape(str(out))}", str(written))
    app.print_table(table)
    for instance in report.instances if rev else ():
        source = instance.extra.get("version_source", "")
        app.console.print(f"{instance.instance_id}: version {instance.version or '(none)'} ({escape(source)})")
    for warning in report.warnings:
        app.console.print(f"[yellow]warning:[/] {escape(warning)}")


COMMANDS = [mine]

"""Commands that show what is installed: plugins, components, repositories, instances."""

from __future__ import annotations

import json

import click

from swegym.core.datasets import load_instances
from swegym.core.options import describe_options
from swegym.core.registry import KINDS


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def plugins(app, as_json: bool) -> None:
    """List loaded plugins: name, what they register, distribution and version."""
    rows = []
    for name, plugin in app.pm.list_name_plugin():
        if plugin is None:
            continue
        distribution, version = app.pm.distribution_of(name)
        rows.append(
            {
                "name": name,
                "kinds": app.components.kinds_of(name),
                "distribution": distribution,
                "version": version,
            }
        )
    rows.sort(key=lambda row: (row["distribution"] != "swegym", row["name"]))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} plugins")
    for column in ("name", "registers", "distribution", "version"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], ", ".join(row["kinds"]), row["distribution"], row["version"])
    app.print_table(table)


@click.command()
@click.argument("kind", required=False, type=click.Choice(sorted(KINDS)))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
def components(app, kind: str | None, as_json: bool) -> None:
    """List registered components of every kind (or of KIND), with their options."""
    kinds = [kind] if kind else list(KINDS)
    listing: dict[str, list[dict]] = {}
    for each in kinds:
        entries = []
        for entry in app.components[each]:
            options = [] if each == "repositories" else describe_options(entry.component)
            entries.append(
                {
                    "name": entry.name,
                    "plugin": entry.plugin,
                    "description": _summary(entry.component),
                    "options": [
                        {"name": o.name, "type": o.type, "default": o.default, "help": o.help}
                        for o in options
                    ],
                }
            )
        listing[each] = entries
    if as_json:
        click.echo(json.dumps(listing, indent=2, default=str))
        return
    from rich.table import Table

    for each, entries in listing.items():
        table = Table(title=f"{each} ({len(entries)})", title_justify="left")
        table.add_column("name")
        table.add_column("plugin")
        table.add_column("options")
        table.add_column("description")
        for entry in entries:
            options = ", ".join(f"{o['name']}: {o['type']} = {o['default']!r}" for o in entry["options"])
            table.add_row(entry["name"], entry["plugin"], options or "-", entry["description"])
        app.print_table(table)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def repos(app, as_json: bool) -> None:
    """List repositories: environment versions, Lite instances, paper instance counts."""
    rows = [
        {
            "repository": entry.name,
            "versions": len(entry.component.environments),
            "lite": len(entry.component.lite_ids),
            "paper_instances": entry.component.paper_instances,
            "plugin": entry.plugin,
            "url": entry.component.url,
        }
        for entry in app.components["repositories"]
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    swegym = [row for row in rows if row["paper_instances"] is not None]
    title = (
        f"{len(swegym)} SWE-Gym repositories, {sum(r['versions'] for r in swegym)} versions, "
        f"{sum(r['lite'] for r in swegym)} Lite ids"
    )
    if len(rows) > len(swegym):
        title += f"; {len(rows) - len(swegym)} more from plugins"
    total_versions = sum(row["versions"] for row in rows)
    total_lite = sum(row["lite"] for row in rows)
    table = Table(title=title, show_footer=True)
    table.add_column("repository", footer="total", no_wrap=True)
    table.add_column("versions", justify="right", footer=str(total_versions))
    table.add_column("Lite", justify="right", footer=str(total_lite))
    table.add_column("SWE-Gym instances", justify="right")
    table.add_column("plugin")
    for row in rows:
        paper = "-" if row["paper_instances"] is None else str(row["paper_instances"])
        table.add_row(row["repository"], str(row["versions"]), str(row["lite"]), paper, row["plugin"])
    app.print_table(table)


@click.command()
@click.option("--dataset", "-d", required=True, help="A registered dataset name, a .jsonl/.json/.parquet file, or a Hub id.")
@click.option("--repo", "repo_filter", multiple=True, help="Only instances of this repository (repeatable).")
@click.option("--split", type=click.Choice(["all", "lite"]), default="all", show_default=True, help="'lite': only SWE-Gym Lite ids.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSONL.")
@click.pass_obj
def instances(app, dataset: str, repo_filter: tuple[str, ...], split: str, as_json: bool) -> None:
    """List the task instances of a dataset."""
    selected = load_instances(dataset, app.components)
    if repo_filter:
        wanted = {name.lower() for name in repo_filter}
        selected = [i for i in selected if i.repo.lower() in wanted]
    if split == "lite":
        lite = set().union(*(entry.component.lite_ids for entry in app.components["repositories"]))
        selected = [i for i in selected if i.instance_id in lite]
    if as_json:
        for instance in selected:
            click.echo(json.dumps(instance.to_record()))
        return
    from rich.table import Table

    table = Table(title=f"{len(selected)} instances from {dataset}")
    table.add_column("instance_id", no_wrap=True)
    table.add_column("repo")
    table.add_column("version")
    table.add_column("F2P", justify="right")
    table.add_column("P2P", justify="right")
    table.add_column("created", no_wrap=True)
    for instance in selected:
        table.add_row(
            instance.instance_id,
            instance.repo,
            instance.version or "-",
            str(len(instance.FAIL_TO_PASS)),
            str(len(instance.PASS_TO_PASS)),
            instance.created_at[:10] or "-",
        )
    app.print_table(table)


def _summary(component) -> str:
    doc = getattr(component, "description", "") or (component.__doc__ or "")
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    return first.replace("``", "")  # docstrings use RST literals; the table is plain text


COMMANDS = [plugins, components, repos, instances]

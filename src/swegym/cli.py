"""The ``swegym`` command line: a click group whose commands come from core and plugins."""

from __future__ import annotations

import sys
from typing import Any

import click

from swegym.core.errors import SwegymError
from swegym.core.plugins import PluginManager, get_plugin_manager
from swegym.core.registry import Components


class App:
    """What every command gets through ``@click.pass_obj``: plugins, components, console."""

    def __init__(self, pm: PluginManager) -> None:
        self.pm = pm
        self.components = Components(pm)
        self._console = None

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=False)
        return self._console

    def print_table(self, table: Any) -> None:
        self.console.print(table)


class SwegymGroup(click.Group):
    """Turns swegym's user errors into one clean line and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SwegymError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None


pass_app = click.pass_obj


def build_cli(pm: PluginManager | None = None) -> click.Group:
    """The root group with core commands and every plugin's ``swegym_register_commands``."""

    @click.group(cls=SwegymGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="swegym", prog_name="swegym")
    @click.option(
        "--no-plugins",
        is_flag=True,
        help="Load only swegym's built-in plugins (rescue for a broken third-party plugin; "
        "SWEGYM_DISABLE_PLUGINS=a,b blocks single ones).",
    )
    @click.pass_context
    def cli(ctx: click.Context, no_plugins: bool) -> None:
        """swegym: train software-engineering agents and verifiers on executable repositories.

        Task instances come from repository plugins and datasets; agents roll out in
        sandboxes; patches are graded by running the repository's tests.
        """
        if ctx.obj is None:
            ctx.obj = App(pm or get_plugin_manager(builtins_only=no_plugins))

    from swegym.commands import (
        env, evaluate, experiment, export_sft, filter, import_cmd, info, mine, pool, rerank, rollout, serve, serve_env, train,
    )

    for module in (info, mine, env, evaluate, rollout, pool, serve, serve_env, filter, export_sft, import_cmd, train, rerank, experiment):
        for command in module.COMMANDS:
            cli.add_command(command)
    if pm is not None:
        pm.hook.swegym_register_commands(cli=cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    builtins_only = "--no-plugins" in args[: args.index("--") if "--" in args else len(args)]
    try:
        pm = get_plugin_manager(builtins_only=builtins_only)
    except SwegymError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    cli = build_cli(pm)
    cli.main(args=args, prog_name="swegym", obj=App(pm))


__all__ = ["App", "build_cli", "main", "pass_app"]

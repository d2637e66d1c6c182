"""``swegym serve-env``: serve a dataset's instances as RL episodes over OpenEnv's HTTP protocol."""

from __future__ import annotations

import click

from swegym.commands.common import dataset_options, positive_seconds, repository_of, select_instances
from swegym.core.errors import UsageError
from swegym.core.options import parse_assignments


def episode_service(app, *, dataset: str, instance_ids=(), agent: str = "openhands", runtime: str = "local",
                    options=(), grade_timeout: float = 1800.0, idle_timeout: float = 1800.0, max_episodes: int = 64):
    """The ``EpisodeService`` over a dataset: one runtime and one scaffold shared by its episodes."""
    from swegym.core.env_server import EpisodeService
    from swegym.core.episode import Episode

    assignments = parse_assignments(options)
    unknown = sorted(set(assignments) - {"agent", "runtime"})
    if unknown:
        raise UsageError(f"-o {unknown[0]}.…: serve-env takes agent.* and runtime.* options")
    instances = select_instances(app, dataset, instance_ids)
    if not instances:
        raise UsageError(f"dataset {dataset!r}: no instances to serve")
    agent_obj = app.components["agents"].create(agent, assignments.get("agent", {}))
    runtime_obj = app.components["runtimes"].create(runtime, assignments.get("runtime", {}))
    repos = {i.repo: repository_of(app, i) for i in instances}  # unknown repositories fail here, not mid-episode

    def make_episode(instance):
        return Episode(instance, repos[instance.repo], runtime_obj, agent_obj, grade_timeout=grade_timeout)

    return EpisodeService(instances, make_episode, idle_timeout=idle_timeout, max_episodes=max_episodes)


@click.command("serve-env")
@dataset_options
@click.option("--agent", "-a", default="openhands", show_default=True,
              help="Scaffold that parses and executes actions (swegym components agents).")
@click.option("--runtime", "-r", default="local", show_default=True, help="Sandbox runtime (swegym components runtimes).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for other machines).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--timeout", type=float, default=1800, show_default=True, callback=positive_seconds,
              help="Seconds the grading tests may run (> 0).")
@click.option("--idle-timeout", type=float, default=1800, show_default=True, callback=positive_seconds,
              help="Seconds without a request before an episode is closed (> 0).")
@click.option("--max-episodes", type=click.IntRange(min=1), default=64, show_default=True, help="Episodes open at once.")
@click.option("--option", "-o", "options", multiple=True, metavar="COMPONENT.KEY=VALUE", help="agent.* and runtime.* options.")
@click.pass_obj
def serve_env(app, dataset, instance_ids, agent, runtime, host, port, timeout, idle_timeout, max_episodes, options):
    """Serve instances as RL episodes over HTTP (OpenEnv's /reset, /step, /state, /health).

    Each reset starts a fresh sandbox at an instance's base commit; each step's action is one
    policy message the scaffold executes; the final step returns reward 1.0 when the patch
    resolves the instance. See docs/rl.md, "Serving episodes over HTTP".
    """
    from swegym.core.env_server import EnvServer

    service = episode_service(app, dataset=dataset, instance_ids=instance_ids, agent=agent, runtime=runtime,
                              options=options, grade_timeout=timeout, idle_timeout=idle_timeout, max_episodes=max_episodes)
    try:
        server = EnvServer((host, port), service)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"serving {len(service.instances)} instance(s) of {dataset!r} with {agent} on {server.url} "
               "(OpenEnv HTTP: POST /reset, POST /step, GET /state, GET /health); Ctrl-C stops", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        click.echo("stopped: every episode closed", err=True)


COMMANDS = [serve_env]

"""The ORM verifier of SWE-Gym: an outcome-reward model that reads an issue, the agent's
trajectory and its final diff and answers ``<judgement>YES</judgement>`` or ``NO``.

- ``data``: verifier examples from graded trajectories (balanced, capped, cut to a length).
- ``scoring``: p(YES) / (p(YES) + p(NO)) after ``<judgement>``, from one of three backends:
  ``transformers`` (CPU or one GPU), ``vllm`` (in-process, GPUs) and ``openai`` (a server).
- ``verifier``: ``OrmVerifier``, the ``orm`` verifier component.
- ``commands``: ``swegym verify`` and ``swegym train verifier``.

Registered through the ``swegym`` entry-point group, as a third-party plugin would be.
"""

from __future__ import annotations

from swegym import hookimpl
from swegym.plugins.orm_verifier.verifier import OrmVerifier


@hookimpl
def swegym_register_verifiers(register):
    register(OrmVerifier)


@hookimpl(trylast=True)  # after the plugin that adds the ``train`` group, if a plugin does
def swegym_register_commands(cli):
    from swegym.plugins.orm_verifier.commands import train_verifier, verify

    cli.add_command(verify)
    train = cli.commands.get("train")
    if train is not None and hasattr(train, "add_command"):  # a click group
        train.add_command(train_verifier)


__all__ = ["OrmVerifier"]

"""`hotline rules`: the routing rules' versions from the command line — export one to YAML, import a file
as the next version, list the versions, show one, roll back to an earlier one (as a new version). The
file format is routing/data/rules.yaml's; export then import gives back the same rules.

A refused file or version ends with one line on stderr and exit status 2; nothing is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cases.db import session_scope
from cases.queries import local
from routing.models import RuleSet
from routing.rule_sets import import_rule_file, published, roll_back, rule_rows, spec_of, versions
from routing.rule_words import describe_actions, describe_condition
from routing.rules import RULE_STATE_ZH, RulesError, RuleSetSpec, dump_rule_file

app = typer.Typer(help="Routing rules: export, import, versions, show, roll back.", no_args_is_help=True)
CLI_EDITOR = "admin:cli"


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(2)


def _version(version: int | None) -> tuple[RuleSet, RuleSetSpec]:
    """A published version (default: the newest) and its rules, or exit 2 saying there is none."""
    with session_scope() as s:
        rule_set = published(s, version)
        if rule_set is None:
            _fail(f"no version v{version}" if version else "no published version yet")
        s.expunge(rule_set)
        return rule_set, spec_of(s, rule_set)


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the YAML.")],
    version: Annotated[int | None, typer.Option(help="The version (default: the newest).", min=1)] = None,
) -> None:
    """Write a version's rules and settings as YAML (the format `hotline rules import` reads)."""
    rule_set, spec = _version(version)
    header = f"# Routing rules v{rule_set.version}: {rule_set.note} ({rule_set.published_by})\n"
    file.write_text(dump_rule_file(spec, header=" ".join(header.split()) + "\n"), encoding="utf-8")
    typer.echo(f"v{rule_set.version}: {len(spec.rules)} rules written to {file}")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A rules YAML (see routing/data/rules.yaml).")],
    note: Annotated[str, typer.Option(help="Why (kept with the version).")],
    editor: Annotated[str, typer.Option(help="Who imports (audit trail).")] = CLI_EDITOR,
) -> None:
    """Publish the file, after every check, as the next version (running processes pick it up within seconds)."""
    if not file.is_file():
        _fail(f"{file}: no such file")
    try:
        with session_scope() as s:
            rule_set = import_rule_file(s, file, editor=editor, note=note)
            count = len(rule_rows(s, rule_set.id))
            version = rule_set.version
    except RulesError as exc:
        _fail(str(exc))
    typer.echo(f"v{version}: {count} rules published from {file.name}")


@app.command("versions")
def list_versions() -> None:
    """Every published version, newest first: who, when, why, and what it was based on."""
    with session_scope() as s:
        found = versions(s)
        if not found:
            typer.echo("no published version yet: run `hotline db upgrade` (seeds version 1)")
            return
        for v in found:
            at = local(v.published_at) or "-"
            based = f" · based on v{v.based_on}" if v.based_on else ""
            rules = len(rule_rows(s, v.id))
            typer.echo(f"v{v.version} · {at} · {v.published_by or v.created_by} · {rules} rules{based} · {v.note}")


@app.command("show")
def show(
    version: Annotated[int | None, typer.Argument(help="The version (default: the newest).", min=1)] = None,
) -> None:
    """A version's rules in order, in words: condition, actions, state."""
    rule_set, spec = _version(version)
    typer.echo(f"v{rule_set.version} · {rule_set.published_by} · {rule_set.note}")
    typer.echo(f"default grade {spec.default_grade}; held below decision confidence {spec.min_decision_confidence:g}")
    for i, r in enumerate(spec.rules, start=1):
        expires = f" · until {r.expires_on}" if r.expires_on else ""
        typer.echo(f"{i}. {r.key} 『{r.name}』 [{RULE_STATE_ZH[r.state]}{expires}] {describe_condition(r.when)} → "
                   f"{describe_actions(r.then)}")  # fmt: skip


@app.command("rollback")
def rollback(
    version: Annotated[int, typer.Argument(help="The earlier version to publish again.", min=1)],
    note: Annotated[str, typer.Option(help="Why (kept with the new version).")],
    editor: Annotated[str, typer.Option(help="Who (audit trail).")] = CLI_EDITOR,
) -> None:
    """Publish a copy of an earlier version as the newest one (history is kept)."""
    try:
        with session_scope() as s:
            rule_set = roll_back(s, version, editor=editor, note=note)
            new_version = rule_set.version
    except RulesError as exc:
        _fail(str(exc))
    typer.echo(f"v{new_version}: a copy of v{version}")

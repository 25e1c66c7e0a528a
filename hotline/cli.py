"""`hotline`: serve, work, migrate, look after jobs, and run the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.core import TyperGroup

from cases.settings import kernel_settings
from hotline import (
    cli_apikeys,
    cli_calendar,
    cli_call,
    cli_cameras,
    cli_cases,
    cli_classifier,
    cli_dashboard,
    cli_demo,
    cli_grids,
    cli_notices,
    cli_rules,
    cli_sla,
    cli_users,
)
from hotline.settings import build_settings, server_settings

NOT_MIGRATED = "the database is not migrated yet: run `hotline db upgrade` first"


class _HotlineGroup(TyperGroup):
    """Commands assume a migrated database (serve, demo and db upgrade migrate it themselves). On one that
    is not — a new file, an older schema — the first query fails for want of a table or column: such a
    command ends with one line saying what to run, not a traceback. Any other database error, and any
    error on a migrated database, is raised as before."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors its own click: its Context type is private
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError):
            if _database_is_behind():
                _exit_not_migrated()
            raise


def _exit_not_migrated() -> NoReturn:
    console.print(f"[red]{NOT_MIGRATED}")
    raise typer.Exit(1)


def _database_is_behind() -> bool:
    from hotline.migrate import is_at_head

    try:
        return not is_at_head()
    except Exception:  # the database cannot be asked either (down, wrong URL): the original error says why
        return False


app = typer.Typer(cls=_HotlineGroup, help="12319 城市管理热线 — citizen-intake system.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and reference data.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs: failed ones and retries.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(cli_cameras.app, name="cameras")
app.add_typer(cli_apikeys.app, name="apikeys")
app.add_typer(cli_call.app, name="call")
app.add_typer(cli_cases.app, name="cases")
app.add_typer(cli_classifier.app, name="classifier")
app.add_typer(cli_grids.app, name="grids")
app.add_typer(cli_sla.app, name="sla")
app.add_typer(cli_users.app, name="users")
app.add_typer(cli_notices.app, name="notices")
app.add_typer(cli_calendar.app, name="calendar")
app.add_typer(cli_dashboard.app, name="dashboard")
app.add_typer(cli_dashboard.report_app, name="report")
app.add_typer(cli_rules.app, name="rules")
app.add_typer(cli_sla.app, name="sla")
console = Console()


@app.callback()
def _compose() -> None:
    """Runs before every command: a command that moves a case (cases confirm/act, and any added later)
    runs the follow-up jobs like the web does. serve, worker and demo install their own queue on top."""
    from hotline.wiring import configure_runtime

    build_settings()
    configure_runtime("cli")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default HOTLINE_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default HOTLINE_PORT, 8000).")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes.")] = None,
) -> None:
    """Run the web server (API, webhooks, console)."""
    import uvicorn

    from hotline.bootstrap import configure_logging, prepare_database, serving_process

    serving_process(kernel_settings())
    settings = server_settings()
    configure_logging(settings)
    prepare_database()  # once here, not in each of N worker processes
    os.environ["HOTLINE_MIGRATE_ON_START"] = "false"
    n = workers or settings.web_workers
    if n > 1 and not kernel_settings().redis_url:
        console.print("[yellow]Several web workers need HOTLINE_REDIS_URL (the in-process queue lives in one).")
        n = 1
    uvicorn.run(
        "hotline.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=n,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through the process's handler, in HOTLINE_LOG_FORMAT (bootstrap)
        # A worker process answers uvicorn's health check only once it has imported this CLI (seconds: the
        # model libraries); at uvicorn's default of 5 s a busy machine restarted workers in a loop.
        timeout_worker_healthcheck=60,
        # SIGTERM: stop accepting, let requests in flight finish (a report is committed before it is
        # answered), then close what is still open after the grace period.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty (tests).")] = False,
    sweep: Annotated[bool, typer.Option(help="Run the sweeper in this worker.")] = True,
) -> None:
    """Run an RQ worker (production). Start as many as you like, on as many machines.

    Its work loop is supervised: a Redis restart or outage ends the loop, which starts again with
    back-off; the sweeper keeps running meanwhile. Scale out by starting more processes; a killed
    worker's report is picked up again by the sweeper."""
    from hotline.bootstrap import configure_logging, serving_process
    from hotline.worker import run_worker

    serving_process(kernel_settings())
    configure_logging()
    settings = kernel_settings()
    if not settings.redis_url:
        console.print("[red]HOTLINE_REDIS_URL is not set: on the embedded default, jobs run inside `hotline serve`.")
        raise typer.Exit(2)
    if _database_is_behind():  # asked up front: a worker rides out database errors by design, job after job
        _exit_not_migrated()
    _warm_up()
    run_worker(settings, burst=burst, sweep=sweep)


def _warm_up() -> None:
    from classifiers.serving.registry import get_classifier
    from hotline.bootstrap import freeze_startup_objects

    get_classifier()
    freeze_startup_objects()


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="Where to write the backup.")]) -> None:
    """Back the whole database up into FILE (PostgreSQL: pg_dump's custom format; SQLite: a copy)."""
    from hotline.backup import BackupError, backup

    try:
        backup(kernel_settings().database_url, file)
    except BackupError as exc:
        console.print(f"[red]{exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"[green]backed up to {file} ({file.stat().st_size} bytes)")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file made by `hotline db backup`.")],
    clean: Annotated[bool, typer.Option(help="Replace tables the database already has.")] = False,
) -> None:
    """Restore FILE into the configured database (an empty one unless --clean), then run `hotline db
    upgrade` if the backup is from an older release."""
    from hotline.backup import BackupError, restore

    try:
        restore(kernel_settings().database_url, file, clean=clean)
    except BackupError as exc:
        console.print(f"[red]{exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"[green]restored {file} into {kernel_settings().database_url.split('@')[-1]}", soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(
    seed: Annotated[bool, typer.Option(help="Reload reference data from the data files.")] = False,
) -> None:
    """Upgrade the schema to the newest migration (and load reference data on first run)."""
    from hotline.bootstrap import prepare_database

    counts = prepare_database(force_seed=seed)
    console.print(f"[green]database at {kernel_settings().database_url.split('@')[-1]} is up to date", soft_wrap=True)
    if counts:  # what a first start loaded: one line, however narrow the terminal
        console.print("seeded: " + ", ".join(f"{name} {n}" for name, n in counts.items()), soft_wrap=True)


@jobs_app.command("failed")
def jobs_failed() -> None:
    """List reports whose processing failed for good, and failed RQ jobs."""
    from cases.db import session_scope
    from routing.pipeline import failed_reports

    with session_scope() as s:
        rows = failed_reports(s)
        table = Table("report", "channel", "attempts", "last error")
        for r in rows:
            table.add_row(str(r.id), r.channel, str(r.attempts), (r.last_error or "")[:80])
    console.print(table if rows else "no failed reports")
    settings = kernel_settings()
    if settings.redis_url:
        from rq.registry import FailedJobRegistry

        from hotline.queues import RQQueue

        reg = FailedJobRegistry(queue=RQQueue(settings).queue)
        console.print(f"failed RQ jobs: {len(reg)}")


@jobs_app.command("retry")
def jobs_retry(
    report_ids: Annotated[list[int] | None, typer.Argument(help="Reports to retry (default: all failed).")] = None,
) -> None:
    """Give failed reports a fresh set of attempts and queue them again."""
    from cases.db import session_scope
    from hotline.queues import configure_queue
    from routing.pipeline import failed_reports, retry_report

    settings = kernel_settings()
    q = configure_queue(settings)
    ids = report_ids or []
    if not ids:
        with session_scope() as s:
            ids = [r.id for r in failed_reports(s) if r.id is not None]
    ok = sum(1 for rid in ids if retry_report(rid))
    if settings.redis_url:
        from rq.registry import FailedJobRegistry

        from hotline.queues import RQQueue

        assert isinstance(q, RQQueue)
        reg = FailedJobRegistry(queue=q.queue)
        for job_id in reg.get_job_ids():
            reg.requeue(job_id)
    else:
        from hotline.queues import InProcessQueue

        if isinstance(q, InProcessQueue):
            q.join(60)  # embedded: this process is the worker, finish before exiting
    console.print(f"queued {ok} of {len(ids)} report(s) again")


app.command("demo")(cli_demo.demo)


if __name__ == "__main__":
    app()

"""The one database engine and session factory.

SQLite (embedded default) and PostgreSQL (production) go through the same code; the few places where
they differ (locking) are handled here or in `lock_for_update`.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from cases import providers
from cases.settings import kernel_settings

log = logging.getLogger(__name__)


SQLITE_BUSY_TIMEOUT_SECONDS = 15
# Threads that may hold a connection at once in a web process: anyio's default threadpool (40), which runs
# sync endpoints and `run_in_threadpool`. A pool smaller than that made request threads queue for a
# connection under load (pool_size=10 + 20 overflow: a third of the threads waited, docs/benchmarks.md).
WEB_THREADS = 40
_WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _SerialisedWriter(sqlite3.Connection):
    """A SQLite connection whose write transactions take this process's writer lock first.

    SQLite lets one writer at a time in; a connection that finds the database locked sleeps in SQLite's
    busy handler (1, 2, 5, 10 … 100 ms between tries) and only then looks again, so under concurrent
    webhooks and the in-process job thread a write waited hundreds of ms for a lock that had been free
    for most of that time. Writers of this process now queue on a `threading.Lock` instead: the next
    one is woken the moment the previous one commits or rolls back, and a waiting thread does not compete
    for the GIL. Another process (a CLI command) still meets SQLite's own busy timeout.
    """

    write_lock: threading.Lock  # one per database file, set by `_writer_factory`
    holds_write_lock = False

    def acquire_write_lock(self) -> None:
        if self.holds_write_lock:
            return
        if self.write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
            self.holds_write_lock = True
        else:  # a thread writing through two sessions at once: let SQLite's busy timeout decide, as before
            log.warning(
                "SQLite writer lock not acquired in %s s; falling back to SQLite's busy timeout",
                SQLITE_BUSY_TIMEOUT_SECONDS,
            )

    def _release_write_lock(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            self.write_lock.release()

    def _ended(self) -> None:
        """After a commit or rollback, successful or not: the next writer may go once no transaction is open."""
        if not self.in_transaction:
            self._release_write_lock()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_write_lock()


# Not in the registry (`cases.providers`): this is the one writer lock of each database file, shared by
# every pool on it; forgetting it while a connection of an old pool still writes would let two writers in.
_writer_factories: dict[str, type[_SerialisedWriter]] = {}


def _writer_factory(database: str) -> type[_SerialisedWriter]:
    """The connection class of one database file: its connections share one writer lock."""
    key = str(Path(database).resolve())
    factory = _writer_factories.get(key)
    if factory is None:
        factory = type("SerialisedWriter", (_SerialisedWriter,), {"write_lock": threading.Lock()})
        _writer_factories[key] = factory
    return factory


def _writer(conn: Any) -> _SerialisedWriter | None:
    try:
        dbapi = conn.connection.dbapi_connection
    except Exception:  # closed or invalidated: nothing held through it any more
        return None
    return dbapi if isinstance(dbapi, _SerialisedWriter) else None


def _take_write_lock(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """Before the first INSERT/UPDATE/DELETE of a transaction: wait for this process's writer lock."""
    if statement.lstrip()[:7].upper().startswith(_WRITE_STATEMENTS) and (w := _writer(conn)) is not None:
        w.acquire_write_lock()


def _release_if_no_transaction(conn: Any) -> None:
    """A write that ran in autocommit mode, or failed before SQLite began a transaction, holds nothing."""
    w = _writer(conn) if conn is not None else None
    if w is not None and w.holds_write_lock and not w.in_transaction:
        w._release_write_lock()


def _after_execute(conn: Any, *_args: Any) -> None:
    _release_if_no_transaction(conn)


def _after_error(context: Any) -> None:
    _release_if_no_transaction(context.connection)


def _begin_before_savepoint(conn: Any, _name: str | None) -> None:
    """pysqlite opens a transaction only before a write, so a SAVEPOINT that comes first would open one of
    its own, and its RELEASE would commit everything so far: `begin_nested()` as a transaction's first
    write (e.g. `intake.accept`) would commit on its own instead of leaving that to the caller."""
    dbapi = conn.connection.dbapi_connection
    if not dbapi.in_transaction:
        conn.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, synchronous: str = "FULL") -> None:
    # WAL lets the web process read while the in-process worker writes; the busy timeout makes
    # concurrent writers wait instead of failing with "database is locked". synchronous=FULL: a commit
    # is on disk (the WAL fsynced) before it returns; NORMAL (bookkeeping engine): it survives a crash of
    # the process but the last commits may be lost in a power cut or OS crash (never corrupted).
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_bookkeeping_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record, synchronous="NORMAL")


def _dispose(engines: dict[str, Engine]) -> None:
    for engine in engines.values():
        engine.dispose()


# One engine per URL (and SQLite's second, non-durable pool per file), made on first use.
ENGINES: providers.Key[dict[str, Engine]] = providers.Key("database engines", dict, _dispose)


def get_engine(url: str | None = None, durable: bool = True) -> Engine:
    """The engine of `url` (default: the configured database). `durable=False`: on SQLite, a second pool
    on the same file whose commits do not wait for the disk (see `session_scope`); PostgreSQL has one."""
    url = url or kernel_settings().database_url
    engines = providers.get(ENGINES)
    if not durable and _is_sqlite_file(url):
        key = url + "#bookkeeping"
        engine = engines.get(key)
        if engine is None:
            engine = _sqlite_engine(url, _sqlite_bookkeeping_pragmas)
            engines[key] = engine
        return engine
    engine = engines.get(url)
    if engine is None:
        if make_url(url).get_backend_name() == "sqlite":
            engine = _sqlite_engine(url, _sqlite_pragmas)
        else:
            # hide_parameters: errors (and their log lines, and last_error) never carry a phone number.
            engine = create_engine(
                url, pool_pre_ping=True, pool_size=WEB_THREADS, max_overflow=10, hide_parameters=True
            )
        engines[url] = engine
    return engine


def _is_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    return (
        parsed.get_backend_name() == "sqlite"
        and parsed.database not in (None, "", ":memory:")
        and ("mode=memory" not in url)
    )


def _sqlite_engine(url: str, on_connect: Any) -> Engine:
    parsed = make_url(url)
    connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    file_db = _is_sqlite_file(url)
    if file_db:
        assert parsed.database
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args["factory"] = _writer_factory(parsed.database)  # both pools of a file share its lock
    # Room for every request thread plus the job thread and the sweeper: with SQLAlchemy's 5 + 10, request
    # threads waiting for the writer lock held all connections while the lock's holder (the in-process
    # job, which opens a second session) waited for one, and 64 concurrent posts stalled for 15-30 s.
    pool = {"pool_size": WEB_THREADS, "max_overflow": 20} if file_db else {}
    engine = create_engine(url, connect_args=connect_args, hide_parameters=True, **pool)
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "savepoint", _begin_before_savepoint)
    if file_db:
        event.listen(engine, "before_cursor_execute", _take_write_lock)
        event.listen(engine, "after_cursor_execute", _after_execute)
        event.listen(engine, "handle_error", _after_error)
    return engine


def _no_synchronous_commit(_session: Session, _transaction: Any, connection: Any) -> None:
    connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def dispose_engines() -> None:
    """Close pooled connections (after fork, and between tests)."""
    providers.reset(ENGINES)


def is_sqlite(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"


def serialise_on(session: Session, key: str) -> None:
    """Until this session's transaction ends, no other transaction passing the same `key` gets past here.

    PostgreSQL: a transaction-level advisory lock (released by commit or rollback). SQLite has one writer
    at a time: a transaction that has already written holds that lock, which covers every key, so the
    caller must have written first (e.g. claimed its row); this is checked."""
    if is_sqlite(session):
        dbapi = session.connection().connection.dbapi_connection
        if not getattr(dbapi, "in_transaction", False):
            raise RuntimeError("serialise_on on SQLite needs a transaction that has written already")
        return
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest, "big", signed=True)})


def new_session(durable: bool = True) -> Session:
    engine = get_engine(durable=durable)
    session = Session(engine, expire_on_commit=False)
    if not durable and engine.dialect.name == "postgresql":
        event.listen(session, "after_begin", _no_synchronous_commit)
    return session


@contextmanager
def session_scope(durable: bool = True) -> Iterator[Session]:
    """The unit of work of a job, a CLI command or a request: commits when the block ends normally, rolls
    back when it raises. Use cases called inside only flush; a caller that must make something durable
    before the block ends (e.g. a report before the pipeline runs on it) commits explicitly and says why.

    `durable=False` is for bookkeeping whose loss in a power cut is harmless — e.g. an IVR turn's replay
    record and call state: its commit returns without waiting for the disk (SQLite `synchronous=NORMAL`
    under WAL, PostgreSQL `synchronous_commit=off`). It survives a crash of the process; a power cut or
    OS crash may lose the last such commits, never corrupt anything, and the next durable commit makes
    everything before it durable too. Reports, cases and outbound messages keep the default."""
    session = new_session(durable)
    try:
        yield session
        transaction = session.get_transaction()
        if transaction is not None and not transaction.is_active:
            session.rollback()  # the block caught a failed flush itself: nothing of it can be committed
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def request_session() -> Iterator[Session]:
    """The web layer's unit of work, as a FastAPI dependency with `yield` (see `intake.deps.DbSession`,
    which declares it with scope="function" so the commit happens before the response is sent)."""
    with session_scope() as session:
        yield session

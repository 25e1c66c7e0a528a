"""The registry of process-wide values and the one refresh policy (cases.providers), with a fake clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cases import providers
from cases.providers import Key, Refreshing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """Database state stand-in: `digest()` says what the value would be built from, `build()` counts."""

    def __init__(self) -> None:
        self.state: str | None = "v1"
        self.builds = 0
        self.digests = 0
        self.fail = False

    def digest(self) -> str | None:
        self.digests += 1
        return self.state

    def build(self) -> str:
        if self.fail:
            raise ValueError("a rule names a department that does not exist")
        self.builds += 1
        return f"{self.state}#{self.builds}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source() -> Source:
    return Source()


def refreshing(source: Source, clock: Clock, every: float = 30.0) -> Refreshing[str]:
    return Refreshing("test value", source.build, source.digest, lambda: every, clock=clock)


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    yield
    providers.reset(*KEYS)


def test_built_once_then_served_without_a_look_until_the_interval(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock)
    assert value.get() == "v1#1"
    source.state = "v2"
    clock.now += 29.9
    assert value.get() == "v1#1"
    assert (source.builds, source.digests) == (1, 1)  # no database look inside the interval


def test_after_the_interval_a_changed_digest_rebuilds(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock)
    value.get()
    source.state = "v2"
    clock.now += 30
    assert value.get() == "v2#2"
    clock.now += 1
    assert value.get() == "v2#2"  # checked just now: no second look


def test_an_unchanged_digest_does_not_rebuild(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock)
    first = value.get()
    for _ in range(3):
        clock.now += 31
        assert value.get() is first
    assert source.builds == 1 and source.digests == 4


def test_no_digest_keeps_the_value(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock)
    value.get()
    source.state = None  # the database is away
    clock.now += 31
    assert value.get() == "v1#1"
    source.state = "v1"
    clock.now += 31
    assert value.get() == "v1#1" and source.builds == 1  # back, and unchanged


def test_a_failing_rebuild_keeps_the_old_value_and_tries_again_later(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock)
    value.get()
    source.state, source.fail = "v2", True
    clock.now += 31
    assert value.get() == "v1#1"
    source.fail = False
    clock.now += 1
    assert value.get() == "v1#1"  # not before the next interval
    clock.now += 30
    assert value.get() == "v2#2"


def test_a_failing_first_build_raises_and_is_tried_again(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock)
    source.fail = True
    with pytest.raises(ValueError):
        value.get()
    source.fail = False
    assert value.get() == "v1#1"


def test_interval_zero_never_looks_again(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock, every=0)
    value.get()
    source.state = "v2"
    clock.now += 10**6
    assert value.get() == "v1#1" and source.digests == 1


def test_the_interval_is_read_on_every_call(source: Source, clock: Clock) -> None:
    every = [3600.0]
    value = Refreshing("test value", source.build, source.digest, lambda: every[0], clock=clock)
    value.get()
    source.state = "v2"
    clock.now += 60
    assert value.get() == "v1#1"
    every[0] = 30.0  # settings re-read with a shorter interval
    assert value.get() == "v2#2"


def test_while_one_thread_rebuilds_the_others_keep_the_old_value(source: Source, clock: Clock) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_build() -> str:
        if source.builds:  # the first build is quick; the rebuild waits for the test
            entered.set()
            release.wait(5)
        return source.build()

    value = Refreshing("test value", slow_build, source.digest, lambda: 30.0, clock=clock)
    value.get()
    source.state = "v2"
    clock.now += 31
    rebuilt: list[str] = []
    worker = threading.Thread(target=lambda: rebuilt.append(value.get()))
    worker.start()
    assert entered.wait(5)
    assert value.get() == "v1#1"  # not blocked behind the rebuild
    release.set()
    worker.join(5)
    assert rebuilt == ["v2#2"] and value.get() == "v2#2"


def test_concurrent_first_use_builds_once(source: Source, clock: Clock) -> None:
    value = refreshing(source, clock)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(value.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == ["v1#1"] * 8 and source.builds == 1


# --- the registry ----------------------------------------------------------------------------------

closed: list[str] = []
BUILT = Key("built on demand", lambda: ["fresh"], close=lambda v: closed.append(v[0]))
INSTALLED: Key[str] = Key("installed only")
KEYS = (BUILT, INSTALLED)


def test_get_builds_once_and_reset_closes_and_forgets() -> None:
    closed.clear()
    first = providers.get(BUILT)
    assert providers.get(BUILT) is first
    providers.reset(BUILT)
    assert closed == ["fresh"]
    assert providers.installed(BUILT) is None
    assert providers.get(BUILT) is not first


def test_a_key_without_a_builder_must_be_installed() -> None:
    with pytest.raises(LookupError, match="installed only"):
        providers.get(INSTALLED)
    providers.install(INSTALLED, "from the composition root")
    assert providers.get(INSTALLED) == "from the composition root"


def test_install_closes_the_value_it_replaces() -> None:
    closed.clear()
    providers.get(BUILT)
    providers.install(BUILT, ["mine"])
    assert closed == ["fresh"] and providers.get(BUILT) == ["mine"]


def test_reset_without_keys_forgets_everything() -> None:
    providers.install(INSTALLED, "x")
    providers.get(BUILT)
    providers.reset()
    assert providers.installed(INSTALLED) is None and providers.installed(BUILT) is None

"""`hotline cameras` and `hotline apikeys` through Typer's runner, on the test database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cases.db import session_scope
from hotline.cli import app
from intake.camera.models import Camera
from intake.models import ApiKey
from intake.open311.keys import check_key, hash_key

runner = CliRunner()


def test_cameras_add_list_rotate(env: Path) -> None:
    r = runner.invoke(
        app,
        [
            "cameras",
            "add",
            "CAM-9",
            "--name",
            "东门",
            "--grid",
            "421102001001001",
            "--map",
            "garbage_exposed=06010",
            "--min-confidence",
            "0.7",
            "--auto-dispatch",
        ],
    )
    assert r.exit_code == 0, r.output
    secret = r.output.strip().splitlines()[-1]
    with session_scope() as s:
        cam = s.get(Camera, "CAM-9")
        assert cam is not None and cam.secret == secret and cam.auto_dispatch and cam.min_confidence == 0.7
        assert cam.event_map == {"garbage_exposed": "06010"}
    r = runner.invoke(app, ["cameras", "list"])
    assert r.exit_code == 0 and "CAM-9" in r.output and secret not in r.output
    r = runner.invoke(app, ["cameras", "rotate-secret", "CAM-9"])
    assert r.exit_code == 0 and r.output.strip().splitlines()[-1] != secret
    assert runner.invoke(app, ["cameras", "add", "CAM-9"]).exit_code == 1  # already there
    assert runner.invoke(app, ["cameras", "add", "CAM-X", "--grid", "999"]).exit_code == 1  # unknown grid
    assert runner.invoke(app, ["cameras", "rotate-secret", "NOPE"]).exit_code == 1


def test_apikeys_create_list_revoke(env: Path) -> None:
    r = runner.invoke(app, ["apikeys", "create", "partner"])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("hk_")
    with session_scope() as s:
        row = s.get(ApiKey, 1)
        assert row is not None and row.key_hash == hash_key(key) and key not in row.key_hash
        assert row.scopes == ["open311"]  # without --scope: what a key always was
        assert check_key(s, key) is not None
    r = runner.invoke(app, ["apikeys", "create", "intake-app", "--scope", "intake", "--scope", "read"])
    assert r.exit_code == 0, r.output
    other = r.output.strip().splitlines()[-1]
    with session_scope() as s:
        found = check_key(s, other)
        assert found is not None and found.scopes == ["intake", "read"]
    assert runner.invoke(app, ["apikeys", "create", "x", "--scope", "admin"]).exit_code == 2
    listed = runner.invoke(app, ["apikeys", "list"], env={"COLUMNS": "200"}).output
    assert "partner" in listed and key not in listed and other not in listed
    assert "intake,read" in listed
    assert runner.invoke(app, ["apikeys", "revoke", "1"]).exit_code == 0
    assert runner.invoke(app, ["apikeys", "revoke", "42"]).exit_code == 1
    with session_scope() as s:
        assert check_key(s, key) is None

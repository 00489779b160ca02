"""Evidence exports: written from the database, verified later without it; damage is located."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from openconnector.audit import AuditChange, AuditTrail
from openconnector.audit.export import verify_export
from openconnector.audit.keys import load_key
from openconnector.registers import Store
from tests.audit.conftest import write_history


@pytest.fixture
def exported(people: Store, trail: AuditTrail, tmp_path: Path) -> Path:
    write_history(people)
    with people.engine.begin() as conn:
        trail.append(
            conn,
            [AuditChange(f"o{i}", "crm", "person", "create", None, 1, None, {"i": i}, "pipeline:p",
                         run_id="r1") for i in range(5)],
        )  # fmt: skip
    trail.after_commit()
    path = tmp_path / "evidence.json"
    path.write_bytes(trail.export(None, "2000-01-01", "2999-12-31", "json"))
    return path


def offline(path: Path):  # type: ignore[no-untyped-def]
    return verify_export(path, load_key(create=False))


def test_export_verifies_offline(exported: Path, people: Store) -> None:
    people.dispose()  # no database from here on
    result = offline(exported)
    assert result.ok, result.as_dict()
    assert result.checked == 15 and result.checkpoints == 11
    doc = orjson.loads(exported.read_bytes())
    assert doc["entry_count"] == 15 and doc["verification"]["ok"] is True
    assert doc["first_seq"] == 1 and doc["last_seq"] == 15


def test_export_of_a_period_holds_whole_groups(people: Store, trail: AuditTrail, tmp_path: Path) -> None:
    write_history(people)
    empty = orjson.loads(trail.export(None, "2000-01-01", "2000-01-02", "json"))
    assert empty["entries"] == [] and empty["entry_count"] == 0
    data = trail.export(None, "2000-01-01", "2999-12-31", "csv")
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert [r[0] for r in rows[1:3]] == ["meta", "verification"]
    assert sum(r[0] == "entry" for r in rows) == 10 and sum(r[0] == "group" for r in rows) == 10
    path = tmp_path / "evidence.csv"
    path.write_bytes(data)
    assert offline(path).ok


def test_edited_entry_in_the_file_is_located(exported: Path) -> None:
    lines = exported.read_bytes().split(b"\n")
    n = next(i for i, line in enumerate(lines) if line.startswith(b'{"seq":3,"hash"'))
    lines[n] = lines[n].replace(b'\\"age\\":32', b'\\"age\\":99')
    assert b"99" in lines[n]
    exported.write_bytes(b"\n".join(lines))
    result = offline(exported)
    first = result.first_bad
    assert not result.ok and first is not None
    assert (first.seq, first.problem, first.line) == (3, "edited", n + 1), result.as_dict()


def test_removed_entry_in_the_file_is_located(exported: Path) -> None:
    lines = exported.read_bytes().split(b"\n")
    n = next(i for i, line in enumerate(lines) if line.startswith(b'{"seq":12,"hash"'))
    del lines[n]
    exported.write_bytes(b"\n".join(lines))
    first = offline(exported).first_bad
    assert first is not None and (first.seq, first.problem) == (12, "deleted")


def test_cut_off_file_says_where(exported: Path) -> None:
    data = exported.read_bytes()
    exported.write_bytes(data[: len(data) // 2])
    result = offline(exported)
    first = result.first_bad
    assert not result.ok and first is not None and first.problem == "damaged"
    assert first.line is not None and "not valid JSON" in first.detail


def test_trailing_entries_cut_with_the_header_edited_to_match_are_caught(exported: Path) -> None:
    doc = orjson.loads(exported.read_bytes())
    doc["entries"] = doc["entries"][:10]
    doc["groups"] = [g for g in doc["groups"] if g["seq"] <= 10]
    doc["entry_count"], doc["last_seq"] = 10, 10
    exported.write_bytes(orjson.dumps(doc))
    first = offline(exported).first_bad
    assert first is not None and first.problem == "bad signature" and "header" in first.detail


def test_damaged_csv_row_is_located(people: Store, trail: AuditTrail, tmp_path: Path) -> None:
    write_history(people)
    path = tmp_path / "evidence.csv"
    path.write_bytes(trail.export(None, "2000-01-01", "2999-12-31", "csv"))
    text = path.read_text().replace("api:alice", "api:mallory", 1)
    path.write_text(text)
    result = offline(path)
    first = result.first_bad
    assert not result.ok and first is not None and first.problem == "edited" and first.line is not None


def test_cli_export_and_offline_verify(exported: Path, people: Store, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from openconnector.cli import app

    monkeypatch.setenv("OPENCONNECTOR_DATABASE_URL", people.engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    out = tmp_path / "cli-evidence.json"
    res = runner.invoke(
        app, ["audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "-o", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert orjson.loads(res.stdout)["entry_count"] == 15
    monkeypatch.setenv(
        "OPENCONNECTOR_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none"
    )  # no DB needed
    res = runner.invoke(app, ["audit", "verify", "--file", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert orjson.loads(res.stdout)["ok"] is True
    out.write_bytes(out.read_bytes().replace(b"pipeline:p", b"pipeline:q", 1))
    res = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert res.exit_code == 1 and "TAMPERED" in res.output


def test_export_of_a_later_period_starts_from_the_signed_chain_hash(
    people: Store, trail: AuditTrail, tmp_path: Path
) -> None:
    from sqlalchemy import text

    write_history(people)
    with people.engine.connect() as conn:
        since = conn.execute(text("SELECT created_at FROM audit_checkpoints WHERE seq = 5")).scalar_one()
    path = tmp_path / "later.json"
    path.write_bytes(trail.export(None, since, "2999-12-31", "json"))
    doc = orjson.loads(path.read_bytes())
    assert doc["first_seq"] == 5 and doc["entry_count"] == 6 and doc["start_hash"] != "0" * 64
    assert offline(path).ok
    # the first group's shared record is covered too
    path.write_bytes(path.read_bytes().replace(b"api:alice", b"api:mallory", 1))
    first = offline(path).first_bad
    assert first is not None and (first.seq, first.problem) == (5, "edited")

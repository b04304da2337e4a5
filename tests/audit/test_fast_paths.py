"""The audit log's fast paths (orjson, a line checked as bytes) write and judge exactly as the
careful paths beside them: the same bytes for every event, the same verdict for every line,
and a log written before them still verifies."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from daemon.audit.chain import AuditLog, hashed_line
from daemon.audit.verification import _Walker, verify_chain
from daemon.runtime.keys import audit_signing_key, public_key_text
from daemon.runtime.logs import REDACTOR, Redactor

scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text() | \
    st.floats(allow_nan=True)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=8)


def old_hashed_line(entry):
    """hashed_line as it was written before orjson: what every older log holds."""
    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        body = json.dumps(entry, ensure_ascii=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f'{body[:-1]},"hash":"{digest}"}}\n', digest


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=10), values, max_size=5))
def test_a_line_is_the_same_bytes_as_before_for_any_event(fields):
    entry = {"timestamp": "2026-11-22T09:00:00.000+00:00", "event": "post.published",
             "level": "info", **fields, "seq": 7, "prev": "0" * 64}
    assert hashed_line(entry) == old_hashed_line(entry)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["reason", "url", "token", "name", "Password", "x"]),
                       values, max_size=4))
def test_redacting_once_by_the_quick_way_gives_what_the_careful_way_gives(fields):
    redactor = Redactor(["a-very-secret-value"])
    quick = redactor.clean_strings(dict(fields))
    assert (quick if quick is not None else redactor.clean_fields(fields)) == \
        redactor.clean(fields)


@pytest.mark.parametrize("text", [
    "see https://graph.example/me?access_token=abc123&x=1", "BEARER abc123",
    "oauth_signature=xyz", "acceſs_token=abc123", "input_token: abc123", "nothing here"])
def test_the_quick_redaction_scrubs_what_the_expression_scrubs(text):
    fields = {"detail": text}
    quick = REDACTOR.clean_strings(dict(fields))
    assert (quick if quick is not None else REDACTOR.clean_fields(fields)) == \
        REDACTOR.clean(fields)


def write_log(path, events=12):
    audit = AuditLog(path, checkpoint_every_events=5)
    for number in range(events):
        audit.record("post.published", platform="x", name=f"news-{number}", score=number / 3)
    audit.close()


def verdicts(tmp_path, monkeypatch):
    key = public_key_text(audit_signing_key(tmp_path))
    fast = verify_chain([tmp_path / "audit.jsonl"], [key]).describe()
    monkeypatch.setattr(_Walker, "walk", _Walker.walk_text)
    careful = verify_chain([tmp_path / "audit.jsonl"], [key]).describe()
    monkeypatch.undo()
    return fast, careful


MUTATIONS = {
    "a character changed": lambda line: line.replace(b"news", b"newz"),
    "the line re-hashed after an edit": lambda line: rehash(line.replace(b"news", b"newz")),
    "a big number re-hashed in": lambda line: rehash(line.replace(b'"seq":', b'"n":1' + b"9" * 30
                                                                   + b',"seq":')),
    "invalid UTF-8 re-hashed in": lambda line: rehash(line.replace(b"news", b"n\xffws")),
    "not JSON, re-hashed": lambda line: rehash(line.replace(b'"level"', b"level")),
    "a carriage return": lambda line: line.replace(b"news", b"ne\rws"),
    "the hash in capitals": lambda line: line[:-66] + line[-66:-2].upper() + line[-2:],
    "the line cut short": lambda line: line[:40],
    "the line removed": lambda line: b"",
    "a seq as a float, re-hashed": lambda line: rehash(line.replace(b'"seq":3', b'"seq":3.0')),
}


def rehash(line):
    body = line[:-75] + b"}"
    return line[:-66] + hashlib.sha256(body).hexdigest().encode("ascii") + line[-2:]


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_tampered_line_gets_the_same_verdict_as_the_careful_check_gives(
        tmp_path, monkeypatch, mutation):
    write_log(tmp_path / "audit.jsonl")
    lines = (tmp_path / "audit.jsonl").read_bytes().split(b"\n")
    lines[3] = MUTATIONS[mutation](lines[3])
    if not lines[3]:
        del lines[3]
    (tmp_path / "audit.jsonl").write_bytes(b"\n".join(lines))
    fast, careful = verdicts(tmp_path, monkeypatch)
    assert fast == careful and fast.startswith("NOT VERIFIED")


def test_a_whole_log_gets_the_same_verdict_both_ways(tmp_path, monkeypatch):
    write_log(tmp_path / "audit.jsonl")
    fast, careful = verdicts(tmp_path, monkeypatch)
    assert fast == careful and fast.startswith("VERIFIED: 15 events")


def test_a_log_cut_mid_line_gets_the_same_verdict_both_ways(tmp_path, monkeypatch):
    write_log(tmp_path / "audit.jsonl")
    data = (tmp_path / "audit.jsonl").read_bytes()
    (tmp_path / "audit.jsonl").write_bytes(data[:-30])
    fast, careful = verdicts(tmp_path, monkeypatch)
    assert fast == careful and "incomplete" in fast


def test_a_log_written_before_orjson_still_verifies(tmp_path):
    """Lines as the earlier writer made them (json.dumps), then continued by this one."""
    from daemon.audit.chain import checkpoint_message, key_fingerprint  # noqa: PLC0415
    from daemon.runtime.keys import sign_bytes  # noqa: PLC0415

    key = audit_signing_key(tmp_path)
    previous, lines = "0" * 64, []
    for seq in range(4):
        entry = {"timestamp": "2026-09-01T08:00:00.000+00:00", "event": "post.published",
                 "level": "info", "name": f"Zoë’s news {seq}", "score": 0.5, "seq": seq,
                 "prev": previous}
        if seq == 3:
            entry = {"timestamp": "2026-09-01T08:00:00.000+00:00", "event": "audit.checkpoint",
                     "level": "info", "reason": "stop", "events_covered": 3,
                     "key": key_fingerprint(public_key_text(key)), "seq": 3, "prev": previous}
            entry["signature"] = sign_bytes(key, checkpoint_message(entry))
        line, previous = old_hashed_line(entry)
        lines.append(line)
    (tmp_path / "audit.jsonl").write_text("".join(lines), encoding="utf-8")
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.record("post.published", name="after the upgrade")
    audit.close()
    report = verify_chain([tmp_path], [public_key_text(key)])
    assert report.intact and report.events == 6, report.describe()


def test_the_daemon_echoes_warnings_but_not_info_events_when_the_file_is_the_record(tmp_path):
    with capture_logs() as captured:
        audit = AuditLog(tmp_path / "audit.jsonl", echo_info=False)
        audit.record("post.scheduled", submission="abc")
        audit.record("platform.unavailable", level="warning", platform="x")
    assert [line["event"] for line in captured] == ["platform.unavailable"]
    assert (tmp_path / "audit.jsonl").read_text().count("post.scheduled") == 1


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10).filter(str.isidentifier),
                       st.text(), max_size=4))
def test_an_event_of_strings_is_written_as_before(tmp_path_factory, fields):
    path = tmp_path_factory.mktemp("log") / "audit.jsonl"
    audit = AuditLog(path, signing_key=None, echo_info=False)
    entry = audit.record("post.published", **fields)
    written = path.read_bytes().decode("utf-8")
    del entry["hash"]
    assert written == old_hashed_line(entry)[0]


def test_a_name_that_is_not_utf8_is_written_as_its_escape_as_before(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl", signing_key=None, echo_info=False)
    entry = audit.record("inbox.rejected", name="photo-\udcff.jpg")
    del entry["hash"]
    assert (tmp_path / "audit.jsonl").read_text() == old_hashed_line(entry)[0]
    assert "\\udcff" in (tmp_path / "audit.jsonl").read_text()


@pytest.mark.parametrize("chunk", [1, 97, 300, 1 << 20])
@pytest.mark.parametrize("mutation", ["a character changed", "the line removed", None])
def test_the_verdict_does_not_depend_on_where_reading_cuts_the_file(tmp_path, monkeypatch,
                                                                    chunk, mutation):
    from daemon.audit import verification  # noqa: PLC0415

    write_log(tmp_path / "audit.jsonl")
    if mutation is not None:
        lines = (tmp_path / "audit.jsonl").read_bytes().split(b"\n")
        lines[3] = MUTATIONS[mutation](lines[3])
        if not lines[3]:
            del lines[3]
        (tmp_path / "audit.jsonl").write_bytes(b"\n".join(lines))
    monkeypatch.setattr(verification, "CHUNK", chunk)
    fast, careful = verdicts(tmp_path, monkeypatch)
    assert fast == careful

"""The CSV importers, scenario files, colour profiles and picture headers never crash or hang
on any input: they accept it or refuse it with their own clear error (which names a row, never
its content)."""

from __future__ import annotations

import re
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.accounts.registry import Registry, RegistryError
from daemon.audit.chain import AuditLog
from daemon.runtime.clock import Clock
from daemon.runtime.store import Store
from policies.consent_register import parse_consent_register
from policies.media import UncleanableMedia, dimensions
from policies.media.icc import IccError, rebuild_profile
from policies.roster import RosterError, parse_roster
from sandbox.scenario import load_scenario
from tests.media import (
    assemble_profile,
    hostile_samples,
    profile_tags,
    profile_with_hidden_data,
    srgb_profile,
)
from training.moderation import TrainingError, read_examples

CELLS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=5), max_size=8)
HEADERS = st.lists(st.sampled_from(["First Name", "Surname", "Preferred Name", "Year", "Pupil",
                                    "Photo Consent", "Restricted", "Email", "text", "label",
                                    "x", ""]), min_size=0, max_size=5)
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def as_csv(header, rows) -> str:
    def cell(value):
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') \
            else value
    return "\n".join(",".join(cell(value) for value in line) for line in [header, *rows]) + "\n"


@FUZZ
@given(HEADERS, ROWS)
def test_the_roster_importer_accepts_or_names_the_problem(header, rows):
    try:
        parse_roster(as_csv(header, rows))
    except RosterError as error:
        assert "column" in str(error) or "row" in str(error)


@FUZZ
@given(HEADERS, ROWS)
def test_the_consent_importer_accepts_or_names_the_problem(header, rows):
    try:
        parse_consent_register(as_csv(header, rows))
    except RosterError as error:
        assert "column" in str(error) or "row" in str(error)


@FUZZ
@given(HEADERS, ROWS)
def test_the_verified_list_importer_accepts_or_names_the_problem(tmp_path, header, rows):
    store = Store(tmp_path / "fuzz.sqlite3")
    audit = AuditLog(tmp_path / "audit.jsonl")
    try:
        Registry(store, audit, Clock()).import_list(as_csv(header, rows), "Email")
    except RegistryError as error:
        assert "column" in str(error) or "row" in str(error)
    finally:
        store.close()
        audit.close()


@FUZZ
@given(HEADERS, ROWS)
def test_the_training_label_reader_accepts_or_names_the_problem(tmp_path, header, rows):
    path = tmp_path / "labels.csv"
    path.write_text(as_csv(header, rows), encoding="utf-8")
    try:
        read_examples(path, "text", "label")
    except TrainingError as error:
        assert "column" in str(error) or "row" in str(error)


@FUZZ
@given(st.text(max_size=300))
def test_a_scenario_file_loads_or_says_what_is_wrong(tmp_path, text):
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except ValueError as error:
        assert str(path) in str(error)
        return
    assert isinstance(scenario, dict)
    tomllib.loads(path.read_text(encoding="utf-8"))  # as read: newlines made universal


@pytest.mark.parametrize("text, problem", [
    ("events = [1]", "events[0] must be a table"),
    ('events = "x"', "events must be a list"),
    ("x = 3", "[x] may only hold"),
    ("[x]\naccount = 5", "[x.account] must be a table"),
    ('events = [{kind = "x.follow"}]', "needs user_id"),
    ('[[events]]\nkind = "x.dm"\nuser_id = "1"\ntext = "hi"\nat = "soon"', "number of seconds"),
])
def test_a_malformed_scenario_is_refused_with_the_item_named(tmp_path, text, problem):
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(problem)):
        load_scenario(path)


@FUZZ
@given(st.recursive(st.one_of(st.integers(), st.text(max_size=8), st.booleans()),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.sampled_from(
                                                ["x", "facebook", "events", "kind", "account",
                                                 "page", "user_id", "text", "at", "name"]),
                                                inner, max_size=4)), max_leaves=12))
def test_any_structure_in_a_scenario_is_accepted_or_refused_cleanly(tmp_path, structure):
    import json  # noqa: PLC0415

    from sandbox.scenario import apply_scenario  # noqa: PLC0415
    from sandbox.state import SandboxState  # noqa: PLC0415

    if not isinstance(structure, dict):
        structure = {"events": structure}
    path = tmp_path / "scenario.toml"
    path.write_text("\n".join(f"{key} = {json.dumps(value)}" for key, value in structure.items()
                              if not isinstance(value, dict)))
    try:
        scenario = load_scenario(path)
    except ValueError:
        return
    try:
        apply_scenario(SandboxState(None), scenario)
    except ValueError:
        pass  # e.g. a reply with no school post to reply to: said in words


def profile_with_tables() -> bytes:
    """sRGB with an lutAtoBType A2B0 (curves, matrix, curves) and an mft2 B2A0 added."""
    import struct  # noqa: PLC0415

    identity = b"curv\x00\x00\x00\x00\x00\x00\x00\x01\x01\x00\x00\x00"
    matrix = struct.pack(">12i", 65536, 0, 0, 0, 65536, 0, 0, 0, 65536, 0, 0, 0)
    a2b0 = (b"mAB \x00\x00\x00\x00" + bytes([3, 3, 0, 0])
            + struct.pack(">5I", 32, 80, 128, 0, 0) + identity * 3 + matrix + identity * 3)
    mft2 = (b"mft2\x00\x00\x00\x00" + bytes([3, 3, 2, 0]) + matrix[:36]
            + struct.pack(">HH", 2, 2) + bytes(2 * (2 * 3 + 8 * 3 + 2 * 3)))
    standard = srgb_profile()
    return assemble_profile(standard[:128], [*profile_tags(standard), (b"A2B0", a2b0),
                                             (b"B2A0", mft2)])


PROFILES = [srgb_profile(), profile_with_hidden_data(), profile_with_tables()]


@FUZZ
@given(st.sampled_from(PROFILES),
       st.lists(st.tuples(st.integers(0, 10**5), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, 10**5))
def test_a_damaged_colour_profile_is_rebuilt_or_refused_and_rebuilds_to_itself(profile, flips,
                                                                                cut):
    data = bytearray(profile)
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[:max(1, cut % (len(data) + 1))])
    try:
        rebuilt, _ = rebuild_profile(data)
    except IccError as error:
        assert "colour profile" in str(error)
        return
    assert len(rebuilt) <= len(data) + 1024  # no profile grows by being rebuilt
    assert rebuild_profile(rebuilt) == (rebuilt, [])


@FUZZ
@given(st.sampled_from(list(hostile_samples().values())) | st.binary(max_size=2048),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6))
def test_picture_headers_give_a_size_or_a_refusal(original, flips):
    data = bytearray(original)
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    try:
        width, height = dimensions(bytes(data))
    except UncleanableMedia as error:
        assert str(error)
        return
    assert width > 0 and height > 0

"""`audit show` names each event's clause by the school's title for it, from the school's
clause catalogue; without one, or for a clause it does not hold, by the id alone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from policies.clauses import DEFAULT_CATALOGUE, Clause, ClauseCatalogue

ZONE = ZoneInfo("Europe/London")
EVENT = {"timestamp": "2026-11-23T09:00:00.000+00:00", "seq": 7, "event": "follower.removed",
         "level": "info", "platform": "x", "clause": "oakfield.followers"}
OAKFIELD = ClauseCatalogue.of([Clause("oakfield.followers", "Only parents we know follow us",
                                      "Followers are checked by the office.", "Oakfield, 6.1")],
                              {"followers": "oakfield.followers"})


def test_audit_show_names_the_clause_by_the_school_s_title():
    from daemon.audit.reading import plain_line  # noqa: PLC0415

    assert plain_line(EVENT, ZONE, OAKFIELD).endswith(
        "  [oakfield.followers: Only parents we know follow us]")


def test_a_clause_the_catalogue_does_not_hold_is_shown_by_its_id():
    from daemon.audit.reading import plain_line  # noqa: PLC0415

    assert plain_line(EVENT, ZONE, DEFAULT_CATALOGUE).endswith("  [oakfield.followers]")
    assert plain_line(EVENT, ZONE).endswith("  [oakfield.followers]")

"""Every rule has a stable id and a default clause, and its findings cite the clause the
school's catalogue gives it: the school's own id and text, in refusals and audit events."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policies.clauses import (
    DEFAULT_CATALOGUE,
    DEFAULT_CLAUSES,
    DEFAULT_RULES,
    Clause,
    ClauseCatalogue,
)
from policies.findings import ApprovalEvidence, PolicyContext
from policies.pipeline import RULES, evaluate
from policies.settings_drift import SETTINGS
from policies.submission import Submission

ROOT = Path(__file__).resolve().parents[2]
OAKFIELD = ClauseCatalogue.of(
    [Clause("oakfield.approval", "Leaders approve every post",
            "Every post is approved by a member of the leadership team.",
            "Oakfield Primary School online safety policy, 3.1"),
     Clause("oakfield.two-readers", "Two leaders read every post",
            "Every post is read by two members of the leadership team.",
            "Oakfield Primary School online safety policy, 3.2")],
    {"slt-approval": "oakfield.approval", "second-reader": "oakfield.two-readers"})
CONTEXT = PolicyContext(
    now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC), time_zone="Europe/London",
    enabled_platforms=("x",), max_images={"x": 4}, max_text_length={"x": 280},
    max_media_bytes=1024, grace_minutes=60, approvals_required=1)


def test_every_default_clause_is_in_the_default_catalogue():
    ids = [clause.id for clause in DEFAULT_CLAUSES]
    assert len(ids) == len(set(ids))
    assert set(DEFAULT_RULES.values()) <= set(ids)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_each_post_rule_s_default_clause_is_the_one_the_catalogue_gives_it(rule):
    assert DEFAULT_RULES[rule.id] == rule.clause_id


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.rule)
def test_each_privacy_setting_has_a_rule_with_its_default_clause(setting):
    assert DEFAULT_RULES[setting.rule] == setting.clause


def rule_ids_named_in(folder: str) -> set[str]:
    """Rule ids the code cites by name: `cites="..."`, `_clause("...")`, `clause_id("...")`."""
    pattern = re.compile(r'(?:cites=|_clause\(|clause_id\()"([a-z-]+)"')
    return {match for path in (ROOT / folder).rglob("*.py")
            for match in pattern.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("folder", ["policies", "daemon"])
def test_every_rule_the_code_cites_has_a_default_clause(folder):
    assert rule_ids_named_in(folder) - set(DEFAULT_RULES) == set()


def test_no_school_s_clause_id_is_written_into_the_daemon():
    """Clause ids come from the catalogue; a literal one would cite St Mary's whatever the
    school configured."""
    literal = re.compile(r'(?:clause=|^[A-Z_]+ = )"(?:st-marys\.|rochester\.|loughton\.|'
                         r'wightwick\.|steward\.format)', re.MULTILINE)
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "daemon").rglob("*.py")
                 if literal.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_findings_cite_the_school_s_clause_and_quote_its_text():
    [finding] = evaluate(Submission(name="post", text="Hello."),
                         replace(CONTEXT, clauses=OAKFIELD))
    assert finding.rule == "slt-approval" and finding.clause_id == "oakfield.approval"
    assert finding.explain().endswith(
        'Rule: slt-approval. Policy: Oakfield Primary School online safety policy, 3.1: '
        '"Every post is approved by a member of the leadership team."')
    assert "St Mary" not in finding.explain()


def test_a_finding_that_cites_another_rule_cites_that_rule_s_clause_for_the_school():
    context = replace(CONTEXT, clauses=OAKFIELD, approvals_required=2,
                      approval=ApprovalEvidence(("Deputy Head",)))
    [finding] = evaluate(Submission(name="post", text="Hello."), context)
    assert finding.rule == "slt-approval" and finding.clause_id == "oakfield.two-readers"
    assert finding.clause.title == "Two leaders read every post"


def test_without_a_school_catalogue_findings_cite_steward_s_defaults():
    [finding] = evaluate(Submission(name="post", text="Hello."), CONTEXT)
    assert finding.clause_id == "st-marys.slt-posts"
    assert finding.clause == DEFAULT_CATALOGUE.clauses["st-marys.slt-posts"]

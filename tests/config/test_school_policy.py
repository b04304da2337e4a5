"""A school deploying Steward cites its own policy: the clause catalogue and which clause each
rule enforces come from the configuration, validation refuses a rule left without a clause
(naming its path), and an install that configures nothing cites what Steward always cited."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from config.example import EXAMPLE_FILE, generate_example, render_settings
from config.loading import ConfigurationError, load_settings
from config.settings import StewardSettings
from daemon.cli.main import main
from policies.clauses import DEFAULT_CATALOGUE, DEFAULT_CLAUSES, DEFAULT_RULES

OAKFIELD_CLAUSES = '''
[[policy.clauses]]
id = "oakfield.names"
title = "Children are never named in full"
text = "We never publish a child's first name together with their surname."
source = "Oakfield Primary School online safety policy, 4.2"

[[policy.clauses]]
id = "oakfield.general"
title = "Our accounts follow this policy"
text = "The school's accounts are run in line with this policy at all times."
source = "Oakfield Primary School online safety policy, 1.1"
'''


def oakfield_rules(**overrides: str) -> str:
    """A [policy.rules] table mapping every rule to Oakfield's general clause, names to its
    names clause, with `overrides` (rule id with underscores -> clause id)."""
    rules = {rule: "oakfield.general" for rule in DEFAULT_RULES} | {"pupil-names": "oakfield.names"}
    rules |= {rule.replace("_", "-"): clause for rule, clause in overrides.items()}
    return "[policy.rules]\n" + "".join(f'{rule} = "{clause}"\n' for rule, clause in rules.items())


def configured(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "steward.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(configured(tmp_path, text))
    return str(caught.value)


def test_an_install_that_configures_no_policy_cites_what_steward_always_cited():
    catalogue = load_settings().policy.catalogue()
    assert catalogue == DEFAULT_CATALOGUE
    assert catalogue.clause_id("pupil-names") == "st-marys.no-full-names"
    assert catalogue.clause_for("pupil-names").citation() == (
        "St Mary's CE Primary social media policy, Guidelines for Twitter: \"The school's "
        "Twitter account will never tweet or make reference to the full names of children in "
        "our school.\"")


def test_a_school_s_own_catalogue_and_mapping_are_loaded(tmp_path):
    settings = load_settings(configured(tmp_path, OAKFIELD_CLAUSES + oakfield_rules()))
    catalogue = settings.policy.catalogue()
    assert sorted(catalogue.clauses) == ["oakfield.general", "oakfield.names"]
    assert catalogue.clause_id("pupil-names") == "oakfield.names"
    assert settings.policy.clause_id("followers") == "oakfield.general"
    assert catalogue.title("oakfield.names") == "Children are never named in full"


def test_a_rule_left_out_of_the_mapping_cites_its_default_clause(tmp_path):
    settings = load_settings(configured(tmp_path, '[policy.rules]\nfaces = "steward.format"\n'))
    assert settings.policy.clause_id("faces") == "steward.format"
    assert settings.policy.clause_id("pupil-names") == "st-marys.no-full-names"


def test_refuses_a_rule_mapped_to_a_clause_not_in_the_catalogue_naming_its_path(tmp_path):
    message = refusal(tmp_path, OAKFIELD_CLAUSES + oakfield_rules(pupil_names="oakfield.nmes"))
    assert "policy.rules.pupil-names: cites 'oakfield.nmes', which is not the id of any of " \
        "[[policy.clauses]]" in message
    assert message.count("\n  ") == 1  # that one problem, and no other


def test_refuses_a_rule_without_a_clause_when_the_school_replaces_the_catalogue(tmp_path):
    rules = oakfield_rules().replace('faces = "oakfield.general"\n', "")
    message = refusal(tmp_path, OAKFIELD_CLAUSES + rules)
    assert "policy.rules.faces: this rule has no clause: its default, 'st-marys.no-faces', is " \
        "not among [[policy.clauses]]" in message
    assert message.count("\n  ") == 1


def test_refuses_a_rule_mapped_to_no_clause(tmp_path):
    message = refusal(tmp_path, '[policy.rules]\nlinks = ""\n')
    assert "policy.rules.links: every rule must cite a clause" in message


def test_refuses_two_clauses_with_the_same_id_naming_the_second(tmp_path):
    message = refusal(tmp_path, OAKFIELD_CLAUSES.replace('"oakfield.general"', '"oakfield.names"')
                      + oakfield_rules().replace("oakfield.general", "oakfield.names"))
    assert "policy.clauses.1.id: [[policy.clauses]] number 2 has the id 'oakfield.names' of " \
        "number 1; every clause needs its own id" in message


def test_refuses_an_unknown_rule_and_suggests_the_right_one(tmp_path):
    message = refusal(tmp_path, '[policy.rules]\npupil-nmes = "st-marys.no-full-names"\n')
    assert "policy.rules.pupil-nmes: Steward has no rule of this name; did you mean " \
        "'pupil-names'?" in message


def test_refuses_a_clause_id_with_spaces_and_a_clause_without_text(tmp_path):
    message = refusal(tmp_path, '[[policy.clauses]]\nid = "oak field"\ntitle = "T"\n'
                      'text = ""\nsource = "S"\n')
    assert "policy.clauses.0.id: must be letters, digits" in message
    assert "policy.clauses.0.text:" in message


def test_config_validate_shows_the_problem_and_exits_2(tmp_path, capsys):
    path = configured(tmp_path, OAKFIELD_CLAUSES + oakfield_rules(links="oakfield.links"))
    assert main(["config", "validate", "--config", str(path)]) == 2
    assert "policy.rules.links: cites 'oakfield.links'" in capsys.readouterr().err


def test_the_daemon_refuses_to_start_with_exit_2_on_a_rule_without_a_clause(tmp_path, capsys):
    path = configured(tmp_path, f'[paths]\nstate_dir = "{tmp_path / "state"}"\n'
                      + OAKFIELD_CLAUSES)
    assert main(["run", "--config", str(path)]) == 2
    assert "policy.rules.pupil-names: this rule has no clause" in capsys.readouterr().err
    assert not (tmp_path / "state" / "audit.jsonl").exists()


def test_the_generated_example_holds_today_s_catalogue_and_mapping():
    policy = tomllib.loads(generate_example())["policy"]
    assert [clause["id"] for clause in policy["clauses"]] == [c.id for c in DEFAULT_CLAUSES]
    assert policy["rules"] == DEFAULT_RULES
    assert load_settings(EXAMPLE_FILE).policy.catalogue() == DEFAULT_CATALOGUE


def test_the_example_keeps_every_description_as_a_comment_in_the_models_order():
    comments = " ".join(line.removeprefix("#").strip() for line in generate_example().splitlines()
                        if line.startswith("#"))
    descriptions = []
    for field in StewardSettings.model_fields.values():
        options = getattr(field.annotation, "model_fields", None)
        for option in options.values() if options else [field]:
            descriptions.append(" ".join(option.description.split()[:8]))
    positions = [comments.find(description) for description in descriptions]
    assert -1 not in positions, [d for d, p in zip(descriptions, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    assert "pupil-names: a pupil's full name in a post" in comments


def test_show_writes_the_school_s_policy_as_toml_that_reads_back(tmp_path):
    settings = load_settings(configured(tmp_path, OAKFIELD_CLAUSES + oakfield_rules()))
    shown = tomllib.loads(render_settings(settings))
    assert [clause["id"] for clause in shown["policy"]["clauses"]] == ["oakfield.names",
                                                                       "oakfield.general"]
    assert shown["policy"]["rules"]["pupil-names"] == "oakfield.names"

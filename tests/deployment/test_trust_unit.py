"""A trust's template unit, `steward@.service`: each school's instance has the single-school
unit's hardening, word for word, and paths and users of its own, so that nothing is shared
between two schools but the program."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli.main import main
from daemon.runtime.unit import ServiceUnit, UnitError

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNIT, TEMPLATE = SYSTEMD / "steward.service", SYSTEMD / "steward@.service"
# The directives that name the school; every other one is the single-school unit's.
PER_SCHOOL = {"Description", "ExecStart", "User", "Group", "SupplementaryGroups",
              "StateDirectory", "RuntimeDirectory", "ReadWritePaths", "LoadCredentialEncrypted"}


def directives(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in path.read_text().splitlines()
            if "=" in line and not line.startswith(("#", ";"))]


def test_the_template_has_every_hardening_directive_of_the_single_school_unit():
    single = [entry for entry in directives(UNIT) if entry[0] not in PER_SCHOOL]
    template = [entry for entry in directives(TEMPLATE) if entry[0] not in PER_SCHOOL]
    assert template == single
    assert {key for key, _ in directives(TEMPLATE)} == {key for key, _ in directives(UNIT)}


def test_three_schools_share_no_path_and_no_user():
    schools = ("oakfield", "st-marys", "hillcrest")
    units = {school: ServiceUnit.read(TEMPLATE, school) for school in schools}
    owned: dict[str, set[str]] = {}
    for school, unit in units.items():
        assert unit.exec_start[1:5] == ("--school", school, "run", "--config")
        assert unit.exec_start[5] == f"/etc/steward/{school}/steward.toml"
        assert unit.state_path() == Path("/var/lib/steward") / school
        assert unit.credentials == (("steward.master-key",
                                     Path(f"/etc/steward/{school}/steward.master-key.cred")),)
        assert (unit.user, unit.group, unit.supplementary_groups) == (
            f"steward-{school}", f"steward-{school}", (f"steward-{school}-slt",))
        owned[school] = {unit.user, unit.group, *unit.supplementary_groups,
                         str(unit.state_path()), unit.exec_start[5],
                         *(str(source) for _, source in unit.credentials)}
    for school in schools:
        for other in schools:
            if other != school:
                assert not owned[school] & owned[other]


def test_the_template_cannot_be_read_without_a_school():
    with pytest.raises(UnitError, match="--school NAME"):
        ServiceUnit.read(TEMPLATE)


def test_admin_for_a_school_reads_the_template_for_that_school(tmp_path, capsys):
    """No template installed here: the message names the template, so the instance would have
    been read from it."""
    code = main(["--school", "oakfield", "admin", "--unit", str(tmp_path / "steward@.service"),
                 "status"])
    assert code == 2
    assert "steward@.service" in capsys.readouterr().err


def _block(after: str) -> list[str]:
    """The first `sh` block after the heading `after` in docs/administrator.md."""
    text = (SYSTEMD.parent / "docs" / "administrator.md").read_text()
    rest = text[text.index(after):]
    start = rest.index("```sh\n") + len("```sh\n")
    return rest[start:rest.index("```", start)].splitlines()


def test_a_schools_block_stores_every_secret_the_single_school_block_stores():
    """Tried in a Debian 13 chroot: with only x.access_token set, as the guide once said, a
    school's `config validate` and its service refuse to start (live mode lacks four)."""
    def secrets(lines: list[str]) -> list[str]:
        return [line.rsplit(" ", 1)[1] for line in lines if "admin credentials set" in line]

    single = secrets(_block("## Installing it on a server"))
    school = _block("## A trust of schools")
    assert secrets(school) == single
    assert all("--school oakfield admin" in line for line in school
               if "admin credentials set" in line)


def test_a_schools_snippets_are_written_where_the_folder_may_not_exist_yet():
    """A fresh Debian 13 has no /etc/sysusers.d: `sudo tee` into it fails, and every step after
    it with it (no users, no folders, no configuration). `install -D` makes the folder."""
    for line in _block("## A trust of schools"):
        if "/etc/sysusers.d/" in line or "/etc/tmpfiles.d/" in line:
            assert "tee" not in line.split("|")[-1] and (
                "systemd-" in line or "install -D" in line), line


def test_each_schools_configuration_starts_with_its_own_name(tmp_path):
    """Installed word for word for two schools, the template made both 'Oakfield Primary
    School' until someone edited them: in their reports, escrow bundles and mails."""
    from config.loading import load_settings

    template = (SYSTEMD / "trust" / "steward.toml").read_text()
    names = set()
    for school in ("oakfield", "st-marys"):
        config = tmp_path / f"{school}.toml"
        config.write_text(template.replace("@SCHOOL@", school).replace(
            f"/var/lib/steward/{school}", str(tmp_path / school)).replace(
            'mode = "live"', 'mode = "sandbox"'))
        names.add(load_settings(config).school.name)
    assert names == {"oakfield", "st-marys"}

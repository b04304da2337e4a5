"""The type checker runs in CI, strict where issue 17 says (section 3): policies/, connectors/
and config/ are checked by mypy --strict from `make lint`, which `make test` (what CI runs) and
`make test-fast` both start; daemon/ and sandbox/ are checked there too, by a non-strict
override (the bodies of unannotated functions are checked).

The configuration is read from pyproject.toml and the Makefile, and then proved on samples:
mypy, run with the repository's own configuration on a deliberately untyped module, must
refuse it where checking is strict and accept its signature (not its body) in daemon/.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is in the [test] extra: "
                               ".venv/bin/pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
STRICT_PACKAGES = ("policies", "connectors", "config")

UNTYPED = "def first(items):\n    return items[0]\n"
BODY_ERROR = "def count(items):\n    total: int = 'none'\n    return total\n"


def _recipe(target: str) -> tuple[list[str], list[str]]:
    """The prerequisites and the command lines of a Makefile target."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:(.*)\n((?:\t.*\n?)*)", makefile, re.MULTILINE)
    assert match, f"the Makefile has no target {target}"
    return match.group(1).split(), [line.strip() for line in match.group(2).splitlines()]


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory) -> dict[str, list[str]]:
    """One mypy run, with the repository's configuration, over samples: an unannotated
    function in each strict package, and in daemon/ one too plus a function whose body is
    wrong. Return the error lines by package."""
    root = tmp_path_factory.mktemp("samples")
    sources = {package: UNTYPED for package in STRICT_PACKAGES}
    sources["daemon"] = UNTYPED + "\n\n" + BODY_ERROR
    for package, source in sources.items():
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("", encoding="utf-8")
        (root / package / "sample.py").write_text(source, encoding="utf-8")
    out, err, _ = mypy_api.run([
        "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(root / "cache"),
        *(str(root / package / "sample.py") for package in sources)])
    report: dict[str, list[str]] = {package: [] for package in sources}
    for line in (out + err).splitlines():
        for package in sources:
            if line.startswith(str(root / package)) or line.startswith(f"{package}/"):
                report[package].append(line)
    return report


def test_the_lint_step_runs_mypy_so_make_test_and_make_test_fast_fail_on_a_type_error():
    _, commands = _recipe("lint")
    assert any(re.search(r"\b(mypy|-m mypy)\b", command) for command in commands)
    for target in ("test", "test-fast"):
        prerequisites, _ = _recipe(target)
        assert "lint" in prerequisites, f"make {target} does not run the lint step"


def test_policies_connectors_and_config_are_what_mypy_checks_strictly():
    mypy = CONFIGURATION["tool"]["mypy"]
    assert mypy["strict"] is True
    assert set(STRICT_PACKAGES) <= set(mypy["files"])
    assert "pydantic.mypy" in mypy["plugins"]
    for override in mypy.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [
            override["module"]]
        relaxed = [module for module in modules
                   if module.split(".")[0] in STRICT_PACKAGES]
        assert not relaxed, f"an override relaxes {relaxed}"


def test_the_daemon_and_the_sandbox_are_type_checked_in_ci_too():
    assert {"daemon", "sandbox"} <= set(CONFIGURATION["tool"]["mypy"]["files"])


def test_missing_imports_are_ignored_only_for_named_libraries():
    mypy = CONFIGURATION["tool"]["mypy"]
    assert "ignore_missing_imports" not in mypy, "never globally"
    for override in mypy.get("overrides", []):
        if override.get("ignore_missing_imports"):
            assert all(module.split(".")[0] not in (*STRICT_PACKAGES, "daemon", "sandbox")
                       for module in override["module"])


@pytest.mark.parametrize("package", STRICT_PACKAGES)
def test_refuses_an_unannotated_function_in_a_strict_package(sample_report, package):
    assert any("[no-untyped-def]" in line for line in sample_report[package]), sample_report


def test_accepts_an_unannotated_function_in_the_daemon_but_checks_its_body(sample_report):
    errors = sample_report["daemon"]
    assert not any("[no-untyped-def]" in line for line in errors), errors
    assert any("[assignment]" in line for line in errors), errors

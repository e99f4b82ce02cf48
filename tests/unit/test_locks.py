"""The lock files (requirements/*.txt, written by scripts/lock) follow pyproject.toml.

A dependency added to pyproject.toml and not to the locks would be missing from
the image and from every fresh .venv (both install the locks, hashes checked);
these tests say to run scripts/lock instead.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from educonnect.settings import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
RUN_LOCK = "pyproject.toml and the locks differ: run scripts/lock (README, Dependencies)"


def locked(name: str) -> dict[str, str]:
    """Distribution name -> locked version."""
    text = (REQUIREMENTS / name).read_text()
    return {canonicalize_name(n): v for n, v in PIN.findall(text)}


def project() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]


def requirements(extra: str | None) -> list[Requirement]:
    found = (
        project()["dependencies"] if extra is None else project()["optional-dependencies"][extra]
    )
    own = canonicalize_name(project()["name"])
    return [r for r in map(Requirement, found) if canonicalize_name(r.name) != own]


@pytest.mark.parametrize(
    ("extra", "locks"),
    [
        (None, ["production.txt", "dev.txt"]),
        ("stack", ["dev.txt"]),
        ("test", ["dev.txt"]),
        ("lint", ["dev.txt"]),
        ("dev", ["dev.txt"]),
    ],
)
def test_every_dependency_is_locked_at_an_allowed_version(extra, locks):
    for lock in locks:
        versions = locked(lock)
        for requirement in requirements(extra):
            name = canonicalize_name(requirement.name)
            assert name in versions, f"{requirement} not in requirements/{lock}: {RUN_LOCK}"
            assert requirement.specifier.contains(versions[name], prereleases=True), (
                f"requirements/{lock} has {name}=={versions[name]}, pyproject.toml "
                f"asks {requirement}: {RUN_LOCK}"
            )


def test_every_extra_is_in_the_dev_lock():
    assert set(project()["optional-dependencies"]) == {"stack", "test", "lint", "dev"}, (
        "a new extra: add it to `dev` and to the parametrization above"
    )


def test_production_runs_the_versions_the_tests_run():
    dev, production = locked("dev.txt"), locked("production.txt")
    assert {n: dev.get(n) for n in production} == production, RUN_LOCK


def test_production_lock_has_no_development_package():
    production = locked("production.txt")
    for extra in ("stack", "test", "lint"):
        for requirement in requirements(extra):
            assert canonicalize_name(requirement.name) not in production, requirement


@pytest.mark.parametrize("lock", ["production.txt", "dev.txt"])
def test_every_locked_file_has_a_hash(lock):
    text = (REQUIREMENTS / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1])
    pinned = [e for e in entries if PIN.match(e)]
    assert pinned and all("--hash=sha256:" in e for e in pinned)

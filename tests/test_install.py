"""The pinned install: constraints.txt (written by ``make lock``) pins every dependency
that pyproject.toml names, at a version its specifier allows, so a dependency added
without regenerating the lock fails here rather than installing unpinned."""
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pins():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_constraints_pin_every_dependency_of_pyproject_within_its_specifier():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    pins = _pins()
    assert "numpy" in pins and canonicalize_name(project["name"]) not in pins   # the project itself is not pinned
    missing, outside = [], []
    for r in reqs:
        name = canonicalize_name(r.name)
        if name == canonicalize_name(project["name"]):       # neurohebb[lava,...]: the dev extra
            continue
        if r.marker is not None and not r.marker.evaluate({"python_version": "3.10", "sys_platform": "linux",
                                                           "platform_machine": "x86_64"}):
            continue
        if name not in pins:
            missing.append(str(r))
        elif not r.specifier.contains(pins[name], prereleases=True):
            outside.append(f"{r} (pinned {pins[name]})")
    assert not missing and not outside, f"run `make lock`: not pinned {missing}, pinned outside {outside}"

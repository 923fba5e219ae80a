"""Packaging: installed, the project adds one top-level package, `vault`."""

from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The folders at the top of the repository and the package each installs as.
FOLDERS = {"vault": "vault", "store": "vault.store", "handlers": "vault.handlers", "jobs": "vault.jobs"}


def _setup_options() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser["options"]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_every_package_folder_is_listed_under_the_vault_namespace() -> None:
    # Rule: a new subpackage that setup.cfg does not list would be missing from the installed service.
    found = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *relative.parts]))
    listed = set(_lines(_setup_options()["packages"]))
    assert listed == found
    assert all(name == "vault" or name.startswith("vault.") for name in listed)


def test_the_top_level_folders_install_inside_vault() -> None:
    mapping = dict(line.replace(" ", "").split("=") for line in _lines(_setup_options()["package_dir"]))
    assert mapping == {package: folder for folder, package in FOLDERS.items() if folder != "vault"}


def _package_data(package: str) -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return _lines(parser["options.package_data"].get(package, ""))


def test_the_console_files_are_package_data() -> None:
    # Rule: `pip install .` ships every file /ui serves (vault/console/), not only the Python modules.
    patterns = _package_data("vault")
    console = ROOT / "vault" / "console"
    files = [path.relative_to(ROOT / "vault").as_posix() for path in console.rglob("*") if path.is_file()]
    assert "console/index.html" in files and "console/app.js" in files
    unshipped = [name for name in files if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)]
    assert unshipped == [], f"add these to [options.package_data] vault in setup.cfg: {unshipped}"

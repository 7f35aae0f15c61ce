"""The import contracts of pyproject.toml (docs/architecture.md) hold, as scripts/test checks before pytest."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_the_contracts_the_architecture_page_names_are_configured():
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    by_name = {contract["name"]: contract for contract in contracts}
    assert "The core of subscribers (all but its web layer) imports no other app" in by_name
    layers = by_name["No cycles between apps"]
    assert layers["type"] == "layers"
    assert layers["layers"][0] == "front" and layers["layers"][-2:] == ["subscribers", "alertmanager"]
    # Only the project's URLs, the composition root, may import from above, besides the exceptions listed there.
    from_alertmanager = [rule for rule in layers["ignore_imports"] if rule.startswith("alertmanager.")]
    assert all(rule.startswith("alertmanager.urls -> ") for rule in from_alertmanager)

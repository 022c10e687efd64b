"""The public API: every advertised name resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import supplychain


def test_every_public_name_resolves() -> None:
    for name in supplychain.__all__:
        assert getattr(supplychain, name) is not None, name
    assert {"sign", "verify", "scan", "convert", "build_bom", "check_model"} <= set(
        supplychain.__all__
    )


def test_importing_the_package_loads_no_capability() -> None:
    probe = (
        "import sys, supplychain\n"
        "print(sorted(m for m in sys.modules if m.startswith('supplychain.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['supplychain._version']"

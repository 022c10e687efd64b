"""Render :class:`~supplychain.bom.model.AiBom` facts as CycloneDX 1.6 or 1.7 JSON.

Written directly from the typed facts rather than through cyclonedx-python-lib's
object model: the library cannot express ``modelCard``, ``data`` or
``formulation`` (everyone injects them after serialising), and building its
objects costs about a second per 2,000 files. The official schemas, bundled
with that library, are still the gate: :mod:`supplychain.bom.validate` rejects
anything they refuse before a byte is written.

Where CycloneDX has no field for a fact, it goes in ``properties``: the
``cdx:ai-ml:*`` names of the CycloneDX property taxonomy where one exists, our
``supplychain:*`` names otherwise. Scanner and integrity findings are
``vulnerabilities`` (rated, CWE-linked, and pointing at the affected file's
bom-ref, so policy engines and Dependency-Track can act on them); licence
findings are properties on the component they concern, since CycloneDX has no
licence-compliance construct short of ``declarations``.
"""

from __future__ import annotations

from supplychain.bom.cyclonedx.writer import CycloneDxWriter

__all__ = ["CycloneDxWriter"]

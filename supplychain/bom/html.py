"""A self-contained HTML report of a BOM summary: inline CSS, no scripts, no external assets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from supplychain.bom.summary import SEVERITY_ORDER, Summary
from supplychain.output import human_bytes

_CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
 color:#1c2430;background:#f4f6f9}
header{background:#1f3147;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px}
header .meta{color:#c7d3e2;font-size:13px;word-break:break-all}
main{padding:20px 32px 40px;max-width:1280px}
section{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:14px 18px;
 margin:0 0 16px}
h2{font-size:17px;margin:0 0 10px;color:#1f3147}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef1f5;vertical-align:top}
th{color:#55657a;font-weight:600;background:#f8fafc}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 16px}
.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:10px 16px;min-width:150px}
.card .v{font-size:22px;font-weight:700}
.card .k{color:#55657a;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;
 color:#fff;background:#6b7a8c;white-space:nowrap}
.critical{background:#8e1020}.high{background:#c62828}.medium{background:#d9822b}
.low{background:#3b7ddd}.info,.none,.unknown{background:#6b7a8c}
.ok{color:#1b7f3b;font-weight:700}.no{color:#c62828;font-weight:700}.na{color:#8a96a5}
.axes{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:10px 24px}
.axis h3{margin:4px 0;font-size:14px}
.bar{height:8px;background:#e6ebf1;border-radius:4px;overflow:hidden;margin:2px 0 6px}
.bar span{display:block;height:100%;background:#2e8b57}
ul{margin:4px 0;padding-left:20px}
li,.mono{overflow-wrap:anywhere}
td{overflow-wrap:break-word}
.muted{color:#6b7a8c}
.open{font-size:14px;padding:3px 12px;background:#2e6fb0}
"""


def render_html(summary: Summary) -> str:
    """The report as one HTML document (UTF-8 text)."""
    bom = summary.bom
    title = f"AI-BOM: {bom.display_name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        _header(summary),
        "<main>",
        _cards(summary),
        _completeness(summary),
        _licences(summary),
        _lineage(summary),
        _datasets(summary),
        _findings(summary),
        _files(summary),
        _libraries(summary),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _header(summary: Summary) -> str:
    bom = summary.bom
    version = f" @ {bom.model_version}" if bom.model_version else ""
    meta = [
        f"CycloneDX {bom.spec_version}",
        bom.tool or "",
        bom.timestamp or "",
        bom.serial_number or "",
    ]
    invalid = ""
    if not summary.valid:
        invalid = (
            f'<p><span class="badge critical">schema invalid</span> '
            f"{escape(summary.schema_problems[0])}</p>"
        )
    openness = f' <span class="badge open">{escape(bom.openness)}</span>' if bom.openness else ""
    return (
        f"<header><h1>AI-BOM: {escape(bom.display_name)}{escape(version)}{openness}</h1>"
        f'<div class="meta">{" · ".join(escape(m) for m in meta if m)}</div>'
        f'<div class="meta">{escape(bom.purl or "")}</div>{invalid}</header>'
    )


def _cards(summary: Summary) -> str:
    bom = summary.bom
    size = sum(f.size or 0 for f in bom.files)
    counts = summary.severity_counts
    serious = counts.get("critical", 0) + counts.get("high", 0)
    cards = [
        ("files", f"{len(bom.files)}", human_bytes(size)),
        ("parameters", f"{bom.parameter_count:,}" if bom.parameter_count else "–", ""),
        ("licence", ", ".join(lic.label for lic in bom.licenses) or "none", ""),
        ("datasets", str(len(bom.datasets)), ""),
        ("ancestors", str(len(bom.ancestors)), ""),
        (
            "high/critical findings",
            str(serious),
            f"{len(bom.findings) + len(bom.license_findings)} in all",
        ),
    ]
    body = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
        f'<div class="muted">{escape(sub)}</div></div>'
        for k, v, sub in cards
    )
    return f'<div class="cards">{body}</div>'


def _completeness(summary: Summary) -> str:
    blocks = []
    for axis in summary.axes:
        pct = 100 * axis.passed // axis.applicable if axis.applicable else 0
        rows = "".join(
            f"<li>{_mark(c.ok)} {escape(c.label)}"
            f"{' <span class=muted>– ' + escape(c.detail) + '</span>' if c.detail else ''}</li>"
            for c in axis.checks
        )
        blocks.append(
            f'<div class="axis"><h3>{escape(axis.name)} – {axis.passed}/{axis.applicable}</h3>'
            f'<div class="bar"><span style="width:{pct}%"></span></div><ul>{rows}</ul></div>'
        )
    evidence = "".join(f"<li>{escape(e)}</li>" for e in summary.bom.openness_evidence)
    openness = (
        f"<p><b>Openness:</b> {escape(summary.bom.openness or 'not stated')}</p><ul>{evidence}</ul>"
        if summary.bom.openness
        else ""
    )
    axes = "".join(blocks)
    return f'<section><h2>Completeness</h2>{openness}<div class="axes">{axes}</div></section>'


def _mark(ok: bool | None) -> str:
    if ok is None:
        return '<span class="na">n/a</span>'
    return '<span class="ok">✓</span>' if ok else '<span class="no">✗</span>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, raw: bool = False) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if raw else escape(cell)}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(severity: str) -> str:
    cls = severity if severity in SEVERITY_ORDER else "unknown"
    return f'<span class="badge {cls}">{escape(severity)}</span>'


def _licences(summary: Summary) -> str:
    bom = summary.bom
    rows = [
        [
            escape("model"),
            escape(lic.label),
            escape(lic.license_class or "?"),
            escape(lic.commercial_use or "?"),
            escape(lic.source or ""),
        ]
        for lic in bom.licenses
    ] or [[escape("model"), '<span class="no">none declared</span>', "", "", ""]]
    table = _table(("subject", "licence", "class", "commercial use", "source"), rows, raw=True)
    findings = (
        _table(
            ("severity", "rule", "subject", "finding"),
            (
                [_badge(f.severity), escape(f.rule), escape(f.subject), escape(f.message)]
                for f in sorted(bom.license_findings, key=lambda f: _rank(f.severity))
            ),
            raw=True,
        )
        if bom.license_findings
        else '<p class="muted">No licence findings.</p>'
    )
    return f"<section><h2>Licences</h2>{table}<h3>Licence findings</h3>{findings}</section>"


def _lineage(summary: Summary) -> str:
    bom = summary.bom
    converted = [f for f in bom.files if f.converted_from]
    if not bom.ancestors and not converted:
        return '<section><h2>Lineage</h2><p class="muted">No base model declared.</p></section>'
    rows = [
        [
            "&nbsp;&nbsp;" * a.depth + escape(a.relation or "derived from"),
            escape(a.name),
            f'<span class="mono">{escape(a.version or "unpinned")}</span>',
            escape(
                ", ".join(f"{lic.label} [{lic.license_class or '?'}]" for lic in a.licenses)
                or "unknown"
            ),
            escape(a.source or ""),
        ]
        for a in bom.ancestors
    ]
    rows += [
        ["converted", escape(f.converted_from or ""), "", "", escape(f"to {f.name}")]
        for f in converted
    ]
    return (
        "<section><h2>Lineage</h2>"
        + _table(("relation", "model", "revision", "licence", "declared in"), rows, raw=True)
        + "</section>"
    )


def _datasets(summary: Summary) -> str:
    bom = summary.bom
    if not bom.datasets:
        return '<section><h2>Datasets</h2><p class="muted">No datasets declared.</p></section>'
    rows = [
        [
            "/".join(d.roles) or "-",
            d.name,
            d.version or "",
            ", ".join(lic.label for lic in d.licenses) or "no licence",
            d.url or "",
            ", ".join(d.sources),
        ]
        for d in bom.datasets
    ]
    return (
        "<section><h2>Datasets</h2>"
        + _table(("role", "dataset", "version", "licence", "source", "declared in"), rows)
        + "</section>"
    )


def _findings(summary: Summary) -> str:
    bom = summary.bom
    scan = (
        ""
        if bom.scan_performed
        else (
            '<p class="muted">No scanner report is included in this BOM; findings below are what '
            "the BOM generator checked itself.</p>"
        )
    )
    if not bom.findings:
        return f'<section><h2>Findings</h2>{scan}<p class="muted">No findings.</p></section>'
    rows = (
        [
            _badge(f.severity),
            escape(f.rule_id),
            f'<span class="mono">{escape(", ".join(f.affects))}</span>',
            escape(f.message),
        ]
        for f in sorted(bom.findings, key=lambda f: _rank(f.severity))
    )
    return (
        f"<section><h2>Findings ({len(bom.findings)})</h2>{scan}"
        + _table(("severity", "rule", "file", "finding"), rows, raw=True)
        + "</section>"
    )


def _files(summary: Summary) -> str:
    bom = summary.bom
    rows = []
    for f in bom.files:
        flags = [
            label
            for label, on in (
                ("executes code on load", f.can_execute_code),
                ("remote code", f.remote_code),
                ("extension mismatch", f.extension_mismatch),
                ("cache blob mismatch", f.blob_verified is False),
            )
            if on
        ]
        rows.append(
            [
                f'<span class="mono">{escape(f.name)}</span>',
                escape(f.role or ""),
                escape(f.format or ""),
                escape(human_bytes(f.size or 0)),
                f'<span class="mono">{escape(f.sha256 or "none")}</span>',
                " ".join(f'<span class="badge medium">{escape(flag)}</span>' for flag in flags),
            ]
        )
    return (
        f"<section><h2>Files ({len(bom.files)})</h2>"
        + _table(("file", "role", "format", "size", "sha256", "flags"), rows, raw=True)
        + (
            f"<p>OMS root digest <span class=mono>{escape(bom.root_digest)}</span></p>"
            if bom.root_digest
            else ""
        )
        + "</section>"
    )


def _libraries(summary: Summary) -> str:
    libraries = summary.bom.libraries
    if not libraries:
        return ""
    rows = [
        [lib.name, lib.version or "", ", ".join(lib.licenses), lib.purl or ""] for lib in libraries
    ]
    return (
        f"<section><details><summary><b>Runtime libraries ({len(libraries)})</b></summary>"
        + _table(("library", "version", "licence", "purl"), rows)
        + "</details></section>"
    )


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)

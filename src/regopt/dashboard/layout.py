"""A picture of a workspace's layout, drawn locally from its spec: sections as bands, each panel
a box with its kind, title and keys. The labels go into the PNG's metadata too, so a test can
tell whether the picture in docs/ still matches the spec the command builds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = 4
KINDS = {
    "Run History Line Plot": "line plot",
    "Scalar Chart": "scalar",
    "Run Comparer": "run comparer",
    "Parallel Coordinates Plot": "parallel coordinates",
    "Bar Chart": "bar chart",
    "Media Browser": "media",
}
METADATA_KEY = "regopt-layout"
RUNS = "Runs"  # the run set: grouping and the run table
LINE = 0.18  # height of a text line, in units of a panel's width


def panel_label(panel: dict[str, Any]) -> str:
    config = panel.get("config") or {}
    kind = KINDS.get(panel.get("viewType", ""), panel.get("viewType", "panel"))
    keys = config.get("metrics") or config.get("mediaKeys") or []
    if config.get("metricRegex"):
        keys = [*keys, config["metricRegex"]]
    if config.get("columns"):
        keys = [c.get("accessor", "") for c in config["columns"]]
    keys = [_short(str(key)) for key in keys]
    title = config.get("chartTitle") or ""
    return "\n".join(part for part in (f"[{kind}] {title}", ", ".join(map(str, keys))) if part)


def _short(key: str) -> str:
    """`summary_metrics.best/val/loss` -> `best/val/loss`; `config:seed.value` -> `seed`."""
    for prefix in ("summary_metrics.", "summary:", "config:"):
        key = key.removeprefix(prefix)
    return key.removesuffix(".value")


def runs_label(spec: dict[str, Any]) -> str:
    """How the runs are grouped and which columns the run table pins (the verdict table)."""
    runset = spec["spec"]["section"]["runSets"][0]
    grouping = ", ".join(_short(g.get("name", "")) for g in runset.get("grouping", []))
    columns = [_short(c) for c in runset["runFeed"].get("columnOrder", [])]
    return f"runs grouped by {grouping}; run table: {', '.join(columns)}"


def layout_labels(spec: dict[str, Any]) -> list[list[str]]:
    """One list of panel labels per section, section name first."""
    sections = spec["spec"]["section"]["panelBankConfig"]["sections"]
    drawn = [[s["name"], *(panel_label(p) for p in s.get("panels", []))] for s in sections]
    return [[RUNS, runs_label(spec)], *drawn]


def _boxes(sections: list[list[str]]) -> list[tuple[str, list[list[tuple[str, int]]]]]:
    """Each section's rows of (wrapped label, width in columns); the run set spans a row."""
    import textwrap

    out = []
    for name, *labels in sections:
        width = COLUMNS if name == RUNS else 1
        wrapped = [
            "\n".join(textwrap.fill(line, 38 * width) for line in label.splitlines())
            for label in labels
        ]
        rows = [
            [(text, width) for text in wrapped[i : i + COLUMNS // width]]
            for i in range(0, len(wrapped), COLUMNS // width)
        ]
        out.append((name, rows))
    return out


def draw_layout(spec: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    sections = layout_labels(spec)
    boxes = _boxes(sections)
    heights = [
        [0.25 + LINE * max(t.count("\n") + 1 for t, _ in row) for row in rows] for _, rows in boxes
    ]
    total = sum(0.5 + sum(h) + 0.1 * len(h) for h in heights)
    fig, ax = plt.subplots(figsize=(14, 0.9 * total))
    ax.set_xlim(0, COLUMNS)
    ax.set_ylim(total, 0)
    ax.axis("off")
    y = 0.0
    for (name, rows), row_heights in zip(boxes, heights, strict=True):
        ax.text(0.02, y + 0.3, name, fontsize=12, weight="bold", va="center")
        y += 0.5
        for row, height in zip(rows, row_heights, strict=True):
            for i, (text, width) in enumerate(row):
                x0 = i * width
                ax.add_patch(
                    Rectangle(
                        (x0 + 0.03, y),
                        width - 0.06,
                        height,
                        facecolor="#eef3fb",
                        edgecolor="#4a6fa5",
                    )
                )
                ax.text(x0 + 0.07, y + 0.1, text, fontsize=7.5, va="top", family="monospace")
            y += height + 0.1
    ax.set_title(f"W&B workspace '{spec.get('displayName', '')}'", fontsize=13)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {METADATA_KEY: json.dumps(sections), "Software": None}
    fig.savefig(path, dpi=80, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return path


def drawn_labels(path: Path) -> list[list[str]]:
    """The labels a picture drawn by draw_layout was drawn from (its PNG metadata)."""
    from PIL import Image

    with Image.open(path) as image:
        return json.loads(image.text[METADATA_KEY])

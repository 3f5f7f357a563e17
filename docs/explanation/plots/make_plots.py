"""Draw the performance page's bar charts as SVG, from the JSON files next to this script.

Standard library only, so the docs build needs no plotting package:

    python docs/explanation/plots/make_plots.py

rewrites every ``<name>.svg`` from ``<name>.json`` (a title, a source line, a unit and a
list of ``[label, value]`` bars). The numbers come from the benchmarks in ``benchmarks/``;
after re-running one, update its JSON file and run this script.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABEL_WIDTH = 300
BAR_AREA = 360
BAR_HEIGHT = 22
GAP = 10
TOP = 40
FONT = "font-family='sans-serif' font-size='12'"


def render(spec: dict[str, object]) -> str:
    """The SVG text of one bar chart."""
    bars = [(str(label), float(value)) for label, value in spec["bars"]]  # type: ignore[attr-defined]
    unit = str(spec["unit"])
    largest = max(value for _, value in bars)
    height = TOP + len(bars) * (BAR_HEIGHT + GAP) + 30
    width = LABEL_WIDTH + BAR_AREA + 70
    lines = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'>",
        f"<title>{escape(str(spec['title']))}</title>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='10' y='22' {FONT} font-weight='bold'>{escape(str(spec['title']))}</text>",
    ]
    for index, (label, value) in enumerate(bars):
        y = TOP + index * (BAR_HEIGHT + GAP)
        length = max(1.0, BAR_AREA * value / largest)
        middle = y + BAR_HEIGHT / 2 + 4
        lines += [
            f"<text x='{LABEL_WIDTH - 8}' y='{middle:.0f}' {FONT} "
            f"text-anchor='end'>{escape(label)}</text>",
            f"<rect x='{LABEL_WIDTH}' y='{y}' width='{length:.1f}' height='{BAR_HEIGHT}' "
            "fill='#3f51b5'/>",
            f"<text x='{LABEL_WIDTH + length + 6:.1f}' y='{middle:.0f}' {FONT}>"
            f"{value:g} {escape(unit)}</text>",
        ]
    lines += [
        f"<text x='10' y='{height - 10}' {FONT} fill='#555'>{escape(str(spec['source']))}</text>",
        "</svg>",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    for source in sorted(HERE.glob("*.json")):
        source.with_suffix(".svg").write_text(render(json.loads(source.read_text())))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The model card's free-music table from the CSVs of ``emotrack analyze`` (issue 18).

For each analysed piece: the mean position (raw and percentile), the share of its heard,
warmed-up frames in each quadrant of the display plane, the most common mood word and how
many different words it gets.  Reads only what the product writes, so the table is what a
user of ``emotrack analyze FILES --mode causal --format csv --out DIR`` would compute:

    emotrack analyze PIECES... --mode causal --format csv --out /tmp/free
    python tools/free_music_table.py /tmp/free/*.emotrack.csv
"""
from __future__ import annotations

import collections
import csv
import sys
from pathlib import Path

QUADRANTS = (("energetic, pleasant", 1, 1), ("energetic, unpleasant", 1, -1),
             ("calm, unpleasant", -1, -1), ("calm, pleasant", -1, 1))


def table(paths: list[Path]) -> str:
    head = ("| piece | minutes | arousal mean (raw, pct) | valence mean (raw, pct) | mean sd a / v | "
            + " | ".join(q for q, _, _ in QUADRANTS) + " | most common word (share) | words |")
    lines = [head, "|---|---:|---|---|---|" + "---:|" * len(QUADRANTS) + "---|---:|"]
    for path in paths:
        rows = [r for r in csv.DictReader(path.open(encoding="utf-8"))
                if r["silent"] == "0" and r["warming_up"] == "0" and r["arousal"] != ""]
        if not rows:
            continue

        def col(name: str) -> list[float]:
            return [float(r[name]) for r in rows if r[name] != ""]

        a, v, ap, vp = col("arousal"), col("valence"), col("arousal_pct"), col("valence_pct")
        sa, sv = col("arousal_sd"), col("valence_sd")
        share = []
        for _, sa_sign, sv_sign in QUADRANTS:
            n = sum(1 for x, y in zip(ap, vp) if (x >= 50) == (sa_sign > 0) and (y >= 50) == (sv_sign > 0))
            share.append(f"{100 * n / len(ap):.0f} %")
        words = collections.Counter(r["mood"] for r in rows)
        word, count = words.most_common(1)[0]
        mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
        sd = f"{mean(sa):.2f} / {mean(sv):.2f}" if sa else "-"
        name = path.name.removesuffix(".emotrack.csv")
        lines.append(f"| {name} | {len(rows) / 120:.1f} | {mean(a):+.3f} (p{mean(ap):.0f}) | "
                     f"{mean(v):+.3f} (p{mean(vp):.0f}) | {sd} | " + " | ".join(share)
                     + f" | {word} ({100 * count / len(rows):.0f} %) | {len(words)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(table([Path(p) for p in sys.argv[1:]]))

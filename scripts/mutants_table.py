#!/usr/bin/env python3
"""Fills the `mutants`, `issue_mutations`, `redblack_mutations`, `adam_mutations`,
`engine_decay_mutations`, `shift_mutations` and `nudge_tolerance_mutations` blocks of docs/TESTING.md from
results/testing/mutants/<run>/ (outcomes.json and mutants.json as cargo-mutants wrote them, and
a NOTE.md saying what the run was), results/testing/issue_mutations.txt and
results/testing/redblack_mutations.txt, adam_mutations.txt, engine_decay_mutations.txt,
shift_mutations.txt and nudge_tolerance_mutations.txt."""
import json, re
from collections import Counter, defaultdict
from pathlib import Path

root = Path(__file__).resolve().parent.parent
kind = {"CaughtMutant": "caught", "MissedMutant": "missed", "Timeout": "timeout", "Unviable": "unviable"}
cols = ["caught", "missed", "timeout", "unviable", "not run"]


def fn_of(m):
    return f"{m['file']}: {m['function']['function_name']}" if m.get("function") else m["file"]


def run_table(src):
    """Table of one cargo-mutants run (outcomes.json, mutants.json, NOTE.md in `src`)."""
    out = json.loads((src / "outcomes.json").read_text())
    listed = json.loads((src / "mutants.json").read_text())
    per, missed, tested = defaultdict(Counter), [], set()
    for o in out["outcomes"]:
        m = o["scenario"]
        if not isinstance(m, dict):  # the baseline
            continue
        m = m["Mutant"]
        k = kind.get(o["summary"], o["summary"])
        per[fn_of(m)][k] += 1
        tested.add(m["name"])
        if k in ("missed", "timeout"):
            missed.append((k, m["name"]))
    for m in listed:
        if m["name"] not in tested:
            per[fn_of(m)]["not run"] += 1
    lines = ["| function | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    total = Counter()
    for fn in sorted(per):
        total.update(per[fn])
        lines.append(f"| `{fn}` | " + " | ".join(str(per[fn][c]) for c in cols) + " |")
    lines.append("| **all** | " + " | ".join(f"**{total[c]}**" for c in cols) + " |")
    note = (src / "NOTE.md").read_text().strip() if (src / "NOTE.md").exists() else src.name
    text = note + "\n\n" + "\n".join(lines)
    if missed:
        text += "\n\nMissed or timed out:\n\n" + "\n".join(f"- {k}: `{n}`" for k, n in missed)
    return text


runs = sorted(d for d in (root / "results" / "testing" / "mutants").iterdir() if d.is_dir())
text = "\n\n".join(run_table(d) for d in runs)
doc = root / "docs" / "TESTING.md"
s = doc.read_text()
s = re.sub(r"(<!-- generated:mutants -->\n).*?(<!-- /generated -->)", lambda m: m[1] + text + "\n" + m[2], s, flags=re.S)
for block in ["issue_mutations", "redblack_mutations", "adam_mutations", "engine_decay_mutations", "shift_mutations",
              "nudge_tolerance_mutations"]:  # scripts/issue_mutations.sh
    f = root / "results" / "testing" / f"{block}.txt"
    if f.exists():
        body = "\n".join(f"- {l}" if i else l for i, l in enumerate(f.read_text().strip().splitlines()))
        s = re.sub(rf"(<!-- generated:{block} -->\n).*?(<!-- /generated -->)",
                   lambda m: m[1] + body + "\n" + m[2], s, flags=re.S)
doc.write_text(s)

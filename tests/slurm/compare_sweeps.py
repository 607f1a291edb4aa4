"""Checks that two results folders of the same sweep hold the same results: every point done
in both, the same prune JSON (timings and output paths aside) and byte-identical model files.

Usage: python3 compare_sweeps.py DIR_A DIR_B    (exit 1 naming the first difference)
"""
import json
import pathlib
import sys

# Timings, the output paths and whether a run resumed its checkpoint may differ; nothing else.
VARIES = {"seconds", "wall_seconds", "model", "resumed"}


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in VARIES}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def rows(d):
    return [json.loads(l) for l in (d / "results.jsonl").read_text().splitlines() if l]


def main():
    a, b = map(pathlib.Path, sys.argv[1:3])
    rows_a, rows_b = rows(a), rows(b)
    if [r["id"] for r in rows_a] != [r["id"] for r in rows_b]:
        sys.exit(f"FAIL: {a} and {b} hold different points")
    for ra, rb in zip(rows_a, rows_b):
        if not ra["state"] == rb["state"] == "done":
            sys.exit(f"FAIL: point {ra['id']} ({ra['label']}): {ra['state']} in {a}, "
                     f"{rb['state']} in {b} ({ra['error'] or rb['error']})")
        ja = strip(json.loads((a / ra["result"]).read_text()))
        jb = strip(json.loads((b / rb["result"]).read_text()))
        if ja != jb:
            diff = sorted(k for k in set(ja) | set(jb) if ja.get(k) != jb.get(k))
            sys.exit(f"FAIL: point {ra['id']} ({ra['label']}) differs in {diff}")
        ma = (a / "points" / (ra["id"] + ".hwp")).read_bytes()
        mb = (b / "points" / (rb["id"] + ".hwp")).read_bytes()
        if ma != mb:
            sys.exit(f"FAIL: point {ra['id']} ({ra['label']}): the model files differ")
        print(f"{ra['label']}: same result (test {ra['test_after']}, DSP {ra['dsp_after']}, "
              f"BRAM18 {ra['bram18_after']}), same model file")
    print(f"{len(rows_a)} points identical")


if __name__ == "__main__":
    main()

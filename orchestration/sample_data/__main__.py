"""python -m orchestration.sample_data --out DIR --periods 2026-08 2026-09 --rows 100000 --seed 42
[--layout payer-a=cur2 payer-b=cur_legacy_csv payer-a=focus]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .generate import write_sample_exports


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m orchestration.sample_data", description=__doc__)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--periods", nargs="+", required=True, help="billing periods YYYY-MM")
    ap.add_argument("--rows", type=int, default=100_000, help="line items per period, all payers")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--layout", nargs="*", default=None,
                    help="ROLE=FORMAT pairs; repeat a role for several formats")
    ap.add_argument("--chunk-rows", type=int, default=250_000)
    ap.add_argument("--rows-per-file", type=int, default=2_000_000)
    ap.add_argument("--bucket", default="finops-exports")
    ap.add_argument("--prefix", default="")
    args = ap.parse_args(argv)
    layout = None
    if args.layout:
        layout = {}
        for item in args.layout:
            role, _, fmt = item.partition("=")
            layout.setdefault(role, []).append(fmt)
    summary = write_sample_exports(args.out, periods=args.periods, rows_per_period=args.rows, seed=args.seed,
                                   layout=layout, chunk_rows=args.chunk_rows, rows_per_file=args.rows_per_file,
                                   bucket=args.bucket, prefix=args.prefix)
    json.dump(summary.to_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

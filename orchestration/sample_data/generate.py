"""``write_sample_exports``: the public entry point of the sample data generator."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from . import kubernetes
from . import organisation as org
from .line_items import PeriodGenerator, PeriodPlan, Totals, build_pool
from .writers import FORMATS, WRITERS

DEFAULT_LAYOUT: dict[str, str] = {"payer-a": "cur2", "payer-b": "cur_legacy_csv"}
# Share of ``rows_per_period`` generated for each payer (normalised over the payers in the layout).
PAYER_ROW_SHARE = {"payer-a": 0.6, "payer-b": 0.4}


@dataclass
class PeriodSummary:
    payer_role: str
    payer_account_id: str
    period: str
    line_item_count: int
    billed_cost: float  # sum of line_item_unblended_cost
    amortized_cost: float  # sum of the effective cost (domain.md formula)
    list_cost: float  # sum of pricing_public_on_demand_cost, SavingsPlanNegation rows excluded
    untagged_billed_cost: float  # billed cost of rows without a team tag in any spelling
    line_item_types: dict[str, int] = field(default_factory=dict)
    exports: dict[str, dict] = field(default_factory=dict)  # format -> export_dir, data_files, manifest

    @property
    def untagged_share(self) -> float:
        return self.untagged_billed_cost / self.billed_cost if self.billed_cost else 0.0

    def rounded(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 2)
                for k in ("billed_cost", "amortized_cost", "list_cost", "untagged_billed_cost")}


@dataclass
class SampleSummary:
    periods: list[PeriodSummary]
    out_dir: str
    seed: int

    def get(self, payer: str, period: str) -> PeriodSummary:
        """By payer account id or role."""
        for p in self.periods:
            if p.period == period and payer in (p.payer_account_id, p.payer_role):
                return p
        raise KeyError((payer, period))

    @property
    def totals(self) -> dict[str, float]:
        t = {"line_item_count": 0, "billed_cost": 0.0, "amortized_cost": 0.0, "list_cost": 0.0,
             "untagged_billed_cost": 0.0}
        for p in self.periods:
            for k in t:
                t[k] += getattr(p, k)
        return t

    def to_dict(self) -> dict:
        totals = self.totals
        return {
            "out_dir": self.out_dir,
            "seed": self.seed,
            "periods": [dict(asdict(p), rounded=p.rounded(), untagged_share=round(p.untagged_share, 4))
                        for p in self.periods],
            "totals": dict(totals, rounded={k: round(v, 2) for k, v in totals.items() if k != "line_item_count"},
                           untagged_share=round(totals["untagged_billed_cost"] / totals["billed_cost"], 4)
                           if totals["billed_cost"] else 0.0),
        }


def _normalise_layout(layout: dict[str, str | list[str]] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for role, fmts in (layout or DEFAULT_LAYOUT).items():
        if role not in org.PAYERS:
            raise ValueError(f"unknown payer {role!r}; expected one of {sorted(org.PAYERS)}")
        fmts = [fmts] if isinstance(fmts, str) else list(fmts)
        for f in fmts:
            if f not in FORMATS:
                raise ValueError(f"unknown format {f!r}; expected one of {FORMATS}")
        out[role] = list(dict.fromkeys(fmts))
    return out


def write_sample_exports(
    out_dir: Path,
    *,
    periods: list[str],
    rows_per_period: int,
    seed: int = 42,
    layout: dict[str, str | list[str]] | None = None,
    chunk_rows: int = 250_000,  # 2 threads x 250k rows keeps 10M rows under ~1.3 GB RSS
    rows_per_file: int = 2_000_000,
    bucket: str = "finops-exports",
    prefix: str = "",
    workers: int = 2,
) -> SampleSummary:
    """Write deterministic AWS billing exports of the sample organisation under ``out_dir``.

    ``out_dir`` stands for ``s3://<bucket>/<prefix>``: manifests reference data files by
    that URI.  Payers run in parallel threads (``workers``); the output does not depend on it.
    """
    out_dir = Path(out_dir)
    lay = _normalise_layout(layout)
    periods = sorted(dict.fromkeys(periods))
    for p in periods:
        if len(p) != 7 or p[4] != "-" or not 1 <= int(p[5:]) <= 12:
            raise ValueError(f"period must be YYYY-MM, got {p!r}")
    share_total = sum(PAYER_ROW_SHARE[r] for r in lay)

    def run_payer(role: str) -> list[PeriodSummary]:
        n_rows = max(1, round(rows_per_period * PAYER_ROW_SHARE[role] / share_total))
        pool = build_pool(role, seed, max(300, min(12_000, n_rows // 40)))
        out = []
        for period in periods:
            plan = PeriodPlan(role, period, seed, n_rows, chunk_rows, periods[0])
            gen = PeriodGenerator(plan, pool)
            writers = [WRITERS[f](out_dir, gen, seed=seed, bucket=bucket, prefix=prefix,
                                  rows_per_file=rows_per_file) for f in lay[role]]
            totals = Totals()
            for piece in chain(gen.pieces(), kubernetes.pieces(gen)):  # + the EKS clusters' split cost data
                totals.add(piece)
                for w in writers:
                    w.write(piece)
                del piece
                pa.default_memory_pool().release_unused()
            exports = {w.fmt: w.close() for w in writers}
            out.append(PeriodSummary(
                payer_role=role, payer_account_id=plan.payer.account_id, period=period,
                line_item_count=totals.rows, billed_cost=totals.billed, amortized_cost=totals.amortized,
                list_cost=totals.list_cost, untagged_billed_cost=totals.untagged,
                line_item_types=dict(sorted(totals.by_type.items())), exports=exports))
        return out

    roles = list(lay)
    if workers > 1 and len(roles) > 1:
        with ThreadPoolExecutor(max_workers=workers) as ex:
            results = list(ex.map(run_payer, roles))
    else:
        results = [run_payer(r) for r in roles]
    summaries = [s for r in results for s in r]
    summaries.sort(key=lambda s: (s.period, s.payer_account_id))
    return SampleSummary(periods=summaries, out_dir=str(out_dir), seed=seed)

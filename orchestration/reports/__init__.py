"""The monthly cost review pack (``finops report``, Dagster asset ``monthly_review_pack``).

``queries`` reads the published marts, ``charts`` draws inline SVG, ``review_pack`` puts
them into one self-contained HTML file (template in ``templates/``).
"""

from __future__ import annotations

from orchestration.reports.review_pack import (ReportError, ReviewPack, latest_report, report_path,
                                               write_review_pack)

__all__ = ["ReportError", "ReviewPack", "build_review_pack_asset", "latest_report", "report_path",
           "write_review_pack"]


def build_review_pack_asset(*, group_name: str = "publish"):
    """The Dagster asset ``monthly_review_pack``: the pack for the last closed billing period.

    Downstream of ``published_warehouse`` (it reads the published file), so it runs after
    every publish — including the one the monthly close triggers.
    """
    from pathlib import Path

    import dagster as dg

    @dg.asset(key=dg.AssetKey(["monthly_review_pack"]), group_name=group_name, compute_kind="html",
              deps=[dg.AssetKey(["published_warehouse"])], required_resource_keys={"finops"},
              description="The monthly cost review pack: $FINOPS_DATA_DIR/reports/finops-review-YYYY-MM.html for "
                          "the last closed billing period, read from the published warehouse (offline HTML, "
                          "inline SVG charts).")
    def monthly_review_pack(context):  # dagster imported lazily: no annotations (string-typed here)
        pack = write_review_pack(Path(context.resources.finops.data_dir))
        if pack.unavailable:
            context.log.warning(f"review pack {pack.period}: sections not available yet: {', '.join(pack.unavailable)}")
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(pack.path)), "billing_period": pack.period,
            "other_currencies": ", ".join(str(p) for p in pack.others) or "none",
            "sections": len(pack.sections), "not_available": ", ".join(pack.unavailable) or "none"})

    return monthly_review_pack

"""Chunked, deterministic generation of CUR 2.0-shaped line items.

One billing period of one payer is generated as a stream of :class:`Piece`
objects: ``ceil(n / chunk_rows)`` usage chunks (hourly usage lines sampled from a
resource pool, with Reserved Instance and Savings Plan coverage and the
matching ``SavingsPlanNegation`` lines), then one piece with the period's fee
lines (Savings Plan recurring and upfront fees, RI fees and the RI upfront
``Fee``, AWS Support, Tax, Credit, Refund), which need the period's totals.

Every random draw comes from ``numpy.random.Generator(PCG64(...))`` seeded from
(seed, payer, period, chunk), so a period's data only depends on the arguments.
String columns are Arrow dictionary arrays (cheap to build and to write).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterator

import numpy as np
import pyarrow as pa

from orchestration.landing_schema import CUR_COLUMNS

from . import organisation as org

MS_HOUR = 3_600_000
TS = pa.timestamp("ms", tz="UTC")
DICT_STR = pa.dictionary(pa.int32(), pa.string())
MAP_SS = pa.map_(pa.string(), pa.string())
MAP_SD = pa.map_(pa.string(), pa.float64())

ARROW_TYPES = {
    "VARCHAR": DICT_STR,
    "DOUBLE": pa.float64(),
    "TIMESTAMP": TS,
    "MAP(VARCHAR, VARCHAR)": MAP_SS,
    "MAP(VARCHAR, DOUBLE)": MAP_SD,
}
CUR_SCHEMA = pa.schema([(name, ARROW_TYPES[t]) for name, t in CUR_COLUMNS])
CUR_NAMES = [name for name, _ in CUR_COLUMNS]
CUR_TYPES = dict(CUR_COLUMNS)

# Line item types.
USAGE, DISCOUNTED, SP_COVERED, SP_NEGATION = "Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation"
SP_RECURRING, SP_UPFRONT, RIFEE, FEE = "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee", "RIFee", "Fee"
TAX, CREDIT, REFUND = "Tax", "Credit", "Refund"
TYPES = (USAGE, DISCOUNTED, SP_COVERED, SP_NEGATION, SP_RECURRING, SP_UPFRONT, RIFEE, FEE, TAX, CREDIT, REFUND)
T = {t: i for i, t in enumerate(TYPES)}

# Target share of usage cost on resources without a team tag (tuned so that, with the
# fee lines, about 25% of billed cost has no team tag).
UNTAGGED_USAGE_SHARE = 0.23
HOURLY_BUCKET_MIN_ROWS = 100_000
# Savings Plans and Reserved Instances are tagged by the FinOps owner; the tags appear on
# their fee lines (SavingsPlanRecurringFee/UpfrontFee, RIFee, the RI upfront Fee).
COMMITMENT_TAGS = {"user_Team": "platform", "user_CostCenter": "CC-3002", "user_environment": "shared"}  # below this a payer-period's SP fee lines are daily
# The sample story's cost anomaly: in the third generated billing period (two months of
# history before it, so a baseline exists), the search team's EC2 instance hours run x8 for
# one UTC day (a runaway re-indexing fleet). fct_cost_anomalies_daily must flag it.
SPIKE_TEAM, SPIKE_PRODUCT_CODE, SPIKE_DAY, SPIKE_FACTOR, SPIKE_PERIOD_OFFSET = "search", "AmazonEC2", 21, 8.0, 2


def stable_uuid(*parts: object) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:16], version=4))


def _hex(h: str, n: int) -> str:
    return hashlib.sha256(h.encode()).hexdigest()[:n]


def _alnum(h: str, n: int) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    d = hashlib.sha256(h.encode()).digest()
    return "".join(alphabet[b % 32] for b in d[:n])


def iso_ms(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def period_bounds(period: str) -> tuple[datetime, datetime, int]:
    year, month = int(period[:4]), int(period[5:7])
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    days = calendar.monthrange(year, month)[1]
    return start, start + timedelta(days=days), days * 24


def dict_array(codes: np.ndarray, dictionary: pa.Array | list, mask: np.ndarray | None = None) -> pa.DictionaryArray:
    """A dictionary array with a duplicate-free dictionary (duplicates make parquet output non-deterministic)."""
    values = dictionary if isinstance(dictionary, list) else dictionary.to_pylist()
    uniq: dict = {}
    remap = np.array([uniq.setdefault(v, len(uniq)) for v in values], dtype=np.int32)
    codes = np.asarray(codes).astype(np.int32, copy=False)
    if len(uniq) < len(values):
        codes = remap[codes]
        dictionary = pa.array(list(uniq), pa.string())
    elif isinstance(dictionary, list):
        dictionary = pa.array(dictionary, pa.string())
    return pa.DictionaryArray.from_arrays(codes, dictionary, mask=mask)


class Cat:
    """A per-resource categorical attribute: a small dictionary and a code per resource."""

    def __init__(self, values: list[str]):
        uniq: dict[str, int] = {}
        codes = np.empty(len(values), dtype=np.int32)
        for i, v in enumerate(values):
            codes[i] = uniq.setdefault(v, len(uniq))
        self.values = list(uniq)
        self.codes = codes

    def extended(self, extra: list[str]) -> tuple[pa.Array, int]:
        """The dictionary with extra values appended, and the offset of the first extra."""
        return pa.array(self.values + extra, type=pa.string()), len(self.values)


def _map_array(entries: list[list[tuple[str, str]]], item_type=pa.string()) -> pa.MapArray:
    offsets = np.zeros(len(entries) + 1, dtype=np.int32)
    keys: list[str] = []
    items: list = []
    for i, e in enumerate(entries):
        offsets[i + 1] = offsets[i] + len(e)
        keys.extend(k for k, _ in e)
        items.extend(v for _, v in e)
    return pa.MapArray.from_arrays(pa.array(offsets), pa.array(keys, pa.string()), pa.array(items, item_type))


def _empty_maps(n: int, item_type=pa.string()) -> pa.MapArray:
    return pa.MapArray.from_arrays(
        pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()), pa.array([], item_type)
    )


# ------------------------------------------------------------------------ resource pool


@dataclass
class ResourcePool:
    """The resources of one payer: where usage lines come from, with their tags."""

    payer: org.Payer
    accounts: list[org.Account]
    spec_i: np.ndarray
    acct_i: np.ndarray
    region: list[str]
    rate: np.ndarray  # on-demand rate per unit (region adjusted)
    amount: np.ndarray  # mean usage amount per line
    pop_cum: np.ndarray  # cumulative row popularity
    team_tagged: np.ndarray  # bool
    tags: list[dict[str, str]]  # CUR 2.0 resource_tags (keys with user_ prefix), before renames
    sp_eligible: np.ndarray  # bool: Compute SP eligible
    family: list[str]
    ri_i: np.ndarray  # index into the payer's reservations, -1 none
    cats: dict[str, Cat] = field(default_factory=dict)
    product_maps: pa.MapArray | None = None
    cost_category_maps: pa.MapArray | None = None
    account_tag_maps: pa.MapArray | None = None
    service_category: Cat | None = None
    service_name: Cat | None = None
    region_name: Cat | None = None

    @property
    def size(self) -> int:
        return len(self.spec_i)


def _weighted(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cum, rng.random(n) * cum[-1], side="right").clip(0, len(weights) - 1)


def build_pool(role: str, seed: int, n_resources: int) -> ResourcePool:
    payer = org.PAYERS[role]
    accounts = [a for a in org.ACCOUNTS if a.payer == role]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, list(org.PAYERS).index(role), 7])))
    specs = org.SPECS
    spec_w = np.array([s.rows for s in specs])
    spec_i = _weighted(rng, spec_w, n_resources)
    acct_w = np.array([a.weight for a in accounts])
    acct_i = _weighted(rng, acct_w, n_resources)
    shared_net = next(i for i, a in enumerate(accounts) if a.shared and a.environment == "shared")
    teams_in = {a.team for a in accounts}
    fallback = next(i for i, s in enumerate(specs) if s.instance_type == "m5.xlarge")
    regions = [r for r, _ in org.PAYER_REGIONS[role]]
    region_i = _weighted(rng, np.array([w for _, w in org.PAYER_REGIONS[role]]), n_resources)
    u_net = rng.random(n_resources)
    u_tag = rng.random(n_resources)
    u_misc = rng.random((n_resources, 8))
    amount_noise = rng.lognormal(0.0, 0.6, n_resources)
    pop = rng.lognormal(0.0, 0.5, n_resources)
    reservations = [r for r in org.RESERVATIONS if r.payer == role]

    region: list[str] = []
    resource_id, az, usage_type, location = [], [], [], []
    rate = np.empty(n_resources)
    amount = np.empty(n_resources)
    tags: list[dict[str, str]] = []
    team_tagged = np.zeros(n_resources, dtype=bool)
    ri_i = np.full(n_resources, -1, dtype=np.int32)
    family: list[str] = []
    for i in range(n_resources):
        s = specs[spec_i[i]]
        if s.only_teams and not (set(s.only_teams) & teams_in):
            spec_i[i] = fallback
            s = specs[fallback]
        if s.only_teams:
            choices = [j for j, a in enumerate(accounts) if a.team in s.only_teams]
            acct_i[i] = choices[int(u_misc[i, 0] * len(choices))]
        elif s.network and u_net[i] < 0.6:
            acct_i[i] = shared_net
        a = accounts[acct_i[i]]
        team = org.TEAMS[org.TEAM_INDEX[a.team]]
        reg = "" if s.global_service else regions[region_i[i]]
        region.append(reg)
        prefix, loc, mult = org.REGIONS[reg] if reg else ("", "Global", 1.0)
        location.append(loc)
        usage_type.append(prefix + s.usage_type if not s.global_service else s.usage_type)
        rate[i] = round(s.rate * mult, 10)
        amount[i] = s.amount if s.unit == "Hrs" and s.amount == 1.0 else s.amount * amount_noise[i]
        az.append(f"{reg}{'abc'[int(u_misc[i, 1] * 3)]}" if reg and s.resource in ("instance", "volume", "rds", "elasticache") else "")
        key = f"{seed}|{role}|{i}"
        acct, word = a.account_id, ("api", "web", "worker", "etl", "cache", "events", "jobs", "core")[int(u_misc[i, 2] * 8)]
        k = s.resource
        rid = _resource_id(k, key, reg, acct, a, word, i)
        resource_id.append(rid)
        fam = s.instance_type.split(".")[0] if s.product_code == "AmazonEC2" and s.instance_type else ""
        family.append(fam)
        for j, r in enumerate(reservations):
            if r.product_code == s.product_code and r.instance_type == s.instance_type and r.region == reg:
                ri_i[i] = j
        # tags
        team_tagged[i] = u_tag[i] < a.tag_rate and k != "none"
        tags.append({})

    # Calibrate the untagged share of expected usage cost.
    # Expected billed cost: covered usage nets to zero with its SavingsPlanNegation line.
    covered = np.array([specs[j].sp == "compute" for j in spec_i]) | (ri_i >= 0)
    exp_cost = pop * rate * amount * np.where(covered, 0.35, 1.0)
    exp_cost = exp_cost / exp_cost.sum()
    order = rng.permutation(n_resources)
    share = exp_cost[~team_tagged].sum()
    if share < UNTAGGED_USAGE_SHARE:
        cand = order[team_tagged[order]]
        cum = np.cumsum(exp_cost[cand])
        n_flip = int(np.searchsorted(cum, UNTAGGED_USAGE_SHARE - share)) + 1
        team_tagged[cand[:n_flip]] = False
    else:
        ok = np.array([not (accounts[acct_i[j]].shared or accounts[acct_i[j]].environment == "sandbox")
                       and specs[spec_i[j]].resource != "none" for j in range(n_resources)])
        cand = order[(~team_tagged[order]) & ok[order]]
        cum = np.cumsum(exp_cost[cand])
        n_flip = int(np.searchsorted(cum, share - UNTAGGED_USAGE_SHARE))
        team_tagged[cand[:n_flip]] = True

    for i in range(n_resources):
        a = accounts[acct_i[i]]
        team = org.TEAMS[org.TEAM_INDEX[a.team]]
        u = u_misc[i]
        t: dict[str, str] = {}
        if team_tagged[i]:
            key = _pick(org.TEAM_KEYS, u[3])
            spell = org.team_value_spellings(team.name)
            t[key] = spell[0] if u[4] < 0.8 else spell[1] if u[4] < 0.9 else spell[2]
        if specs[spec_i[i]].resource != "none":
            if (team_tagged[i] and u[5] < 0.8) or (not team_tagged[i] and u[5] < 0.1):
                t[_pick(org.COST_CENTER_KEYS, u[6])] = team.cost_center
            if u[7] < 0.85 or team_tagged[i]:
                env = org.ENV_SPELLINGS[a.environment]
                t[_pick(org.ENVIRONMENT_KEYS, u[6])] = env[0] if u[7] < 0.7 else env[int(u[7] * 10) % 3]
            if team_tagged[i] and u[5] < 0.6:
                t[org.PRODUCT_KEY] = team.product
            if team_tagged[i] and u[4] < 0.5:
                t[org.OWNER_KEY] = team.owner
        tags[i] = t

    pool = ResourcePool(
        payer=payer, accounts=accounts, spec_i=spec_i, acct_i=acct_i, region=region, rate=rate, amount=amount,
        pop_cum=np.cumsum(pop), team_tagged=team_tagged, tags=tags,
        sp_eligible=np.array([specs[j].sp == "compute" for j in spec_i]), family=family, ri_i=ri_i,
    )
    S = [specs[j] for j in spec_i]
    A = [accounts[j] for j in acct_i]
    sku = [_alnum(f"sku|{s.usage_type}|{r}", 16) for s, r in zip(S, region)]
    c = pool.cats
    c["line_item_resource_id"] = Cat(resource_id)
    c["line_item_availability_zone"] = Cat(az)
    c["line_item_usage_type"] = Cat(usage_type)
    c["product_usagetype"] = c["line_item_usage_type"]
    c["line_item_operation"] = Cat([s.operation for s in S])
    c["product_operation"] = c["line_item_operation"]
    c["line_item_product_code"] = Cat([s.product_code for s in S])
    c["product_servicecode"] = Cat([s.servicecode for s in S])
    c["product_product_family"] = Cat([s.product_family for s in S])
    c["product_instance_type"] = Cat([s.instance_type for s in S])
    c["product_instance_family"] = Cat([
        {"m5": "General purpose", "m6g": "General purpose", "t3": "General purpose", "c5": "Compute optimized",
         "c6i": "Compute optimized", "r5": "Memory optimized", "g5": "GPU instance"}.get(f, "") for f in family])
    c["product_region_code"] = Cat(region)
    c["product_location"] = Cat(location)
    c["product_location_type"] = Cat(["AWS Region" if r else "" for r in region])
    c["pricing_unit"] = Cat([s.unit for s in S])
    c["product_pricing_unit"] = c["pricing_unit"]
    c["product_sku"] = Cat(sku)
    c["product_instancesku"] = Cat(["" for _ in S])
    c["pricing_rate_code"] = Cat([f"{k}.JRTCKXETXF.6YS6EN2CT7" for k in sku])
    c["pricing_rate_id"] = Cat([str(int(_hex("rid" + k, 8), 16) % 10**10) for k in sku])
    c["line_item_usage_account_id"] = Cat([a.account_id for a in A])
    c["line_item_usage_account_name"] = Cat([a.name for a in A])
    c["line_item_line_item_description"] = Cat([s.description for s in S])
    c["_rate"] = Cat([f"{r:.10f}" for r in rate])
    c["_negdesc"] = Cat([f"SavingsPlanNegation used by AccountId : {a.account_id} and UsageSku : {k}" for a, k in zip(A, sku)])
    pool.service_category = Cat([s.category for s in S])
    pool.service_name = Cat([s.service_name for s in S])
    pool.region_name = Cat([org.REGIONS[r][1] if r else "" for r in region])
    pool.product_maps = _map_array([
        [("product_name", s.service_name), ("region", r)] + ([("vcpu", "4"), ("operating_system", "Linux")] if s.instance_type else [])
        for s, r in zip(S, region)])
    bu = {t.name: t.business_unit for t in org.TEAMS}
    pool.cost_category_maps = _map_array([[("BusinessUnit", bu[a.team]), ("Environment", a.environment)] for a in A])
    pool.account_tag_maps = _map_array([
        [("accountTag/team", a.team), ("accountTag/environment", a.environment),
         ("accountTag/cost-center", org.TEAMS[org.TEAM_INDEX[a.team]].cost_center)] for a in A])
    return pool


def _resource_id(k: str, key: str, reg: str, acct: str, a: org.Account, word: str, i: int) -> str:
    makers = {
        "instance": lambda: f"i-0{_hex(key, 16)}",
        "volume": lambda: f"vol-0{_hex(key, 16)}",
        "natgateway": lambda: f"arn:aws:ec2:{reg}:{acct}:natgateway/nat-0{_hex(key, 16)}",
        "rds": lambda: f"arn:aws:rds:{reg}:{acct}:db:{a.team}-{word}-{i % 7}",
        "bucket": lambda: f"acme-{a.name}-{word}-{_hex(key, 6)}",
        "eks": lambda: f"arn:aws:eks:{reg}:{acct}:cluster/{a.name}-{i % 3}",
        "ecs": lambda: f"arn:aws:ecs:{reg}:{acct}:task/{a.team}-cluster/{_hex(key, 32)}",
        "cloudfront": lambda: f"arn:aws:cloudfront::{acct}:distribution/E{_alnum(key, 13)}",
        "lambda": lambda: f"arn:aws:lambda:{reg}:{acct}:function:{a.team}-{word}-{i % 11}",
        "dynamodb": lambda: f"arn:aws:dynamodb:{reg}:{acct}:table/{a.team}-{word}",
        "elasticache": lambda: f"arn:aws:elasticache:{reg}:{acct}:cluster:{a.team}-redis-00{i % 4}",
        "alb": lambda: f"arn:aws:elasticloadbalancing:{reg}:{acct}:loadbalancer/app/{a.name}-alb/{_hex(key, 16)}",
        "vpce": lambda: f"arn:aws:ec2:{reg}:{acct}:vpc-endpoint/vpce-0{_hex(key, 16)}",
        "eip": lambda: f"arn:aws:ec2:{reg}:{acct}:elastic-ip/eipalloc-0{_hex(key, 16)}",
        "loggroup": lambda: f"arn:aws:logs:{reg}:{acct}:log-group:/aws/{a.team}/{word}",
        "sqs": lambda: f"arn:aws:sqs:{reg}:{acct}:{a.team}-{word}",
        "kms": lambda: f"arn:aws:kms:{reg}:{acct}:key/{stable_uuid(key)}",
        "route53": lambda: f"arn:aws:route53:::hostedzone/Z{_alnum(key, 13)}",
        "secret": lambda: f"arn:aws:secretsmanager:{reg}:{acct}:secret:{a.team}/{word}-{_alnum(key, 6)}",
        "none": lambda: "",
    }
    return makers[k]()


def _pick(choices: tuple[tuple[str, float], ...], u: float) -> str:
    acc = 0.0
    for v, w in choices:
        acc += w
        if u < acc:
            return v
    return choices[-1][0]


def period_tags(tags: dict[str, str], period: str) -> dict[str, str]:
    """A resource's tags as delivered in a period (some key spellings change over time)."""
    if int(period[5:7]) % 2 == 0:
        out: dict[str, str] = {}
        for k, v in tags.items():
            out.setdefault(org.RENAMED_IN_EVEN_MONTHS.get(k, k), v)
        return out
    return tags


def legacy_tag_key(cur2_key: str) -> str:
    """``user_cost-center`` -> ``user:cost-center`` (the legacy CUR tag key)."""
    prefix, _, rest = cur2_key.partition("_")
    return f"{prefix}:{rest}"


# ---------------------------------------------------------------------------- pieces


@dataclass
class Piece:
    """A batch of line items: CUR 2.0 columns plus what the other formats need."""

    n: int
    cols: dict[str, pa.Array]
    effective: np.ndarray  # amortized cost per row (domain.md formula)
    list_cost: np.ndarray  # public on-demand cost, 0 on SavingsPlanNegation rows
    untagged: np.ndarray  # bool: no team tag in any spelling
    type_codes: np.ndarray
    service_name: pa.Array
    service_category: pa.Array
    region_name: pa.Array
    tags_json: pa.Array
    legacy_tags: dict[str, pa.Array]  # CUR 2.0 tag key -> string per row ("" when unset)

    def table(self) -> pa.Table:
        return pa.Table.from_arrays([self.cols[c] for c in CUR_NAMES], schema=CUR_SCHEMA)


@dataclass
class Totals:
    rows: int = 0
    billed: float = 0.0
    amortized: float = 0.0
    list_cost: float = 0.0
    untagged: float = 0.0
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, p: Piece) -> None:
        unbl = p.cols["line_item_unblended_cost"].to_numpy()
        self.rows += p.n
        self.billed += float(unbl.sum())
        self.amortized += float(p.effective.sum())
        self.list_cost += float(p.list_cost.sum())
        self.untagged += float(unbl[p.untagged].sum())
        for code, cnt in zip(*np.unique(p.type_codes, return_counts=True)):
            self.by_type[TYPES[code]] = self.by_type.get(TYPES[code], 0) + int(cnt)


@dataclass
class PeriodPlan:
    role: str
    period: str
    seed: int
    n_rows: int  # target rows for this payer and period
    chunk_rows: int
    first_period: str  # commitments without a start date were bought in this period

    def __post_init__(self) -> None:
        self.payer = org.PAYERS[self.role]
        self.start, self.end, self.hours = period_bounds(self.period)
        self.start_ms = int(self.start.timestamp() * 1000)
        self.bucket_hours = 1 if self.n_rows >= HOURLY_BUCKET_MIN_ROWS else 24
        self.n_buckets = self.hours // self.bucket_hours
        # EC2 Instance Savings Plans apply before Compute Savings Plans.
        self.sps = sorted((s for s in org.SAVINGS_PLANS if s.payer == self.role), key=lambda s: not s.instance_family)
        self.ris = [r for r in org.RESERVATIONS if r.payer == self.role]
        n_accounts = len(org.ACCOUNTS)
        fee_rows = len(self.sps) * self.n_buckets + 2 * len(self.ris) + 2 + n_accounts // 2 + 5
        self.n_base = max(1, int((self.n_rows - fee_rows) / 1.27))
        self.n_chunks = max(1, math.ceil(self.n_base / self.chunk_rows))
        self.period_index = int(self.period[:4]) * 12 + int(self.period[5:7])

    def rng(self, chunk: int) -> np.random.Generator:
        payer_i = list(org.PAYERS).index(self.role)
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, payer_i, self.period_index, chunk])))

    def sp_start(self, sp: org.SavingsPlanSpec) -> str:
        return sp.start or f"{self.first_period}-01T00:00:00.000Z"

    def ri_start(self, ri: org.ReservationSpec) -> str:
        return ri.start or f"{self.first_period}-01T00:00:00.000Z"

    def bought_now(self, start: str) -> bool:
        return start[:7] == self.period


def sp_arn(plan: PeriodPlan, sp: org.SavingsPlanSpec) -> str:
    return f"arn:aws:savingsplans::{plan.payer.account_id}:savingsplan/{stable_uuid('sp', sp.key)}"


def ri_arn(plan: PeriodPlan, ri: org.ReservationSpec) -> str:
    if ri.product_code == "AmazonRDS":
        return f"arn:aws:rds:{ri.region}:{plan.payer.account_id}:ri:{ri.key}-{_hex('ri' + ri.key, 8)}"
    return f"arn:aws:ec2:{ri.region}:{plan.payer.account_id}:reserved-instances/{stable_uuid('ri', ri.key)}"


def _end_time(start: str, hours: int) -> str:
    dt = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.000Z") + timedelta(hours=hours)
    return iso_ms(dt)


TERM_HOURS = {"1yr": 8760, "3yr": 26280}


def hour_weights(plan: PeriodPlan) -> np.ndarray:
    """Diurnal and weekly usage pattern over the hours of the period."""
    h = np.arange(plan.hours)
    hod = h % 24
    dow = (plan.start.weekday() + h // 24) % 7
    w = 1.0 + 0.45 * np.sin(2 * np.pi * (hod - 9) / 24.0)
    w = w * np.where(dow >= 5, 0.75, 1.0)
    return w


class PeriodGenerator:
    """Generates one payer's billing period as a stream of pieces."""

    def __init__(self, plan: PeriodPlan, pool: ResourcePool):
        self.plan = plan
        self.pool = pool
        self.hw_cum = np.cumsum(hour_weights(plan))
        n_pc = len({s.product_code for s in org.SPECS})
        self.product_codes = sorted({s.product_code for s in org.SPECS})
        self.pc_index = {p: i for i, p in enumerate(self.product_codes)}
        self.res_pc = np.array([self.pc_index[org.SPECS[j].product_code] for j in pool.spec_i])
        self.billed_acct_pc = np.zeros((len(pool.accounts), n_pc))
        self.sp_commit = np.zeros(len(plan.sps))  # per bucket
        self.sp_used = np.zeros((len(plan.sps), plan.n_buckets))
        self.ri_used = np.zeros(len(plan.ris))  # instance hours
        self.eligible_od = 0.0
        self.covered_od = 0.0
        first = int(plan.first_period[:4]) * 12 + int(plan.first_period[5:7])
        self.spike_resources = None  # bool per resource of the pool, in the spike period only
        if plan.period_index - first == SPIKE_PERIOD_OFFSET:
            self.spike_resources = np.array([
                pool.accounts[a].team == SPIKE_TEAM and org.SPECS[j].product_code == SPIKE_PRODUCT_CODE
                and bool(org.SPECS[j].instance_type) for a, j in zip(pool.acct_i, pool.spec_i)])
        self._period_strings()

    def _period_strings(self) -> None:
        plan = self.plan
        starts = [plan.start + timedelta(hours=h) for h in range(plan.hours + 1)]
        self.hour_iso = pa.array([iso_ms(s) for s in starts])
        self.interval = pa.array([
            f"{s:%Y-%m-%dT%H:%M:%SZ}/{e:%Y-%m-%dT%H:%M:%SZ}" for s, e in zip(starts[:-1], starts[1:])])
        pool = self.pool
        period_tags_ = [period_tags(t, plan.period) for t in pool.tags]
        self.tag_maps = _map_array([sorted(t.items()) for t in period_tags_])
        self.tags_json = pa.array([
            json.dumps({legacy_tag_key(k): v for k, v in sorted(t.items())}) if t else None for t in period_tags_],
            pa.string())
        keys = sorted({k for t in period_tags_ for k in t} | set(period_tags(COMMITMENT_TAGS, plan.period)))
        self.tag_keys = keys
        self.legacy_tag_cats = {k: Cat([t.get(k, "") for t in period_tags_]) for k in keys}

    # ------------------------------------------------------------------ usage chunks
    def pieces(self) -> Iterator[Piece]:
        plan = self.plan
        base = plan.n_base // plan.n_chunks
        sizes = [base + (1 if i < plan.n_base % plan.n_chunks else 0) for i in range(plan.n_chunks)]
        for i, n in enumerate(sizes):
            yield self._usage_chunk(i, n, plan.n_base / n)
        yield self._fee_piece()

    def _usage_chunk(self, chunk: int, n: int, scale: float) -> Piece:
        plan, pool = self.plan, self.pool
        rng = plan.rng(chunk)
        res = np.searchsorted(pool.pop_cum, rng.random(n) * pool.pop_cum[-1], side="right").clip(0, pool.size - 1)
        hour = np.searchsorted(self.hw_cum, rng.random(n) * self.hw_cum[-1], side="right").clip(0, plan.hours - 1)
        noise = rng.lognormal(0.0, 0.25, n)
        u_ri = rng.random(n)
        line_ids = np.frombuffer(rng.bytes(n * 52), dtype=np.uint8).reshape(n, 52) & 31

        amount = pool.amount[res]
        fixed = amount == 1.0
        amount = np.where(fixed, 1.0, np.round(amount * noise, 8))
        if self.spike_resources is not None:
            amount = np.where(self.spike_resources[res] & (hour // 24 == SPIKE_DAY - 1), amount * SPIKE_FACTOR, amount)
        rate = pool.rate[res]
        od = amount * rate
        types = np.full(n, T[USAGE], dtype=np.int8)
        unblended = od.copy()

        # Reserved Instances first.
        ri = pool.ri_i[res]
        ri_eff = np.zeros(n)
        ri_up = np.zeros(n)
        ri_rec = np.zeros(n)
        ri_code = np.zeros(n, dtype=np.int32)  # 0 none, k+1 reservation k
        for k, spec in enumerate(plan.ris):
            m = (ri == k) & (u_ri < spec.coverage)
            up_h = spec.upfront_per_instance / spec.term_hours
            types[m] = T[DISCOUNTED]
            unblended[m] = 0.0
            ri_up[m] = amount[m] * up_h
            ri_rec[m] = amount[m] * spec.hourly_recurring
            ri_eff[m] = ri_up[m] + ri_rec[m]
            ri_code[m] = k + 1
            self.ri_used[k] += amount[m].sum()

        # Savings Plans: fill each plan's hourly commitment, instance SPs first.
        sp_eff = np.zeros(n)
        sp_rate = np.zeros(n)
        sp_code = np.zeros(n, dtype=np.int32)
        bucket = hour // plan.bucket_hours
        eligible = pool.sp_eligible[res] & (types == T[USAGE])
        self.eligible_od += od[pool.sp_eligible[res] | (ri >= 0)].sum()
        fam = np.array(pool.family, dtype=object)
        reg = np.array(pool.region, dtype=object)
        for k, sp in enumerate(plan.sps):
            elig = eligible & (sp_code == 0)
            if sp.instance_family:
                match_res = (fam == sp.instance_family) & (reg == sp.region)
                elig &= match_res[res]
            eff = od * (1.0 - sp.discount)
            if chunk == 0:
                self.sp_commit[k] = round(sp.commitment_share * eff[elig].sum() * scale / plan.n_buckets, 3)
            take = self._fill(elig, eff, bucket, k)
            sp_code[take] = k + 1
            sp_eff[take] = eff[take]
            sp_rate[take] = rate[take] * (1.0 - sp.discount)
            types[take] = T[SP_COVERED]
        self.covered_od += od[(types == T[SP_COVERED]) | (types == T[DISCOUNTED])].sum()

        # Expand: one SavingsPlanNegation line per covered line.
        cov = np.flatnonzero(types == T[SP_COVERED])
        rows = np.concatenate([np.arange(n), cov])
        N = len(rows)
        neg = np.zeros(N, dtype=bool)
        neg[n:] = True
        types_all = types[rows].copy()
        types_all[neg] = T[SP_NEGATION]
        res_all = res[rows]
        hour_all = hour[rows]
        unbl_all = unblended[rows].copy()
        unbl_all[neg] = -od[cov]
        od_all = od[rows]
        amount_all = amount[rows]
        sp_eff_all = sp_eff[rows].copy()
        sp_eff_all[neg] = 0.0
        sp_code_all = sp_code[rows]
        ri_code_all = ri_code[rows]
        ids_all = np.concatenate([line_ids, (line_ids[cov] + 7) & 31])

        effective = np.where(types_all == T[SP_COVERED], sp_eff_all,
                             np.where(types_all == T[DISCOUNTED], ri_eff[rows],
                                      np.where(neg, 0.0, unbl_all)))
        list_cost = np.where(neg, 0.0, od_all)
        untagged = ~pool.team_tagged[res_all]
        np.add.at(self.billed_acct_pc, (pool.acct_i[res_all], self.res_pc[res_all]), unbl_all)

        cols = self._usage_columns(N, res_all, hour_all, types_all, neg, unbl_all, od_all, amount_all,
                                   sp_eff_all, sp_rate[rows], sp_code_all, ri_code_all, ri_eff[rows],
                                   ri_up[rows], ri_rec[rows], ids_all)
        p = pool
        return Piece(
            n=N, cols=cols, effective=effective, list_cost=list_cost, untagged=untagged, type_codes=types_all,
            service_name=dict_array(p.service_name.codes[res_all], pa.array(p.service_name.values)),
            service_category=dict_array(p.service_category.codes[res_all], pa.array(p.service_category.values)),
            region_name=dict_array(p.region_name.codes[res_all], pa.array(p.region_name.values)),
            tags_json=self.tags_json.take(pa.array(res_all, pa.int32())),
            legacy_tags={k: dict_array(c.codes[res_all], pa.array(c.values)) for k, c in self.legacy_tag_cats.items()},
        )

    def _fill(self, elig: np.ndarray, eff: np.ndarray, bucket: np.ndarray, k: int) -> np.ndarray:
        """Greedy fill of the per-bucket commitment (two passes), returns covered row mask."""
        taken = np.zeros(len(eff), dtype=bool)
        remaining = self.sp_commit[k] - self.sp_used[k]
        for _ in range(2):
            idx = np.flatnonzero(elig & ~taken)
            if len(idx) == 0:
                break
            order = idx[np.argsort(bucket[idx], kind="stable")]
            b = bucket[order]
            e = eff[order]
            cs = np.cumsum(e)
            first = np.r_[0, np.flatnonzero(b[1:] != b[:-1]) + 1]
            group_start = np.repeat(cs[first] - e[first], np.diff(np.r_[first, len(b)]))
            ok = (cs - group_start) <= remaining[b] + 1e-12
            sel = order[ok]
            taken[sel] = True
            used = np.bincount(bucket[sel], weights=eff[sel], minlength=len(remaining))
            remaining = remaining - used
            self.sp_used[k] += used
        return taken

    def _usage_columns(self, N, res, hour, types, neg, unbl, od, amount, sp_eff, sp_rate, sp_code, ri_code,
                       ri_eff, ri_up, ri_rec, line_ids) -> dict[str, pa.Array]:
        plan, pool = self.plan, self.pool
        zeros_i = np.zeros(N, dtype=np.int32)
        zero_d = pa.array(np.zeros(N))
        cols: dict[str, pa.Array] = {}

        def const(v: str) -> pa.Array:
            return dict_array(zeros_i, pa.array([v]))

        for name, t in CUR_COLUMNS:
            if t == "VARCHAR":
                cols[name] = const("")
            elif t == "DOUBLE":
                cols[name] = zero_d
        for name, cat in pool.cats.items():
            if not name.startswith("_"):
                cols[name] = dict_array(cat.codes[res], pa.array(cat.values))
        ids = line_ids.reshape(-1)
        alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
        data = alphabet[ids].tobytes()
        cols["identity_line_item_id"] = pa.StringArray.from_buffers(
            N, pa.py_buffer(np.arange(0, (N + 1) * 52, 52, dtype=np.int32)), pa.py_buffer(data))
        cols["identity_time_interval"] = dict_array(hour.astype(np.int32), self.interval)
        self._bill_columns(cols, N, zeros_i)
        start = plan.start_ms + hour.astype(np.int64) * MS_HOUR
        cols["line_item_usage_start_date"] = pa.array(start, TS)
        cols["line_item_usage_end_date"] = pa.array(start + MS_HOUR, TS)
        cols["line_item_line_item_type"] = dict_array(types.astype(np.int32), pa.array(TYPES))
        cols["line_item_usage_amount"] = pa.array(amount)
        cols["line_item_unblended_cost"] = pa.array(unbl)
        cols["line_item_blended_cost"] = cols["line_item_unblended_cost"]
        cols["line_item_net_unblended_cost"] = cols["line_item_unblended_cost"]
        cols["pricing_public_on_demand_cost"] = pa.array(od)
        rate_cat = pool.cats["_rate"]
        rdict, off = rate_cat.extended(["0.0"] + ["-" + v for v in rate_cat.values])
        rcodes = rate_cat.codes[res].copy()
        rcodes[types == T[DISCOUNTED]] = off
        rcodes[neg] += off + 1
        for c in ("line_item_unblended_rate", "line_item_blended_rate", "line_item_net_unblended_rate"):
            cols[c] = dict_array(rcodes, rdict)
        cols["pricing_public_on_demand_rate"] = dict_array(rate_cat.codes[res], pa.array(rate_cat.values))
        desc = pool.cats["line_item_line_item_description"]
        ddict, doff = desc.extended(pool.cats["_negdesc"].values)
        dcodes = desc.codes[res].copy()
        dcodes[neg] = pool.cats["_negdesc"].codes[res[neg]] + doff
        cols["line_item_line_item_description"] = dict_array(dcodes, ddict)
        is_ri = types == T[DISCOUNTED]
        cols["pricing_term"] = dict_array(is_ri.astype(np.int32), pa.array(["OnDemand", "Reserved"]))
        cols["pricing_currency"] = const("USD")
        cols["line_item_currency_code"] = const("USD")
        cols["line_item_normalization_factor"] = zero_d
        cols["product"] = pool.product_maps.take(pa.array(res, pa.int32()))
        cols["cost_category"] = pool.cost_category_maps.take(pa.array(res, pa.int32()))
        cols["tags"] = pool.account_tag_maps.take(pa.array(res, pa.int32()))
        cols["resource_tags"] = self.tag_maps.take(pa.array(res, pa.int32()))
        cols["discount"] = _empty_maps(N, pa.float64())
        # Savings Plan columns on covered and negation lines.
        sps = plan.sps
        cols["savings_plan_savings_plan_a_r_n"] = dict_array(sp_code, pa.array([""] + [sp_arn(plan, s) for s in sps]))
        cols["savings_plan_savings_plan_effective_cost"] = pa.array(sp_eff)
        cols["savings_plan_net_savings_plan_effective_cost"] = cols["savings_plan_savings_plan_effective_cost"]
        cols["savings_plan_savings_plan_rate"] = pa.array(np.where(neg, 0.0, sp_rate))
        cols["savings_plan_start_time"] = dict_array(sp_code, pa.array([""] + [plan.sp_start(s) for s in sps]))
        cols["savings_plan_end_time"] = dict_array(
            sp_code, pa.array([""] + [_end_time(plan.sp_start(s), TERM_HOURS[s.term]) for s in sps]))
        cols["savings_plan_offering_type"] = dict_array(sp_code, pa.array([""] + [s.offering_type for s in sps]))
        cols["savings_plan_payment_option"] = dict_array(sp_code, pa.array([""] + [s.payment_option for s in sps]))
        cols["savings_plan_purchase_term"] = dict_array(sp_code, pa.array([""] + [s.term for s in sps]))
        cols["savings_plan_region"] = dict_array(sp_code, pa.array([""] + [org.REGIONS[s.region][1] if s.region else "" for s in sps]))
        cols["savings_plan_instance_type_family"] = dict_array(sp_code, pa.array([""] + [s.instance_family for s in sps]))
        # Reservation columns on DiscountedUsage lines.
        ris = plan.ris
        cols["reservation_reservation_a_r_n"] = dict_array(ri_code, pa.array([""] + [ri_arn(plan, r) for r in ris]))
        cols["reservation_effective_cost"] = pa.array(ri_eff)
        cols["reservation_net_effective_cost"] = cols["reservation_effective_cost"]
        cols["reservation_amortized_upfront_cost_for_usage"] = pa.array(ri_up)
        cols["reservation_net_amortized_upfront_cost_for_usage"] = cols["reservation_amortized_upfront_cost_for_usage"]
        cols["reservation_recurring_fee_for_usage"] = pa.array(ri_rec)
        cols["reservation_net_recurring_fee_for_usage"] = cols["reservation_recurring_fee_for_usage"]
        cols["reservation_start_time"] = dict_array(ri_code, pa.array([""] + [plan.ri_start(r) for r in ris]))
        cols["reservation_end_time"] = dict_array(
            ri_code, pa.array([""] + [_end_time(plan.ri_start(r), r.term_hours) for r in ris]))
        cols["reservation_modification_status"] = dict_array(ri_code, pa.array([""] + ["Original"] * len(ris)))
        cols["reservation_subscription_id"] = dict_array(
            ri_code, pa.array([""] + [str(int(_hex("sub" + r.key, 8), 16)) for r in ris]))
        cols["pricing_lease_contract_length"] = dict_array(
            ri_code, pa.array([""] + [f"{r.term_hours // 8760}yr" for r in ris]))
        cols["pricing_offering_class"] = dict_array(ri_code, pa.array([""] + ["standard"] * len(ris)))
        cols["pricing_purchase_option"] = dict_array(
            ri_code, pa.array([""] + ["All Upfront" if r.hourly_recurring == 0 else "Partial Upfront" for r in ris]))
        return cols

    def _bill_columns(self, cols: dict[str, pa.Array], N: int, zeros_i: np.ndarray) -> None:
        plan = self.plan
        payer = plan.payer

        def const(v: str) -> pa.Array:
            return dict_array(zeros_i, pa.array([v]))

        cols["bill_bill_type"] = const("Anniversary")
        cols["bill_billing_entity"] = const("AWS")
        cols["bill_invoice_id"] = const(str(int(_hex(f"inv|{payer.account_id}|{plan.period}", 10), 16) % 10**10))
        cols["bill_invoicing_entity"] = const(payer.invoicing_entity)
        cols["line_item_legal_entity"] = const(payer.invoicing_entity)
        cols["bill_payer_account_id"] = const(payer.account_id)
        cols["bill_payer_account_name"] = const(payer.name)
        cols["bill_billing_period_start_date"] = pa.array(np.full(N, plan.start_ms, dtype=np.int64), TS)
        cols["bill_billing_period_end_date"] = pa.array(
            np.full(N, int(plan.end.timestamp() * 1000), dtype=np.int64), TS)

    # -------------------------------------------------------------------- fee lines
    def _fee_piece(self) -> Piece:
        plan, pool = self.plan, self.pool
        payer = plan.payer
        rows: list[dict] = []
        pstart, pend = iso_ms(plan.start), iso_ms(plan.end)
        payer_acct = (payer.account_id, payer.name)

        def row(t: str, acct: tuple[str, str], start: datetime, end: datetime, unbl: float, **kw) -> dict:
            r = {"_tags": {},"line_item_line_item_type": t, "line_item_usage_account_id": acct[0],
                 "line_item_usage_account_name": acct[1], "_start": start, "_end": end,
                 "line_item_unblended_cost": unbl, "_effective": unbl, "_list": 0.0}
            r.update(kw)
            return r

        # Savings Plans: one recurring fee line per plan and bucket; upfront fee in the purchase month.
        for k, sp in enumerate(plan.sps):
            arn = sp_arn(plan, sp)
            start = plan.sp_start(sp)
            common = dict(savings_plan_savings_plan_a_r_n=arn, savings_plan_start_time=start,
                          savings_plan_end_time=_end_time(start, TERM_HOURS[sp.term]),
                          savings_plan_offering_type=sp.offering_type, savings_plan_payment_option=sp.payment_option,
                          savings_plan_purchase_term=sp.term,
                          savings_plan_region=org.REGIONS[sp.region][1] if sp.region else "",
                          savings_plan_instance_type_family=sp.instance_family,
                          line_item_product_code="ComputeSavingsPlans", product_servicecode="ComputeSavingsPlans",
                          _service="Savings Plans for AWS Compute usage", _category="Compute", _tags=COMMITMENT_TAGS)
            ut = f"ComputeSP:{sp.term}{sp.payment_option.replace(' ', '')}"
            c = float(self.sp_commit[k])
            for b in range(plan.n_buckets):
                s = plan.start + timedelta(hours=b * plan.bucket_hours)
                used = float(self.sp_used[k, b])
                recurring = c * (1 - sp.upfront_share)
                rows.append(row(
                    SP_RECURRING, payer_acct, s, s + timedelta(hours=plan.bucket_hours), recurring,
                    _effective=c - used, line_item_usage_type=ut, line_item_operation="",
                    line_item_usage_amount=float(plan.bucket_hours),
                    line_item_line_item_description=f"{sp.term} {sp.payment_option} {sp.offering_type} "
                    f"{c / plan.bucket_hours:.3f}/hour commitment",
                    savings_plan_total_commitment_to_date=c, savings_plan_used_commitment=used,
                    savings_plan_recurring_commitment_for_billing_period=recurring,
                    savings_plan_net_recurring_commitment_for_billing_period=recurring,
                    savings_plan_amortized_upfront_commitment_for_billing_period=c * sp.upfront_share,
                    savings_plan_net_amortized_upfront_commitment_for_billing_period=c * sp.upfront_share,
                    **common))
            if sp.upfront_share > 0 and plan.bought_now(start):
                upfront = round(c / plan.bucket_hours * sp.upfront_share * TERM_HOURS[sp.term], 2)
                rows.append(row(SP_UPFRONT, payer_acct, plan.start, plan.start + timedelta(hours=1), upfront,
                                _effective=0.0, line_item_usage_type=ut, line_item_usage_amount=1.0,
                                line_item_line_item_description=f"Savings Plan upfront fee for {arn}", **common))

        # Reserved Instances: the monthly RIFee line, and the upfront Fee in the purchase month.
        for k, ri in enumerate(plan.ris):
            arn = ri_arn(plan, ri)
            start = plan.ri_start(ri)
            used = float(self.ri_used[k])
            n_ri = max(1, round(used / ri.utilization / plan.hours))  # reported count
            n_eff = max(used / ri.utilization, 1.0) / plan.hours  # instances paid for (fractional in tiny samples)
            reserved = max(used / ri.utilization, 1.0)
            unused = reserved - used
            up_h = ri.upfront_per_instance / ri.term_hours
            prefix = org.REGIONS[ri.region][0]
            ut = f"{prefix}HeavyUsage:{ri.instance_type}"
            common = dict(
                reservation_reservation_a_r_n=arn, reservation_start_time=start,
                reservation_end_time=_end_time(start, ri.term_hours), reservation_modification_status="Original",
                reservation_subscription_id=str(int(_hex("sub" + ri.key, 8), 16)),
                line_item_product_code=ri.product_code, product_servicecode=ri.product_code,
                line_item_usage_type=ut, product_region_code=ri.region, product_instance_type=ri.instance_type,
                pricing_lease_contract_length=f"{ri.term_hours // 8760}yr", pricing_offering_class="standard",
                pricing_purchase_option="All Upfront" if ri.hourly_recurring == 0 else "Partial Upfront",
                pricing_term="Reserved",
                _service=next(s.service_name for s in org.SPECS if s.product_code == ri.product_code),
                _category="Compute" if ri.product_code == "AmazonEC2" else "Databases", _tags=COMMITMENT_TAGS)
            recurring = reserved * ri.hourly_recurring
            rows.append(row(
                RIFEE, payer_acct, plan.start, plan.end, recurring,
                _effective=unused * up_h + unused * ri.hourly_recurring, line_item_usage_amount=reserved,
                line_item_operation="RunInstances" if ri.product_code == "AmazonEC2" else "CreateDBInstance:0014",
                line_item_line_item_description=f"USD {ri.hourly_recurring} hourly fee per {ri.instance_type} reservation",
                line_item_unblended_rate=f"{ri.hourly_recurring:.10f}",
                reservation_amortized_upfront_fee_for_billing_period=reserved * up_h,
                reservation_net_amortized_upfront_fee_for_billing_period=reserved * up_h,
                reservation_unused_amortized_upfront_fee_for_billing_period=unused * up_h,
                reservation_net_unused_amortized_upfront_fee_for_billing_period=unused * up_h,
                reservation_unused_recurring_fee=unused * ri.hourly_recurring,
                reservation_net_unused_recurring_fee=unused * ri.hourly_recurring,
                reservation_unused_quantity=unused, reservation_unused_normalized_unit_quantity=unused * 8,
                reservation_upfront_value=round(ri.upfront_per_instance * n_eff, 2),
                reservation_net_upfront_value=round(ri.upfront_per_instance * n_eff, 2),
                reservation_number_of_reservations=str(n_ri), reservation_units_per_reservation=f"{plan.hours:.10f}",
                reservation_total_reserved_units=f"{reserved:.10f}",
                reservation_normalized_units_per_reservation=f"{plan.hours * 8:.10f}",
                reservation_total_reserved_normalized_units=f"{reserved * 8:.10f}",
                **common))
            if plan.bought_now(start):
                rows.append(row(FEE, payer_acct, plan.start, plan.start + timedelta(hours=1),
                                round(ri.upfront_per_instance * n_eff, 2), _effective=0.0,
                                line_item_usage_amount=float(n_ri),
                                line_item_line_item_description=f"Sign up charge for subscription: "
                                f"{common['reservation_subscription_id']}, planId: {_alnum(ri.key, 6)}",
                                **common))

        # Period totals drive support, tax, credits and refunds.
        billed = self.billed_acct_pc
        fees_so_far = sum(r["line_item_unblended_cost"] for r in rows)
        usage_total = float(billed.sum()) + fees_so_far
        support = _business_support(usage_total)
        rows.append(row(FEE, payer_acct, plan.start, plan.end, support, line_item_product_code="AWSSupportBusiness",
                        product_servicecode="AWSSupportBusiness", line_item_usage_type="Dollar",
                        line_item_usage_amount=1.0, line_item_line_item_description="AWS Support (Business)",
                        _service="AWS Support (Business)", _category="Other"))
        acct_tot = billed.sum(axis=1)
        tax_rate = 0.005 if plan.role == "payer-a" else 0.02
        for a_i, a in enumerate(pool.accounts):
            if acct_tot[a_i] <= 0:
                continue
            pc = self.product_codes[int(np.argmax(billed[a_i]))]
            amt = round(float(acct_tot[a_i]) * tax_rate, 2)
            rows.append(row(TAX, (a.account_id, a.name), plan.start, plan.end, amt, line_item_product_code=pc,
                            line_item_usage_amount=1.0, line_item_tax_type="VAT" if plan.role == "payer-b" else "Sales Tax",
                            line_item_line_item_description=f"Tax for product code {pc}",
                            _service=_service_of(pc), _category=_category_of(pc)))
        top = np.argsort(-acct_tot, kind="stable")[:3]
        for a_i in top:
            a = pool.accounts[int(a_i)]
            amt = -round(float(acct_tot[a_i]) * 0.03, 2)
            rows.append(row(CREDIT, (a.account_id, a.name), plan.start, plan.end, amt,
                            line_item_product_code="AmazonEC2", line_item_usage_amount=1.0,
                            line_item_line_item_description="AWS Credits - Migration Acceleration Program",
                            _service=_service_of("AmazonEC2"), _category="Compute"))
        s3 = self.pc_index["AmazonS3"]
        a_i = int(np.argmax(billed[:, s3]))
        a = pool.accounts[a_i]
        rows.append(row(REFUND, (a.account_id, a.name), plan.start, plan.end,
                        -round(max(float(billed[a_i, s3]) * 0.10, 0.01), 2), line_item_product_code="AmazonS3",
                        line_item_usage_amount=1.0, line_item_line_item_description="Refund: S3 SLA credit",
                        _service=_service_of("AmazonS3"), _category="Storage"))
        return self._rows_to_piece(rows)

    def _rows_to_piece(self, rows: list[dict]) -> Piece:
        plan = self.plan
        n = len(rows)
        cols: dict[str, pa.Array] = {}
        for name, t in CUR_COLUMNS:
            vals = [r.get(name) for r in rows]
            if t == "VARCHAR":
                cols[name] = pa.array([v if v is not None else "" for v in vals], pa.string()).dictionary_encode()
            elif t == "DOUBLE":
                cols[name] = pa.array([float(v) if v is not None else 0.0 for v in vals], pa.float64())
        for name in ("line_item_blended_cost", "line_item_net_unblended_cost"):
            cols[name] = cols["line_item_unblended_cost"]
        payer = plan.payer
        consts = {"bill_bill_type": "Anniversary", "bill_billing_entity": "AWS",
                  "bill_invoicing_entity": payer.invoicing_entity, "line_item_legal_entity": payer.invoicing_entity,
                  "bill_payer_account_id": payer.account_id, "bill_payer_account_name": payer.name,
                  "line_item_currency_code": "USD", "pricing_currency": "USD",
                  "bill_invoice_id": str(int(_hex(f"inv|{payer.account_id}|{plan.period}", 10), 16) % 10**10)}
        for k, v in consts.items():
            cols[k] = pa.array([v] * n).dictionary_encode()
        ids = [_alnum(f"{plan.seed}|{plan.role}|{plan.period}|fee|{i}", 26).lower() * 2 for i in range(n)]
        cols["identity_line_item_id"] = pa.array(ids)
        starts = np.array([int(r["_start"].timestamp() * 1000) for r in rows], dtype=np.int64)
        ends = np.array([int(r["_end"].timestamp() * 1000) for r in rows], dtype=np.int64)
        cols["identity_time_interval"] = pa.array([
            f"{r['_start']:%Y-%m-%dT%H:%M:%SZ}/{r['_end']:%Y-%m-%dT%H:%M:%SZ}" for r in rows]).dictionary_encode()
        cols["line_item_usage_start_date"] = pa.array(starts, TS)
        cols["line_item_usage_end_date"] = pa.array(ends, TS)
        cols["bill_billing_period_start_date"] = pa.array(np.full(n, plan.start_ms, dtype=np.int64), TS)
        cols["bill_billing_period_end_date"] = pa.array(np.full(n, int(plan.end.timestamp() * 1000), dtype=np.int64), TS)
        for m in ("product", "cost_category", "tags"):
            cols[m] = _empty_maps(n)
        ptags = [period_tags(r["_tags"], plan.period) for r in rows]
        cols["resource_tags"] = _map_array([sorted(t.items()) for t in ptags])
        cols["discount"] = _empty_maps(n, pa.float64())
        types = np.array([T[r["line_item_line_item_type"]] for r in rows], dtype=np.int8)
        return Piece(
            n=n, cols=cols, effective=np.array([r["_effective"] for r in rows], dtype=np.float64),
            list_cost=np.zeros(n), untagged=np.array([not (set(t) & set(org.TEAM_TAG_KEYS)) for t in ptags]),
            type_codes=types,
            service_name=pa.array([r.get("_service", "") for r in rows]).dictionary_encode(),
            service_category=pa.array([r.get("_category", "Other") for r in rows]).dictionary_encode(),
            region_name=pa.array([org.REGIONS[r["product_region_code"]][1] if r.get("product_region_code") else ""
                                  for r in rows]).dictionary_encode(),
            tags_json=pa.array([json.dumps({legacy_tag_key(k): v for k, v in sorted(t.items())}) if t else None
                                for t in ptags], pa.string()),
            legacy_tags={k: pa.array([t.get(k, "") for t in ptags]).dictionary_encode() for k in self.tag_keys},
        )


def _service_of(pc: str) -> str:
    return next((s.service_name for s in org.SPECS if s.product_code == pc), pc)


def _category_of(pc: str) -> str:
    return next((s.category for s in org.SPECS if s.product_code == pc), "Other")


def _business_support(total: float) -> float:
    """AWS Business Support: 10% of the first $10K, 7% to $80K, 5% to $250K, 3% above (no $100 minimum,
    so that small samples stay proportionate)."""
    fee, rest, prev = 0.0, max(total, 0.0), 0.0
    for limit, pct in ((10_000, 0.10), (80_000, 0.07), (250_000, 0.05), (math.inf, 0.03)):
        part = min(rest, limit - prev)
        fee += part * pct
        rest -= part
        prev = limit
        if rest <= 0:
            break
    return round(fee, 2)

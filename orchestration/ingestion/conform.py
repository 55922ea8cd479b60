"""Conform a delivery's files to the landing schema of its format, with DuckDB.

Every data file of a delivery is read (parquet, csv or csv.gz), its columns are
mapped to the landing names (legacy CUR CSV ``lineItem/UnblendedCost`` ->
``line_item_unblended_cost``), one-column-per-tag legacy schemas are folded into
the ``resource_tags`` map, and every value is cast to the landing type.  A value
that does not parse (a cost that is not a number, a date that is not a date)
stops the load with the file, row and column named; it is never turned into NULL.

The data is read once, as a stream: the conform query checks every value as it
casts it (a value that does not parse raises inside DuckDB), and only when that
happens are the files read again to name the first bad file, row and column.
Nothing is materialised, so memory stays bounded whatever the delivery's size.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ingestion.errors import IngestionError
from orchestration.landing_schema import CUR_LEGACY, FOCUS, SCHEMAS

LEGACY_TAG_PREFIXES = ("resourceTags/", "resource_tags_")
LEGACY_MAP_PREFIXES = {
    "product": ("product/", "product_"),
    "cost_category": ("costCategory/", "cost_category_"),
}


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def legacy_csv_column_to_cur2(name: str) -> str:
    """``lineItem/UnblendedCost`` -> ``line_item_unblended_cost`` (AWS's Athena rule)."""
    snake = re.sub(r"([A-Z])", r"_\1", name).lower()
    snake = re.sub(r"[^a-z0-9]+", "_", snake)
    return re.sub(r"_+", "_", snake).strip("_")


@dataclass
class SourceColumns:
    """How each landing column is produced from a delivery's columns."""

    names: dict[str, str]  # landing name -> source column name
    types: dict[str, str]  # source column name -> DuckDB type
    tag_columns: dict[str, str]  # tag key -> source column (legacy one-column-per-tag)
    map_columns: dict[str, dict[str, str]]  # landing map column -> {key: source column}


CASE_DUPLICATE_MARK = "#"


def csv_header(path: Path) -> list[str]:
    """The column names of a csv or csv.gz file, exactly as written."""
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (OSError, EOFError, UnicodeDecodeError, csv.Error):
        return []  # unreadable: the read itself reports it, naming the file


def distinct_column_names(header: list[str]) -> list[str]:
    """Names DuckDB can hold apart.

    DuckDB identifiers are case-insensitive, but legacy CUR writes one column
    per tag key *as spelled*: ``resourceTags/user:Team`` and ``resourceTags/user:team``
    are two different tags.  The second spelling gets a ``#2`` suffix here (and
    the suffix is dropped again when the tag key is read from the name).
    """
    seen: dict[str, int] = {}
    names = []
    for name in header:
        count = seen[name.lower()] = seen.get(name.lower(), 0) + 1
        names.append(name if count == 1 else f"{name}{CASE_DUPLICATE_MARK}{count}")
    return names


def original_column_name(name: str) -> str:
    base, mark, count = name.rpartition(CASE_DUPLICATE_MARK)
    return base if mark and count.isdigit() else name


def reader_sql(files: list[Path], kind: str, format_name: str) -> str:
    """A DuckDB table function reading these files, with a ``filename`` column."""
    if kind == "parquet":
        paths = "[" + ", ".join(quote_literal(str(p)) for p in files) + "]"
        return f"read_parquet({paths}, union_by_name = true, filename = true)"
    nulls = "['', 'NULL']" if format_name == FOCUS else "['']"
    readers = []
    for path in files:
        names = "[" + ", ".join(quote_literal(n) for n in distinct_column_names(csv_header(path))) + "]"
        readers.append(f"SELECT * FROM read_csv({quote_literal(str(path))}, header = true, names = {names}, "
                       f"all_varchar = true, filename = true, nullstr = {nulls}, strict_mode = true)")
    if len(readers) == 1:
        return f"({readers[0]})"
    return "(" + " UNION ALL BY NAME ".join(readers) + ")"


def verify_gzip_complete(path: Path, describe_file) -> None:
    """Read a .gz file to its end: a truncated download must fail, not load fewer rows."""
    import zlib

    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                decompressor.decompress(chunk)
                while decompressor.unused_data:  # concatenated gzip members
                    rest = decompressor.unused_data
                    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    decompressor.decompress(rest)
    except zlib.error as exc:
        raise IngestionError(f"{describe_file(path)}: cannot read this gzip file ({exc}); it is corrupt: "
                             "re-deliver the period (or remove the file); nothing was loaded for it.") from exc
    if not decompressor.eof:
        raise IngestionError(f"{describe_file(path)}: the gzip stream ends early, the file is truncated: "
                             "re-deliver the period (or re-download it); nothing was loaded for it.")


class GzipCheck:
    """``verify_gzip_complete`` of a delivery's .gz files, run in a background thread.

    zlib releases the GIL, so the check runs beside DuckDB's read of the same
    files instead of before it.  ``result()`` waits for it and raises its error:
    callers ask for it before reporting any other problem, and before keeping
    what they wrote, so a truncated or corrupt file is reported exactly as if
    it had been checked first.
    """

    def __init__(self, files: list[Path], describe_file):
        self._error: BaseException | None = None
        gz_files = [p for p in files if p.name.lower().endswith(".gz")]
        self._thread = None
        if gz_files:
            self._thread = threading.Thread(target=self._run, args=(gz_files, describe_file),
                                            name="gzip-check", daemon=True)
            self._thread.start()

    def _run(self, gz_files: list[Path], describe_file) -> None:
        try:
            for path in gz_files:
                verify_gzip_complete(path, describe_file)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error


def file_kind(path: Path) -> str:
    return "parquet" if path.name.lower().endswith(".parquet") else "csv"


def delivery_kind(files: list[Path], describe_file) -> str:
    """parquet or csv: the kind of every file of a delivery (a mix is refused)."""
    kinds = {file_kind(p) for p in files}
    if len(kinds) != 1:
        raise IngestionError(f"{describe_file(files[0])}: a delivery mixes parquet and csv files; re-deliver it")
    return kinds.pop()


def _map_sources(format_name: str, source_types: dict[str, str]) -> SourceColumns:
    schema = SCHEMAS[format_name]
    landing_names = {name for name, _ in schema.columns}
    names: dict[str, str] = {}
    tags: dict[str, str] = {}
    maps: dict[str, dict[str, str]] = {key: {} for key in LEGACY_MAP_PREFIXES}
    for source in source_types:
        if source == "filename":
            continue
        if format_name != CUR_LEGACY:
            if source in landing_names:
                names[source] = source
            continue
        tag_prefix = next((p for p in LEGACY_TAG_PREFIXES if source.startswith(p)), None)
        if tag_prefix:
            tags[original_column_name(source)[len(tag_prefix):]] = source
            continue
        target = legacy_csv_column_to_cur2(source) if "/" in source else source
        if target in landing_names:
            names.setdefault(target, source)
            continue
        for map_column, prefixes in LEGACY_MAP_PREFIXES.items():
            prefix = next((p for p in prefixes if source.startswith(p)), None)
            if prefix:
                key = legacy_csv_column_to_cur2(source[len(prefix):]) if "/" in source else source[len(prefix):]
                maps[map_column].setdefault(key, source)
    return SourceColumns(names, source_types, tags, {k: v for k, v in maps.items() if v})


def _folded_map(entries: dict[str, str]) -> str:
    if not entries:
        return "CAST(MAP {} AS MAP(VARCHAR, VARCHAR))"
    items = ", ".join(
        f"struct_pack(k := {quote_literal(key)}, v := CAST({quote_identifier(col)} AS VARCHAR))"
        for key, col in sorted(entries.items())
    )
    return f"map_from_entries(list_filter([{items}], e -> e.v IS NOT NULL AND e.v <> ''))"


def _utc_timestamp(value: str) -> str:
    """A TIMESTAMPTZ expression as the TIMESTAMP it is in UTC.

    Equal to ``CAST(value AS TIMESTAMP)`` with the session in UTC (the loader's
    setting), without ICU's per-value time zone conversion (~5x slower).
    Infinities keep the plain cast.
    """
    return (f"CASE WHEN isfinite({value}) THEN make_timestamp(epoch_us({value})) "
            f"ELSE CAST({value} AS TIMESTAMP) END")


def _cast(source: str, source_type: str, target_type: str) -> tuple[str, str | None]:
    """(expression, validity condition) casting a source column to a landing type.

    The condition is true for rows whose raw value is present but did not parse;
    it is None where the cast cannot fail (typed parquet columns).

    Text is parsed as ``TRY_CAST(NULLIF(trim(x), '') AS T)``.  The number and
    timestamp expressions below give exactly that value, faster: DuckDB's number
    and timestamp parsers skip surrounding ASCII whitespace themselves and give
    NULL for blank text, so the trimmed parse (``trim`` copies every string) is
    only made where the direct one gives NULL (NULLs, blanks, other Unicode
    spaces, bad values).  ``trim`` appears once (no NULLIF): a repeated
    expression would be computed for every row, ahead of the coalesce.
    """
    col = quote_identifier(source)
    text_source = source_type == "VARCHAR"
    if target_type == "DOUBLE":
        if not text_source:
            return f"CAST({col} AS DOUBLE)", None
        expr = f"coalesce(TRY_CAST({col} AS DOUBLE), TRY_CAST(trim({col}) AS DOUBLE))"
    elif target_type == "TIMESTAMP":
        if source_type == "TIMESTAMP WITH TIME ZONE":
            return _utc_timestamp(col), None
        if not text_source:
            return f"CAST({col} AS TIMESTAMP)", None
        expr = _utc_timestamp(f"coalesce(TRY_CAST({col} AS TIMESTAMPTZ), TRY_CAST(trim({col}) AS TIMESTAMPTZ))")
    elif target_type.startswith("MAP"):
        if not text_source:
            return f"CAST({col} AS {target_type})", None
        expr = f"TRY_CAST(TRY_CAST(NULLIF(trim({col}), '') AS JSON) AS {target_type})"
    else:
        return f"CAST({col} AS {target_type})", None
    return expr, f"({col} IS NOT NULL AND trim({col}) <> '' AND {expr} IS NULL)"


@dataclass(frozen=True)
class ParseCheck:
    source_column: str
    bad_value_condition: str  # true where the raw value is present but did not parse
    expected: str  # "a number", "a timestamp", ... for the message


@dataclass
class ConformedQuery:
    # The landing rows (without lineage) plus the reader's ``filename``.  Reading it
    # raises a DuckDB error containing UNPARSEABLE_VALUE_MARK at the first value that
    # does not parse (see is_unparseable_value_error and raise_on_unparseable_values).
    select_sql: str
    checks: dict[str, ParseCheck]  # by landing column
    reader_sql: str


EXPECTED_KIND = {"DOUBLE": "a number", "TIMESTAMP": "a timestamp"}

# In the message of the error the conform query raises at a value that does not parse.
UNPARSEABLE_VALUE_MARK = "finops-unparseable-value"


def is_unparseable_value_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and UNPARSEABLE_VALUE_MARK in str(exc)


def _checked(name: str, raw: str) -> str:
    """The landing value of a checked column, or a DuckDB error where its raw value did not parse.

    The WHENs run in order, each on the rows left by the ones before, so ``trim``
    only runs where the cast gave NULL, and ``error()`` only where the value is bad:
    exactly the rows ParseCheck.bad_value_condition is true for.
    """
    value, raw_col = quote_identifier(name), quote_identifier(raw)
    return (f"CASE WHEN {value} IS NOT NULL THEN {value} WHEN {raw_col} IS NULL THEN {value} "
            f"WHEN trim({raw_col}) = '' THEN {value} "
            f"ELSE error(concat({quote_literal(UNPARSEABLE_VALUE_MARK + ': ' + name + ': ')}, {raw_col})) END")


def build_conform_query(con: duckdb.DuckDBPyConnection, files: list[Path], format_name: str,
                        describe_file) -> ConformedQuery:
    """Build the SELECT that turns these files into landing rows (no data is read yet).

    The files are read when the query runs, once, as a stream; it validates
    every value as it converts it.  .gz files are checked for completeness
    separately (GzipCheck), beside that read.
    """
    kind = delivery_kind(files, describe_file)
    reader = reader_sql(files, kind, format_name)
    source_types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {reader})")
                        .fetchall())
    sources = _map_sources(format_name, source_types)
    schema = SCHEMAS[format_name]
    missing = [col for col in schema.required if col not in sources.names]
    if missing:
        if kind == "csv":
            # A csv that cannot be parsed is reported as such, before its columns are
            # (the whole text is read here, as it is by the load itself).
            con.execute(f"CREATE OR REPLACE TEMP TABLE delivery_rows AS SELECT * FROM {reader}")
            con.execute("DROP TABLE delivery_rows")
        raise IngestionError(
            f"{', '.join(describe_file(f) for f in files[:3])}: required column(s) {', '.join(missing)} "
            f"missing from this {format_name} delivery; check the export's column selection and re-deliver"
        )
    inner, outer, checks = [], [], {}
    for name, type_ in schema.columns:
        column = quote_identifier(name)
        if name in sources.names:
            source = sources.names[name]
            expr, condition = _cast(source, sources.types[source], type_)
            if condition:
                checks[name] = ParseCheck(source, condition, EXPECTED_KIND.get(type_, "a JSON object"))
                raw = f"__raw_{len(checks)}"
                inner.append(f"{quote_identifier(source)} AS {quote_identifier(raw)}")
                inner.append(f"{expr} AS {column}")
                outer.append(f"{_checked(name, raw)} AS {column}")
                continue
        elif name == "resource_tags" and format_name == CUR_LEGACY:
            expr = _folded_map(sources.tag_columns)
        elif name in sources.map_columns:
            expr = _folded_map(sources.map_columns[name])
        else:
            expr = f"CAST(NULL AS {type_})"
        inner.append(f"{expr} AS {column}")
        outer.append(column)
    if checks:
        select_sql = (f"SELECT {', '.join(outer)}, filename FROM "
                      f"(SELECT {', '.join(inner)}, filename FROM {reader})")
    else:
        select_sql = f"SELECT {', '.join(inner)}, filename FROM {reader}"
    return ConformedQuery(select_sql, checks, reader)


def raise_on_unparseable_values(con: duckdb.DuckDBPyConnection, query: ConformedQuery, files: list[Path],
                                format_name: str, describe_file) -> None:
    """Raise naming the first file, row and column whose value does not parse as its landing type.

    The load calls it once the conform query has met a bad value: it reads the
    files again (counting every bad value, then finding the first bad row of the
    first bad column), which only a failing delivery pays for.
    """
    if not query.checks:
        return
    flags = ", ".join(f"count_if({check.bad_value_condition})" for check in query.checks.values())
    counts = con.execute(f"SELECT {flags} FROM {query.reader_sql}").fetchone()
    bad = [(column, n) for column, n in zip(query.checks, counts) if n]
    if not bad:
        return
    column, count = bad[0]
    check = query.checks[column]
    con.execute("SET preserve_insertion_order = true")  # so that row_number() follows the file's rows
    for path in files:
        reader = reader_sql([path], file_kind(path), format_name)
        row = con.execute(
            f"SELECT rn, value FROM (SELECT row_number() OVER () AS rn, "
            f"{quote_identifier(check.source_column)} AS value, {check.bad_value_condition} AS bad "
            f"FROM {reader}) WHERE bad ORDER BY rn LIMIT 1"
        ).fetchone()
        if row:
            raise IngestionError(
                f"{describe_file(path)}: column {original_column_name(check.source_column)!r}, data row {row[0]}: "
                f"{row[1]!r} is not {check.expected} ({count} such value(s) in this delivery). "
                "Fix the export or re-deliver the period; nothing was loaded for it."
            )
    raise IngestionError(f"{describe_file(files[0])}: {count} unparseable value(s) in column {column}")

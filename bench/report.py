"""bench/RESULTS.md from the results JSON that bench/run.py writes: every number and every
ratio of one run, the machine and its background load, and a verdict for each target."""

import statistics

# The sides as they appear in the tables, in this order.
SIDES = {
    "ours_sqlite": "ours, SQLite",
    "ours_sqlite_nocache": "ours, SQLite, cache off",
    "ours_postgres": "ours, PostgreSQL",
    "ours_postgres_nocache": "ours, PostgreSQL, cache off",
    "datasette": "Datasette (immutable)",
    "nginx": "nginx (our bytes, static)",
}
OURS = ("ours_sqlite", "ours_postgres")
QUERY_NAMES = {
    "first_page": "first page (50 rows)",
    "filtered": "filtered (unit + date range)",
    "keyset_deep": "keyset page 100 deep",
    "record": "one record",
    "search_ko": "search, Korean 2 syllables (김장)",
    "search_en": "search, English (tourism)",
    "csv": "CSV export, N/10 rows",
    "mix": "mix (round-robin of all but CSV)",
}
FLAT = ("record", "first_page", "filtered", "keyset_deep")
NGINX_TARGETS = ("record", "first_page")
SEARCH = ("search_ko", "search_en")


def ms(us):
    return "–" if us is None else f"{us / 1000:.2f}"


def mib(kib):
    return "–" if not kib else f"{kib / 1024:.0f}"


def ratio(a, b):
    return None if not a or not b else a / b


def fmt_ratio(r, digits=2):
    return "–" if r is None else f"{r:.{digits}f}×"


def verdict(ok):
    return "**holds**" if ok else "**misses**"


def runs_by_n(results):
    return sorted(((int(n), run) for n, run in results["runs"].items()), key=lambda x: x[0])


def _p(out, name):
    return (out or {}).get("latency_us", {}).get(name)


def machine_section(results):
    mc = results["machine"]
    v = mc["versions"]
    lines = [
        "## The machine",
        "",
        f"- CPU: {mc['cpu']}, {mc['cores']} cores; {mc['memory_gib']} GiB memory; {mc['os']}, Linux {mc['kernel']}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Load average (1, 5, 15 min) at the start: {' '.join(mc['loadavg_at_start'])}; at the end: {' '.join(mc.get('loadavg_at_end', ['?']))}",
    ]
    others = [
        out.get("others_cpu", 0)
        for _, run in runs_by_n(results)
        for q in run["queries"].values()
        for out in q.values()
        if isinstance(out, dict) and "others_cpu" in out
    ]
    if others:
        lines.append(
            f"- Background load: processes other than the sides and wrk used {statistics.mean(others):.0%} of the "
            f"machine's CPU on average during the measurements (median {statistics.median(others):.0%}, max {max(others):.0%}); "
            "that is why every comparison below is a ratio between sides measured in the same run, interleaved."
        )
    return lines


def query_table(run):
    q = run["queries"]
    ds = q.get
    lines = [
        "| query | side | req/s | p50 ms | p99 ms | peak memory MiB | req/s vs Datasette | p99 vs Datasette | req/s vs nginx |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in QUERY_NAMES.items():
        sides = ds(name) or {}
        d, n = sides.get("datasette"), sides.get("nginx")
        for side, side_label in SIDES.items():
            out = sides.get(side)
            if out is None:
                continue
            errors = f" ({out['errors_total']} errors)" if out.get("errors_total") else ""
            vs_d = fmt_ratio(ratio(out["rps"], d and d["rps"])) if side != "datasette" else ""
            p99_d = fmt_ratio(ratio(_p(out, "p99"), _p(d, "p99"))) if side not in ("datasette",) and d else ""
            vs_n = fmt_ratio(ratio(out["rps"], n and n["rps"]), 3) if side != "nginx" and n else ""
            lines.append(
                f"| {label} | {side_label} | {out['rps']:.0f}{errors} | {ms(_p(out, 'p50'))} | {ms(_p(out, 'p99'))} | "
                f"{mib(out.get('peak_rss_kib'))} | {vs_d} | {p99_d} | {vs_n} |"
            )
    return lines


def csv_all_table(run):
    rows = run["queries"].get("csv_all") or {}
    if not rows:
        return []
    lines = [
        "",
        f"CSV of every figure ({run['figures']} rows), one request per side, timed to the last byte:",
        "",
        "| side | seconds | rows/s | MiB sent | memory MiB before | peak memory MiB | largest process RSS MiB | complete | again, seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for side, label in SIDES.items():
        out = rows.get(side)
        if out:
            size = f"{out['bytes'] / 1048576:.0f}" if out.get("bytes") else "–"
            again = f"{out['repeat_seconds']:.1f} ({out.get('repeat_cache')})" if "repeat_seconds" in out else "–"
            lines.append(
                f"| {label} | {out['seconds']:.1f} | {out['rows_per_s']:.0f} | {size} | {mib(out.get('idle_rss_kib'))} | "
                f"{mib(out['peak_rss_kib'])} | {mib(out.get('peak_one_rss_kib'))} | "
                f"{'yes' if out['complete'] else 'NO: ' + str(out.get('error') or 'rows missing')} | {again} |"
            )
    lines += [
        "",
        "The first request makes the export; ours writes it to disk as it streams (api/cache.py), so the "
        "same export again is sent from that file (`again`). The target is judged on the first.",
    ]
    return lines


def server_table(results):
    matrix = results.get("servers")
    if not matrix:
        return []
    lines = [
        "## Which server, how many workers and threads",
        "",
        f"Measured at N = {matrix['figures']} with the same wrk settings; `civicfacts serve` uses the winner.",
        "",
        "| server | database | workers × threads | query | req/s | p50 ms | p99 ms |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for row in matrix["rows"]:
        out = row["result"]
        lines.append(
            f"| {row['server']} | {row['database']} | {row['workers']} × {row['threads']} | {QUERY_NAMES.get(row['query'], row['query'])}"
            f"{' (cache off)' if row.get('nocache') else ''} | {out['rps']:.0f} | {ms(_p(out, 'p50'))} | {ms(_p(out, 'p99'))} |"
        )
    return lines + [""]


def check_rows(run):
    checks = run.get("checks") or {}
    lines = [
        "",
        "What each side selected (rows) and sent (bytes) for each query, fetched once before the load:",
        "",
        "| query | " + " | ".join(SIDES[s] for s in SIDES if any(s in c for c in checks.values())) + " |",
    ]
    present = [s for s in SIDES if any(s in c for c in checks.values())]
    lines.append("|---|" + "---|" * len(present))
    for name, sides in checks.items():
        cells = []
        for side in present:
            c = sides.get(side)
            cells.append("–" if c is None else f"{c['rows_selected']} rows, {c['bytes']} B, {c['first_ms']} ms")
        lines.append(f"| {QUERY_NAMES.get(name, name)} | " + " | ".join(cells) + " |")
    return lines


# -- targets -------------------------------------------------------------------------------


def targets(results):
    runs = runs_by_n(results)
    if not runs:
        return []
    lines = ["## Targets", ""]
    small_n, small = runs[0]
    big_n, big = runs[-1]

    worst = {}
    for n, run in runs:
        for name, sides in run["queries"].items():
            d = sides.get("datasette")
            if name in ("mix", "csv_all") or d is None:
                continue
            for side in OURS:
                out = sides.get(side)
                if out is None:
                    continue
                r, p99 = ratio(out["rps"], d["rps"]), ratio(_p(out, "p99"), _p(d, "p99"))
                low, high = worst.get((side, name), ((None, None), (None, None)))
                worst[(side, name)] = (min(low, (r, n)) if low[0] is not None else (r, n), max(high, (p99, n)) if high[0] is not None else (p99, n))
    if worst:
        ok = all(low[0] >= 2 and high[0] < 1 for low, high in worst.values())
        lines += [
            f"1. Every query ≥ 2× Datasette's requests/s with a lower p99: {verdict(ok)}.",
            "",
            "   | side | query | lowest req/s ratio (at N) | highest p99 ratio (at N) |",
            "   |---|---|---:|---:|",
        ]
        for (side, name), ((r, rn), (p99, pn)) in sorted(worst.items()):
            lines.append(f"   | {SIDES[side]} | {QUERY_NAMES[name]} | {fmt_ratio(r)} (N={rn}) | {fmt_ratio(p99)} (N={pn}) |")
        lines.append("")

    nginx_rows = []
    for n, run in runs:
        for name in NGINX_TARGETS:
            sides = run["queries"].get(name, {})
            for side in OURS:
                if side in sides and "nginx" in sides:
                    nginx_rows.append((side, name, n, ratio(sides[side]["rps"], sides["nginx"]["rps"])))
    if nginx_rows:
        ok = all(r is not None and r >= 0.1 for *_, r in nginx_rows)
        low = min(nginx_rows, key=lambda x: x[3] or 0)
        lines += [
            f"2. Single records and first pages ≥ 1/10 of nginx's requests/s for the same bytes: {verdict(ok)} "
            f"(lowest: {SIDES[low[0]]}, {QUERY_NAMES[low[1]]}, N={low[2]}: {fmt_ratio(low[3], 3)}).",
            "",
        ]

    if len(runs) > 1:
        rows, flat_ok = [], True
        for side in ("ours_sqlite", "ours_postgres", "ours_sqlite_nocache", "ours_postgres_nocache"):
            for name in FLAT:
                series = [(n, _p(run["queries"].get(name, {}).get(side), "p50")) for n, run in runs]
                if any(p is None for _, p in series):
                    continue
                r = ratio(series[-1][1], series[0][1])
                ok = r is not None and r <= 1.5
                if side in OURS:
                    flat_ok &= ok
                rows.append(
                    f"   | {SIDES[side]} | {QUERY_NAMES[name]} | {' / '.join(ms(p) for _, p in series)} | {fmt_ratio(r)} | "
                    f"{'holds' if ok else 'misses'}{'' if side in OURS else ' (cache off: for information)'} |"
                )
        lines += [
            f"3. Latency flat, p50 at N={big_n} ≤ 1.5× p50 at N={small_n} (with the cache, as clients get it): {verdict(flat_ok)}.",
            "",
            "   | side | query | p50 ms at N = " + " / ".join(str(n) for n, _ in runs) + " | ratio | |",
            "   |---|---|---|---:|---|",
            *rows,
            "",
        ]

    search_rows = []
    for side in ("ours_sqlite", "ours_postgres", "ours_sqlite_nocache", "ours_postgres_nocache"):
        for name in SEARCH:
            out = big["queries"].get(name, {}).get(side)
            if out:
                search_rows.append((side, name, _p(out, "p50"), (big.get("checks", {}).get(name, {}).get(side) or {}).get("first_ms")))
    if search_rows:
        ok = all(p is not None and p < 50_000 for side, _, p, _ in search_rows if side in OURS)
        lines += [
            f"4. Search p50 < 50 ms at N={big_n}, Korean and English, both databases (with the cache, as clients get it): {verdict(ok)}.",
            "",
            "   | side | query | p50 ms under load | first request ms (one at a time) | |",
            "   |---|---|---:|---:|---|",
        ]
        for side, name, p, first in search_rows:
            note = ("holds" if p is not None and p < 50_000 else "misses") + ("" if side in OURS else " (cache off: for information)")
            lines.append(f"   | {SIDES[side]} | {QUERY_NAMES[name]} | {ms(p)} | {first if first is not None else '–'} | {note} |")
        lines.append("")

    csv_all = big["queries"].get("csv_all") or {}
    if csv_all:
        d = csv_all.get("datasette")
        lines.append(
            f"5. CSV of {big_n} rows in constant memory (peak < 200 MB, the server's processes together) and faster than Datasette's streamed CSV:"
        )
        lines.append("")
        for side in ("ours_sqlite", "ours_postgres"):
            out = csv_all.get(side)
            if not out:
                continue
            rss_ok = out["peak_rss_kib"] * 1024 < 200e6
            faster = d is not None and d["complete"] and out["complete"] and out["seconds"] < d["seconds"]
            vs = f"the first request {out['seconds']:.1f} s vs Datasette {d['seconds']:.1f} s" if d else f"{out['seconds']:.1f} s"
            lines.append(
                f"   - {SIDES[side]}: peak {out['peak_rss_kib'] / 1024:.0f} MiB, {mib(out.get('idle_rss_kib'))} MiB before the export "
                f"({verdict(rss_ok)}), {vs} ({verdict(faster)})"
                + (f"; the same export again, from the file the first left: {out['repeat_seconds']:.1f} s" if "repeat_seconds" in out else "")
                + ("" if out["complete"] else " — INCOMPLETE")
            )
        lines.append("")
    return lines


def render(results):
    lines = ["# Benchmark results", ""]
    if results.get("smoke"):
        lines += ["A smoke run (small N, one short round): it proves the harness works, not how fast anything is.", ""]
    lines += [
        "Written by `make bench` (bench/run.py, then bench/report.py); bench/README.md says what is measured and how.",
        "Every side runs on this machine's loopback, driven by wrk from a separate process with the same request",
        "mix and concurrency; sides are measured one after another within each query, and each query twice in",
        "opposite orders, so a change in background load hits every side alike. Latencies are wrk's.",
        "",
    ]
    lines += machine_section(results) + [
        "",
        "Memory is the proportional set size (PSS) of all of a server's processes added up, sampled every",
        "0.1 s from /proc: a page its forked workers share is counted once. The full-export table also gives",
        "the largest single process's RSS.",
        "",
    ]
    lines += targets(results)
    note = results.get("closing_note")
    if note:
        lines += ["## Closing note", "", note.strip(), ""]
    lines += server_table(results)
    for n, run in runs_by_n(results):
        lines += [f"## N = {n} figures", ""]
        gen = run.get("generation") or {}
        gen_text = ", ".join(f"{db}: {g['seconds']:.0f} s{' (cached)' if g.get('skipped') else ''}" for db, g in gen.items() if g)
        lines += [
            f"Dataset {run['dataset_version']}; generated in {gen_text}. wrk: {run['connections']} connections, "
            f"{run['duration_s']} s per side and round ({run.get('rounds', 1)} rounds), keyset depth {run['keyset_depth']} pages.",
            "",
        ]
        lines += query_table(run)
        lines += csv_all_table(run)
        lines += check_rows(run)
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Render RESULTS.md again from the results JSON, with a closing note from a file."""
    import argparse
    import json
    import pathlib

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--results", default="bench/results.json")
    parser.add_argument("--note", default=None, help="Markdown file with the closing note")
    parser.add_argument("--out", default="bench/RESULTS.md")
    args = parser.parse_args(argv)
    results = json.loads(pathlib.Path(args.results).read_text(encoding="utf-8"))
    if args.note:
        results["closing_note"] = pathlib.Path(args.note).read_text(encoding="utf-8")
    pathlib.Path(args.out).write_text(render(results), encoding="utf-8")


if __name__ == "__main__":
    main()

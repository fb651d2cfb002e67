"""Tables and files of a demand-simulation run (Parquet, written atomically)."""

from __future__ import annotations

from pathlib import Path

from ..io import files, outdir


def write_des(res, out_dir: Path) -> list[Path]:
    """Write the session tables, the request log and the summary under ``out_dir`` (locked meanwhile,
    ``sim.io.outdir``), put in place together: an interrupted or failed write replaces nothing."""
    written = []
    with outdir.locked(Path(out_dir)) as out_dir, files.staged():
        for name, df in res.sessions.items():
            written.append(files.atomic_write(out_dir / f"sessions_{name}.parquet",
                                              lambda p, d=df: d.to_parquet(p, index=False)))
        if res.requests is not None and len(res.requests):
            written.append(files.atomic_write(out_dir / "requests.parquet",
                                              lambda p: res.requests.to_parquet(p, index=False)))
        written.append(files.write_json(out_dir / "summary.json", res.summary))
    return written


def des_json(res, wall: float) -> dict:
    s = dict(res.summary)
    s["ok"] = True
    s["wall_seconds"] = round(wall, 2)
    from ..catalog.prices import library_version

    s["price_library"] = f"genai-prices {library_version()}"
    return s


def des_text(res, wall: float, written: list[Path]) -> str:
    s = res.summary
    tok = s["tokens"]
    lines = [
        f"Simulated {s['sim_seconds'] / 3600:.1f} h in {wall:.1f} s: {s['calls']:,} model calls "
        f"({s['attempts']:,} attempts, {s['retries']:,} retries, {s['throttled_calls']:,} throttled)",
        f"  alpha (billed / first-attempt tokens) {s['alpha']:.3f}   cache hit rate {s['cache_hit_rate']:.1%}   "
        f"quota stops {s['quota_stops']:,}",
        f"  TTFT p50 {s['ttft_p50_s']:.2f} s   p95 {s['ttft_p95_s']:.2f} s   goodput share {s['goodput_share']:.1%}",
        f"  tokens: fresh input {tok['fresh']:,.0f}, cached {tok['cached']:,.0f}, cache write {tok['write']:,.0f}, "
        f"output {tok['output']:,.0f} (reasoning {tok['reasoning']:,.0f})",
        f"  list cost {s['cost_usd']:,.2f} USD",
        "",
        f"  {'workload':<18}{'sessions':>10}{'calls':>12}{'alpha':>8}{'cost USD':>14}{'quota stops':>13}",
    ]
    for name, w in s["workloads"].items():
        lines.append(f"  {name:<18}{w['sessions']:>10,}{w['calls']:>12,.0f}{w['alpha']:>8.3f}{w['cost_usd']:>14,.2f}"
                     f"{w['quota_stops']:>13,}")
    if s.get("pools"):
        lines.append("")
        for key, p in s["pools"].items():
            lines.append(f"  GPU pool {key}: {p.get('requests', 0):,} requests, utilisation {p['gpu_utilization']:.1%}, "
                         f"queue p95 {p['queue_p95_s']:.2f} s")
    lines.append("")
    lines.append("Written: " + ", ".join(str(p) for p in written))
    return "\n".join(lines)

"""The HTML report as a reader sees it: rendered by headless Chromium (--dump-dom, --screenshot).

Two reports: the default scenario (200 paths, about the strategy that orders GPUs, so the purchase
replay, its twin axes and the AI-factory section are drawn; a budget given) and an API-only example
(no GPU section). The checks read the rendered DOM's visible text and the SVG charts' text (tick
labels are text, ``svg.fonttype: none``): inputs by their labels and never by key path, no
scientific tick labels, a currency on every money figure, every section opening with its answer,
and the screenshot not blank.

Without /usr/bin/chromium the browser checks skip, or fail when TOKENSIM_REQUIRE_BROWSER=1 (CI).
The checks that need no browser (``--strategy``) always run.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from tests.conftest import cli_json, refusal

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.yaml"
API_ONLY = ROOT / "scenarios" / "examples" / "single_chat.yaml"
GPU_STRATEGY = "agents_on_owned_h200"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY_PATH = re.compile(r"\b[a-z_]+\.[a-z_]+\.[a-z_]+\b")
SCIENTIFIC = re.compile(r"10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]|×\s?10|\d[eE][+\-−]?\d")
NUMERIC = re.compile(r"^[-−]?\$?[\d.,]+[kMBT]?( %)?$")
DATE = re.compile(r"^\d{4}(-\d{2})?$")




@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    d = tmp_path_factory.mktemp("report-browser")
    main(["run", str(DEFAULT), "--paths", "200", "--out", str(d / "default"), "--quiet"])
    default = cli_json(["report", str(d / "default"), "--scenario", str(DEFAULT), "-o", str(d / "default.html"),
                     "--strategy", GPU_STRATEGY, "--tco-paths", "16", "--budget", "1500000"])
    main(["run", str(API_ONLY), "--paths", "100", "--out", str(d / "api"), "--quiet"])
    api = cli_json(["report", str(d / "api"), "--scenario", str(API_ONLY), "-o", str(d / "api.html")])
    return {"dir": d, "default": default, "api": api}


def _browser() -> str:
    exe = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
    if exe:
        return exe
    msg = "chromium is not installed (/usr/bin/chromium): the report's browser checks did not run"
    if os.environ.get("TOKENSIM_REQUIRE_BROWSER") == "1":
        pytest.fail(msg + " (TOKENSIM_REQUIRE_BROWSER=1)")
    pytest.skip(msg)


def _render(page: Path, tmp: Path) -> tuple[str, Path]:
    """(the DOM Chromium renders, its full-width screenshot)."""
    exe = _browser()
    shot = tmp / (page.stem + ".png")
    common = [exe, *FLAGS, f"--user-data-dir={tmp / (page.stem + '-profile')}", "--window-size=1280,4000"]
    dom = subprocess.run(common + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and "</html>" in dom.stdout, dom.stderr[-2000:]
    r = subprocess.run(common + [f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    return dom.stdout, shot


def _visible_text(dom: str) -> str:
    body = dom.split("<body", 1)[1]
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"</?(b|a|code|span|tspan)\b[^>]*>", "", body)  # inline: no word break
    body = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html.unescape(body).split())


def _charts(dom: str) -> dict[str, list[str]]:
    """The text elements of each SVG chart, by its label."""
    out = {}
    for label, svg in re.findall(r'<svg[^>]*aria-label="([^"]+)"[^>]*>(.*?)</svg>', dom, re.S):
        out[html.unescape(label)] = [html.unescape(re.sub(r"<[^>]+>", "", t)).strip()
                                     for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)]
    return out


def _answers_follow_headings(dom: str) -> list[str]:
    heads = re.findall(r"<h2>(.*?)</h2>\s*(<p[^>]*>)?", dom, re.S)
    return [h for h, p in heads if h != "The answers" and 'class="answer"' not in (p or "")]


def _not_blank(png: Path) -> None:
    from PIL import Image

    assert png.stat().st_size > 30_000, png.stat().st_size
    im = Image.open(png).convert("RGB")
    assert im.size[0] == 1280
    px = np.asarray(im.resize((160, 500)), dtype=int).reshape(-1, 3)
    ink = float(np.mean(px.sum(axis=1) < 720))
    colours = len({tuple(p) for p in px})
    assert ink > 0.03 and colours > 64, (ink, colours)  # text and charts, not a white page


def test_default_report_reads_unaided(reports, tmp_path):
    d = reports["dir"]
    dom, shot = _render(d / "default.html", tmp_path)
    text = _visible_text(dom)
    charts = _charts(dom)
    # inputs by their labels, never by key path
    tor = pd.read_csv(d / "default_tornado.csv")
    moving = tor[tor["swing"] > 0].head(12)
    assert len(moving) >= 5
    for lb in moving["label"]:
        assert lb in text, lb
    assert "Pay-per-token API: change of frontier-tier prices per year" in text
    assert not KEY_PATH.findall(text), sorted(set(KEY_PATH.findall(text)))[:10]
    # tick labels are text, plain words: no 10⁻¹, no ×10⁰, no mathtext
    ticks = [t for ts in charts.values() for t in ts]
    assert len(charts) == reports["default"]["images"] >= 10 and len(ticks) > 200
    assert not [t for t in ticks if SCIENTIFIC.search(t)], [t for t in ticks if SCIENTIFIC.search(t)][:10]
    assert "<tspan" not in "".join(re.findall(r"<text\b.*?</text>", dom, re.S))  # mathtext draws 10^x as tspans
    # a currency on money figures: the cards, the headline answer, the budget table, the money axes
    assert all(v.startswith("$") for v in re.findall(r'<div class="v">(.*?)</div>', dom)), dom[:0]
    assert re.search(r"Expected 2027–2029 spend is \$[\d.]+[kM]; there is a 5 % chance it exceeds \$[\d.]+[kM]\.",
                     text)
    yearly = dom.split("Yearly spend and the budget</h2>", 1)[1].split("</table>", 1)[0]
    cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", yearly)]
    assert cells and all(c.startswith("$") or c.endswith("%") for c in cells), cells
    for name in ("fan chart of monthly spend", "histograms of yearly spend", "spend by business unit and by pool",
                 "total spend by strategy", "tornado of input swings", "NPV of savings by purchase month"):
        nums = [t for t in charts[name] if NUMERIC.match(t) and not DATE.match(t)]
        if name == "NPV of savings by purchase month":  # its x axis counts months
            nums = [t for t in nums if not re.fullmatch(r"\d+", t)]
        assert nums and all("$" in t or "%" in t for t in nums), (name, nums)
    assert any(t.startswith("$") for t in charts["histograms of yearly spend"])
    assert "share of simulated futures" in charts["histograms of yearly spend"]  # the histograms' y axis
    # shares: a small share that is not zero never reads "0 %"
    cb = pd.read_csv(d / "default_chargeback.csv")
    chargeback = dom.split("Chargeback (showback)", 1)[1].split("</table>", 1)[0]
    shown = [html.unescape(c) for c in re.findall(r"<td>([^<]*%)</td>", chargeback)]
    assert len(shown) == len(cb) and ("0 %" not in shown or (cb["share"] == 0).any()), shown
    # a legend lists only what is drawn: no "efficient frontier" entry without a frontier line
    commit = pd.read_csv(d / "default_commit_options.csv")
    if (commit["on frontier"] == "yes").sum() < 2:
        assert "efficient frontier" not in charts["commit options frontier and utilisation"]
    # strategy names whole (wrapped, never cut)
    for s in pd.read_csv(d / "default_strategies.csv")["strategy"]:
        assert s in "".join(charts["total spend by strategy"]), s
    # one strategy throughout: the GPU replay is the report's strategy, and every section opens with its answer
    assert reports["default"]["strategy"] == GPU_STRATEGY and reports["default"]["best_purchase_month"] is not None
    assert f"Under {GPU_STRATEGY}, ordering the GPUs" in text or f"Under {GPU_STRATEGY}, no purchase month" in text
    assert "AI factory" in text and "Strategies side by side" in text and "Value and outcomes" in text
    assert not _answers_follow_headings(dom), _answers_follow_headings(dom)
    _not_blank(shot)


def test_api_only_report_has_no_gpu_section(reports, tmp_path):
    dom, shot = _render(reports["dir"] / "api.html", tmp_path)
    heads = re.findall(r"<h2>(.*?)</h2>", dom)
    assert heads and not [h for h in heads if re.search(r"GPU|factory|commit|Strategies", h)], heads
    assert "tco_cost_curves" not in " ".join(reports["api"]["files"])
    text = _visible_text(dom)
    assert not KEY_PATH.findall(text) and "$" in text
    assert not [t for ts in _charts(dom).values() for t in ts if SCIENTIFIC.search(t)]
    assert not _answers_follow_headings(dom)
    _not_blank(shot)


def test_report_strategy_is_checked_and_used(reports, capsys, tmp_path):
    d = reports["dir"]
    m = refusal(["report", str(d / "default"), "-o", str(tmp_path / "r.html"), "--strategy", "nope"], capsys,
                "usage")
    assert m == ["tokensim: --strategy: unknown strategy 'nope'; the results hold: pay_as_you_go, commit_60k_month, "
                 "commit_120k_month, agents_on_owned_h200"]
    assert not (tmp_path / "r.html").exists()
    page = (d / "default.html").read_text()
    assert f"strategy {GPU_STRATEGY} ·" in page  # the header, and the replay above, name the one strategy
    t = pd.read_csv(d / "default_strategies.csv")
    assert list(t["strategy"]) == ["pay_as_you_go", "commit_60k_month", "commit_120k_month", GPU_STRATEGY]
    assert {"mean", "p5", "p95", "P(some year over budget)", "net value"} <= set(t.columns)

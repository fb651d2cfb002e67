"""Fit the default workload archetypes to public production traces (issue 3, item 5).

Reads only the trace copies in ``calibration/traces/`` (provenance, licences and checksums in
``calibration/traces/SOURCE.md``) and writes, for each archetype, ``calibration/workloads/<name>.yaml``
plus a quantile CSV ``calibration/workloads/<name>_quantiles.csv`` usable by ``{dist: empirical}``:

====================  =============================================================================
archetype             data
====================  =============================================================================
chat                  per-call input/output tokens, Azure LLM 2023 conversation + ShareGPT lengths
coding                per-call input/output tokens, Azure LLM 2023 code (completion service)
long_context_chat     per-call input/output tokens, Mooncake (Kimi) conversation; prefix-cache reuse
                      replayed through ``sim.demand.caches`` (``calibration/prefix_reuse.py``)
reasoning             ServeGen deepseek-r1 published quantiles (input, output incl. reasoning,
                      reasoning share of output)
agent                 documented GitHub Copilot coding-agent totals (no raw data: constants below)
hourly_shape          ServeGen hour-of-day profiles, cross-checked with ``profiles.yaml``
====================  =============================================================================

Method for every token length (per call):

- lognormal by maximum likelihood on ln(tokens) of the positive values (mu = mean, sigma = sd with
  ddof 0), given in the scenario language's form ``{dist: lognormal, median: e^mu, p90: e^(mu+z90 sigma)}``;
- KS distance D of that lognormal to the data (``scipy.stats.kstest``);
- empirical quantiles: 21 points q0, q0.05, ..., q1 (``numpy.quantile(method="inverted_cdf")``, i.e.
  real token counts); the CSV holds 1,000 equal-probability slices of the distribution, each by its
  mean (so an ``empirical`` spec resamples the trace's distribution with 0.1% resolution in
  probability and keeps its mean), the YAML a 20-slice ``discrete`` spec built the same way;
- recommendation: ``lognormal`` if D < 0.08, else ``empirical`` (issue 3: "prefer empirical
  quantiles where a lognormal fits poorly").

ServeGen publishes quantiles, not rows: its distribution is rebuilt by interpolating ln(tokens)
linearly in p between the published points (q0.001 ... q0.999 and the max; flat below q0.001); the
lognormal is the maximum-likelihood fit to that rebuilt distribution (mean and sd of ln Q(p) over p),
and D is given as an estimate against the rebuilt CDF together with exact bounds that hold for any
distribution with those published quantiles.

Run from the repository root: ``.venv/bin/python calibration/fit_workloads.py`` (about 5 s).
``tests/test_calibration.py`` re-runs ``fit_all()`` and checks the written files are current.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TRACES = HERE / "traces"
OUT = HERE / "workloads"
if str(HERE) not in sys.path:  # prefix_reuse.py sits next to this file
    sys.path.insert(0, str(HERE))

Z90 = float(stats.norm.ppf(0.9))
KS_THRESHOLD = 0.08
#: a field recommended "lognormal" must have its fitted median and p90 within this relative error
LOGNORMAL_TOL = 0.15
#: the recommended empirical spec must reproduce the trace median and p90 within this relative error
EMPIRICAL_TOL = 0.02
QUANTILE_GRID = [round(0.05 * i, 2) for i in range(21)]
N_EMPIRICAL = 1000
N_DISCRETE = 20
#: ``file`` of the empirical specs is relative to a scenario in ``scenarios/`` (the loader resolves
#: it against the scenario file's folder)
SPEC_DIR = "../calibration/workloads"
PROVENANCE = "calibration/traces/SOURCE.md"

METHOD = {
    "lognormal": "maximum likelihood on ln(tokens) of positive values (mu = mean, sigma = sd, ddof 0); "
                 "median = e^mu, p90 = e^(mu + 1.2816 sigma)",
    "ks_D": "Kolmogorov-Smirnov distance of the fitted lognormal to the data (scipy.stats.kstest)",
    "quantiles_21": "q0, q0.05, ..., q1 by numpy.quantile(method='inverted_cdf') (actual token counts)",
    "empirical_csv": f"{N_EMPIRICAL} equal-probability slices of the distribution, each by its mean (keeps "
                     "the mean; slice i lies between q(i/1000) and q((i+1)/1000))",
    "discrete": f"{N_DISCRETE} equal-probability slices, each by its mean, equal weights (coarse but keeps the mean)",
    "recommendation": f"lognormal if ks_D < {KS_THRESHOLD}, else empirical",
}
TOLERANCES = {"ks_threshold": KS_THRESHOLD, "lognormal_median_p90_rel": LOGNORMAL_TOL,
              "empirical_median_p90_rel": EMPIRICAL_TOL}

SOURCES = {
    "azure_conv_2023": {
        "file": "calibration/traces/azure_conv_2023.csv",
        "columns": {"input_tokens": "ContextTokens", "output_tokens": "GeneratedTokens"},
        "provenance": f"{PROVENANCE} § azure_conv_2023.csv",
        "origin": "Azure/AzurePublicDataset data/AzureLLMInferenceTrace_conv.csv @ b469a113 (CC-BY-4.0; "
                  "Patel et al., Splitwise, ISCA 2024)",
        "what": "19,366 requests to a production Azure LLM conversation service, 2023-11-16 18:15-19:14",
    },
    "sharegpt": {
        "file": "calibration/traces/sharegpt_lengths.csv",
        "columns": {"input_tokens": "num_prefill_tokens", "output_tokens": "num_decode_tokens"},
        "provenance": f"{PROVENANCE} § sharegpt_lengths.csv",
        "origin": "microsoft/sarathi-serve data/processed_traces/sharegpt_8k_filtered_stats_llama2_tokenizer.csv "
                  "@ 72339db5 (Apache-2.0), columns 1-2",
        "what": "30,731 ShareGPT requests (Llama-2 tokenizer), filtered to <= ~8k tokens; output capped at 1,024",
    },
    "azure_code_2023": {
        "file": "calibration/traces/azure_code_2023.csv",
        "columns": {"input_tokens": "ContextTokens", "output_tokens": "GeneratedTokens"},
        "provenance": f"{PROVENANCE} § azure_code_2023.csv",
        "origin": "Azure/AzurePublicDataset data/AzureLLMInferenceTrace_code.csv @ b469a113 (CC-BY-4.0; "
                  "Patel et al., Splitwise, ISCA 2024)",
        "what": "8,819 requests to a production Azure coding-assistant service, 2023-11-16 18:17-19:14",
    },
    "mooncake_conversation": {
        "file": "calibration/traces/mooncake_conversation_trace.jsonl.gz",
        "columns": {"input_tokens": "input_length", "output_tokens": "output_length"},
        "provenance": f"{PROVENANCE} § mooncake_conversation_trace.jsonl.gz",
        "origin": "kvcache-ai/Mooncake FAST25-release/traces/conversation_trace.jsonl @ 3b5a5941 (Apache-2.0; "
                  "Qin et al., Mooncake, FAST 2025)",
        "what": "12,031 requests, one hour of Kimi's conversation service (long-context assistant)",
    },
    "servegen_deepseek_r1": {
        "file": "calibration/traces/servegen_length_quantiles.csv",
        "columns": {"input_tokens": "deepseek-r1/input_tokens", "output_tokens": "deepseek-r1/output_tokens",
                    "reason_ratio": "deepseek-r1/reason_ratio"},
        "provenance": f"{PROVENANCE} § servegen_length_quantiles.csv",
        "origin": "alibaba/ServeGen data/reason/deepseek-r1 @ f891d118 (Apache-2.0; Xiang et al., arXiv 2505.09999), "
                  "pooled over 73 clients, 1 day",
        "what": "published quantiles q0.001..q0.999, mean and max of per-request token lengths (no rows)",
    },
    "servegen_rate_10min": {
        "file": "calibration/traces/servegen_rate_10min.csv",
        "provenance": f"{PROVENANCE} § servegen_rate_10min.csv",
        "origin": "alibaba/ServeGen data/ @ f891d118 (Apache-2.0), summed over clients per 10-min window",
        "what": "request rate per 10-minute window: m-large, m-small (14 days), deepseek-r1, mm-image (1 day)",
    },
    "copilot_coding_agent_2026": {
        "file": None,
        "provenance": "shared/research/traces.md §4.3; shared/research/trace_stats.json "
                      "documented_only.github_copilot_coding_agent_2026",
        "origin": "Azure/AzurePublicDataset GitHubCopilotCodingAgentDataset2026.md, "
                  "analysis/GitHubCopilotCodingAgents/DATASET_CARD.md + notebook output (CC-BY-4.0)",
        "what": "7 days of June 2026, uniform sample of non-enterprise Copilot coding-agent sessions; totals only "
                "(the ~3 GB raw shards are release assets and were not brought)",
    },
}

#: GitHub Copilot coding agent 2026: documented totals (traces.md §4.3, dataset card + notebook output).
COPILOT_TOTALS = {
    "sessions": 301_026,
    "user_turns": 1_189_581,
    "llm_calls": 9_310_255,
    "tool_calls": 8_681_190,
    "prompt_tokens": 631_401_670_144,
    "completion_tokens": 4_914_633_421,
    "cached_prompt_tokens": 540_950_119_440,
}
#: Other documented agent numbers (traces.md §4.3), for cross-checks only.
AGENT_CROSS_CHECKS = {
    "mooncake_toolagent": {"source": "kvcache-ai/Mooncake FAST25-release/README.md (traces.md §4.3)",
                           "requests_per_hour": 23_608, "mean_input_tokens": 8_596, "mean_output_tokens": 182},
    "mini_swe_agent_swebench": {"source": "gruckion/mini-swe-agent results.md, 500 SWE-bench tasks (traces.md §4.3)",
                                "api_calls_per_task": {"claude_4_5_opus": 38.0, "gemini_3_pro_preview": 40.3}},
}
#: Assumed system prompt + tool definitions + task prompt of an agent (scenario defaults 800 + 600,
#: no tools); not documented by the dataset, used only to derive ``tool_result_tokens``.
AGENT_ASSUMED_PREFIX = 1400.0


# ---- helpers -------------------------------------------------------------------------------------

def _r(x, nd: int = 4):
    return None if x is None else round(float(x), nd)


def _tok(x):
    return round(float(x), 1)


def _rel(a: float, b: float) -> float:
    return round((float(a) - float(b)) / float(b), 4) + 0.0  # + 0.0: no "-0.0"


def _q(x: np.ndarray, p) -> np.ndarray:
    return np.quantile(x, p, method="inverted_cdf")


def bin_means(x: np.ndarray, nbins: int) -> np.ndarray:
    """Means of ``nbins`` equal-probability slices of the empirical distribution of ``x`` (exact).

    Slice i covers p in [i/nbins, (i+1)/nbins) of the quantile function; the slice means average to
    the sample mean exactly and each lies between the quantiles at the slice's edges.
    """
    v = np.sort(np.asarray(x, float))
    n = v.size
    cs = np.concatenate([[0.0], np.cumsum(v)])

    def integral(p):  # n * integral of Q(u) du over [0, p]
        t = np.asarray(p, float) * n
        k = np.minimum(np.floor(t).astype(np.int64), n)
        return cs[k] + (t - k) * v[np.minimum(k, n - 1)]

    return np.diff(integral(np.linspace(0.0, 1.0, nbins + 1))) * nbins / n


def lognormal_mle(x: np.ndarray) -> tuple[float, float]:
    """(mu, sigma) of ln(x) over the positive values."""
    ln = np.log(x[x > 0])
    return float(ln.mean()), float(ln.std())


def ks_lognormal(x: np.ndarray, mu: float, sigma: float) -> float:
    return float(stats.kstest(x[x > 0], "lognorm", args=(sigma, 0.0, math.exp(mu))).statistic)


def _lognormal_block(mu: float, sigma: float) -> dict:
    return {"mu": _r(mu), "sigma": _r(sigma), "median": _tok(math.exp(mu)),
            "p90": _tok(math.exp(mu + Z90 * sigma)), "mean": _tok(math.exp(mu + 0.5 * sigma * sigma))}


def _specs(name: str, column: str, ln: dict, discrete: list[float], recommendation: str) -> dict:
    spec_ln = {"dist": "lognormal", "median": ln["median"], "p90": ln["p90"]}
    spec_emp = {"dist": "empirical", "file": f"{SPEC_DIR}/{name}_quantiles.csv", "column": column}
    return {"spec": spec_ln if recommendation == "lognormal" else spec_emp,
            "spec_lognormal": spec_ln, "spec_empirical": spec_emp,
            "spec_discrete": {"dist": "discrete", "values": discrete}}


def fit_sample(x, source: str, field: str, archetype: str) -> tuple[dict, np.ndarray]:
    """Fit one per-call token length observed row by row; returns (YAML block, CSV column)."""
    x = np.asarray(x, dtype=float)
    mu, sigma = lognormal_mle(x)
    ks = ks_lognormal(x, mu, sigma)
    ln = _lognormal_block(mu, sigma)
    med, p90 = (float(v) for v in _q(x, [0.5, 0.9]))
    pts = np.round(bin_means(x, N_EMPIRICAL), 1)
    disc = [_tok(v) for v in bin_means(x, N_DISCRETE)]
    rec = "lognormal" if ks < KS_THRESHOLD else "empirical"
    column = f"{source}_{field}"
    s = SOURCES[source]
    block = {
        "source": {"file": s["file"], "column": s["columns"][field], "provenance": s["provenance"]},
        "n": int(x.size),
        "zero_share": _r(np.mean(x <= 0)),
        "trace": {"mean": _tok(x.mean()), "median": _tok(med), "p90": _tok(p90),
                  "p99": _tok(_q(x, 0.99)), "min": _tok(x.min()), "max": _tok(x.max())},
        "lognormal_mle": ln,
        "lognormal_rel_error": {"median": _rel(ln["median"], med), "p90": _rel(ln["p90"], p90),
                                "mean": _rel(ln["mean"], x.mean())},
        "ks_D": _r(ks),
        "recommendation": rec,
        "quantiles_21": [_tok(v) for v in _q(x, QUANTILE_GRID)],
        "empirical": {"column": column, "points": N_EMPIRICAL, "mean": _tok(pts.mean()),
                      "mean_rel_error": _rel(pts.mean(), x.mean()),
                      "ks_D_vs_trace": _r(stats.ks_2samp(pts, x).statistic)},
        "discrete_mean_rel_error": _rel(np.mean(disc), x.mean()),
        **_specs(archetype, column, ln, disc, rec),
    }
    return block, pts


# ---- distributions published as quantiles (ServeGen) -------------------------------------------

def quantile_function(knots_p, knots_q):
    """Q(p) rebuilt from published quantiles: ln Q linear in p between knots, flat below the first."""
    kp = np.asarray(knots_p, float)
    lq = np.log(np.asarray(knots_q, float))

    def Q(p):
        return np.exp(np.interp(np.asarray(p, float), kp, lq))
    return Q


def ks_bounds(knots_p, knots_q, cdf) -> tuple[float, float]:
    """Bounds on sup|ECDF - F| valid for any distribution with these quantiles (q_i at p_i; last = max)."""
    p = np.asarray(knots_p, float)
    q = np.asarray(knots_q, float)
    F = cdf(q)
    lower = float(np.max(np.abs(F - p)))
    # on [q_i, q_{i+1}): ECDF in [p_i, p_{i+1}], F in [F_i, F_{i+1}]; below q_0: ECDF in [0, p_0]
    gaps = np.maximum(F[1:] - p[:-1], p[1:] - F[:-1])
    upper = float(max(gaps.max(), F[0], p[0], 1.0 - F[-1]))
    return lower, upper


def fit_quantiles(row: pd.Series, source: str, field: str, archetype: str,
                  scale: float = 1.0) -> tuple[dict, np.ndarray]:
    """Fit one token length published as quantiles (ServeGen); ``scale`` multiplies every value."""
    pcols = [c for c in row.index if c.startswith("q")]
    kp = [float(c[1:]) for c in pcols] + [1.0]
    kq = [float(row[c]) * scale for c in pcols] + [float(row["max"]) * scale]
    Q = quantile_function(kp, kq)
    u = (np.arange(200_000) + 0.5) / 200_000
    lnq = np.log(Q(u))
    mu, sigma = float(lnq.mean()), float(lnq.std())
    cdf = stats.lognorm(sigma, 0.0, math.exp(mu)).cdf
    ks_est = float(np.max(np.abs(cdf(Q(u)) - u)))
    lo, hi = ks_bounds(kp, kq, cdf)
    ln = _lognormal_block(mu, sigma)
    med, p90, mean = float(row["q0.5"]) * scale, float(row["q0.9"]) * scale, float(row["mean"]) * scale
    qu = Q(u)  # slice means of the rebuilt distribution, on the same fine grid
    pts = np.round(qu.reshape(N_EMPIRICAL, -1).mean(axis=1), 1)
    disc = [_tok(v) for v in qu.reshape(N_DISCRETE, -1).mean(axis=1)]
    rec = "lognormal" if hi < KS_THRESHOLD else "empirical"
    column = f"{source}_{field}"
    s = SOURCES[source]
    block = {
        "source": {"file": s["file"], "column": s["columns"][field.replace("visible_", "")],
                   "provenance": s["provenance"]},
        "n": None,
        "trace": {"mean": _tok(mean), "median": _tok(med), "p90": _tok(p90), "p99": _tok(row["q0.99"] * scale),
                  "min": None, "max": _tok(row["max"] * scale)},
        "lognormal_mle": ln,
        "lognormal_rel_error": {"median": _rel(ln["median"], med), "p90": _rel(ln["p90"], p90),
                                "mean": _rel(ln["mean"], mean)},
        "ks_D": _r(ks_est),
        "ks_D_bounds": [_r(lo), _r(hi)],
        "recommendation": rec,
        "quantiles_21": [_tok(v) for v in Q(QUANTILE_GRID)],
        "empirical": {"column": column, "points": N_EMPIRICAL, "mean": _tok(pts.mean()),
                      "mean_rel_error": _rel(pts.mean(), mean), "ks_D_vs_trace": None},
        "discrete_mean_rel_error": _rel(np.mean(disc), mean),
        **_specs(archetype, column, ln, disc, rec),
        "note": "quantiles only: distribution rebuilt by log-linear interpolation of the published quantiles "
                "(q0 below is q0.001, the minimum is not published); ks_D is against that rebuilt CDF, "
                "ks_D_bounds hold for any distribution with the published quantiles; recommendation uses the "
                "upper bound",
    }
    return block, pts


# ---- loaders -------------------------------------------------------------------------------------

def _load_csv_source(source: str) -> dict[str, np.ndarray]:
    s = SOURCES[source]
    frame = pd.read_csv(REPO / s["file"])
    return {f: frame[c].to_numpy(float) for f, c in s["columns"].items()}


def _load_mooncake():
    import prefix_reuse

    reqs = prefix_reuse.load_trace(REPO / SOURCES["mooncake_conversation"]["file"])
    return reqs, {"input_tokens": np.array([r.input_tokens for r in reqs], float),
                  "output_tokens": np.array([r.output_tokens for r in reqs], float)}


def _servegen_row(model: str, field: str) -> pd.Series:
    q = pd.read_csv(REPO / SOURCES["servegen_deepseek_r1"]["file"])
    return q[(q.model == model) & (q.field == field)].iloc[0]


def _header(archetype: str, description: str, sources: list[str]) -> dict:
    return {"archetype": archetype, "description": description,
            "generated_by": "calibration/fit_workloads.py (do not edit; tests/test_calibration.py checks it is current)",
            "method": METHOD, "tolerances": TOLERANCES, "quantile_grid": QUANTILE_GRID,
            "sources": {k: {kk: vv for kk, vv in SOURCES[k].items() if kk != "columns"} for k in sources}}


def _length_archetype(archetype: str, description: str, data: dict[str, dict[str, np.ndarray]]):
    doc = _header(archetype, description, list(data))
    fits, csv = {}, {}
    for source, cols in data.items():
        fits[source] = {}
        for field, x in cols.items():
            block, pts = fit_sample(x, source, field, archetype)
            fits[source][field] = block
            csv[block["empirical"]["column"]] = pts
    doc["fits"] = fits
    return doc, pd.DataFrame(csv)


# ---- archetypes ----------------------------------------------------------------------------------

_INPUT_NOTE = ("per-call input = the whole prompt of one call (system prompt + history + user message + "
               "context). It is not a single scenario field: use it to choose system_prompt_tokens / "
               "user_message_tokens so that the composed prompt matches, or as the prompt of one-call sessions")


def fit_chat():
    doc, csv = _length_archetype(
        "chat", "Interactive chat: per-call prompt and output tokens of production/user chat traffic.",
        {"azure_conv_2023": _load_csv_source("azure_conv_2023"), "sharegpt": _load_csv_source("sharegpt")})
    f = doc["fits"]["azure_conv_2023"]
    doc["scenario_fields"] = {
        "default_source": "azure_conv_2023 (production traffic; ShareGPT is user-shared ChatGPT chats, "
                          "filtered to <= 8k tokens with output capped at 1,024: a cross-check)",
        "output_tokens": {"from": "azure_conv_2023/output_tokens", "spec": f["output_tokens"]["spec"]},
        "per_call_input_tokens": {"from": "azure_conv_2023/input_tokens", "spec": f["input_tokens"]["spec"],
                                  "note": _INPUT_NOTE},
    }
    return doc, csv


def fit_coding():
    doc, csv = _length_archetype(
        "coding", "Coding assistant (completion-style): long prompt, very short output, one call per request.",
        {"azure_code_2023": _load_csv_source("azure_code_2023")})
    f = doc["fits"]["azure_code_2023"]
    doc["scenario_fields"] = {
        "output_tokens": {"from": "azure_code_2023/output_tokens", "spec": f["output_tokens"]["spec"]},
        "per_call_input_tokens": {"from": "azure_code_2023/input_tokens", "spec": f["input_tokens"]["spec"],
                                  "note": _INPUT_NOTE + " (for completions: turns 1, the prompt as "
                                          "user_message_tokens plus system_prompt_tokens)"},
    }
    return doc, csv


def fit_long_context_chat():
    import prefix_reuse

    reqs, cols = _load_mooncake()
    doc, csv = _length_archetype(
        "long_context_chat", "Long-context assistant (Kimi): multi-thousand-token prompts with heavy prefix reuse.",
        {"mooncake_conversation": cols})
    f = doc["fits"]["mooncake_conversation"]
    doc["scenario_fields"] = {
        "output_tokens": {"from": "mooncake_conversation/output_tokens", "spec": f["output_tokens"]["spec"]},
        "per_call_input_tokens": {"from": "mooncake_conversation/input_tokens", "spec": f["input_tokens"]["spec"],
                                  "note": _INPUT_NOTE},
    }
    doc["prefix_cache_reuse"] = {
        "method": "calibration/prefix_reuse.py: requests replayed in trace order through "
                  "sim.demand.caches.PrefixCache keyed by 512-token block hash (leading run of live blocks "
                  "written by an earlier request; hits refresh the TTL; every request writes its whole prompt), "
                  "tokens read via sim.demand.caches.split_prompt",
        "reference_infinite": {**prefix_reuse.REFERENCE_INFINITE,
                               "source": "shared/research/traces.md §3.2; trace_stats.json "
                                         "mooncake_conversation.prefix_cache_reuse_upper_bound"},
        **prefix_reuse.reuse_table(reqs),
        "note": "the trace spans 59 min, so a 1 h TTL equals the infinite cache here; block 0 (512 tokens) is "
                "shared by almost every request (a common system prompt), hence the near-100% request hit share "
                "without a minimum prefix",
    }
    return doc, csv


def fit_reasoning():
    doc = _header("reasoning", "Reasoning model (DeepSeek-R1 on Alibaba Bailian): output includes reasoning tokens.",
                  ["servegen_deepseek_r1"])
    fits, csv = {}, {}
    ratio = _servegen_row("deepseek-r1", "reason_ratio")
    share = float(ratio["mean"])
    for field, src_field, scale in (("input_tokens", "input_tokens", 1.0),
                                    ("output_tokens", "output_tokens", 1.0),
                                    ("visible_output_tokens", "output_tokens", 1.0 - share)):
        block, pts = fit_quantiles(_servegen_row("deepseek-r1", src_field), "servegen_deepseek_r1", field,
                                   "reasoning", scale)
        if field == "visible_output_tokens":
            block["derived"] = (f"output_tokens (incl. reasoning) x (1 - mean reasoning share {share}); assumes the "
                                "reasoning share is independent of output length (ServeGen publishes marginals only)")
        fits[field] = block
        csv[block["empirical"]["column"]] = pts
    pcols = [c for c in ratio.index if c.startswith("q")]
    fits["reason_ratio"] = {
        "source": {"file": SOURCES["servegen_deepseek_r1"]["file"], "column": "deepseek-r1/reason_ratio",
                   "provenance": SOURCES["servegen_deepseek_r1"]["provenance"]},
        "meaning": "reasoning tokens / output tokens per request",
        "mean": _r(share), "median": _r(ratio["q0.5"]), "p90": _r(ratio["q0.9"]),
        "quantiles": {c: _r(ratio[c]) for c in pcols},
    }
    doc["fits"] = {"servegen_deepseek_r1": fits}
    doc["scenario_fields"] = {
        "output_tokens": {"from": "servegen_deepseek_r1/visible_output_tokens",
                          "spec": fits["visible_output_tokens"]["spec"],
                          "note": "visible output; billed output = output_tokens x (1 + reasoning_multiplier)"},
        "reasoning_multiplier": {"value": _r(share / (1.0 - share)),
                                 "derived": f"mean reasoning share s = {share}: s / (1 - s) reasoning tokens per "
                                            "visible token, so the billed output mean equals the trace's"},
        "per_call_input_tokens": {"from": "servegen_deepseek_r1/input_tokens", "spec": fits["input_tokens"]["spec"],
                                  "note": _INPUT_NOTE},
    }
    doc["caveats"] = ["one day, 73 API clients; pooled client PMFs weighted by each client's requests",
                      "max output 32,768 is the max-token limit"]
    return doc, pd.DataFrame(csv)


def agent_derived(totals: dict = COPILOT_TOTALS, prefix: float = AGENT_ASSUMED_PREFIX) -> dict:
    """Per-call and per-session figures from the documented totals, and matching AgentWorkload fields."""
    t = totals
    calls_per_session = t["llm_calls"] / t["sessions"]
    prompt_per_call = t["prompt_tokens"] / t["llm_calls"]
    completion_per_call = t["completion_tokens"] / t["llm_calls"]
    steps = max(1, int(round(calls_per_session)))
    # sim.demand.sessions.agent_calls: prompt of step s = prefix + (s - 1)(output + tool_result), so the
    # mean over a task of n steps is prefix + (n - 1)/2 (output + tool_result)
    per_step = (prompt_per_call - prefix) / ((steps - 1) / 2.0)
    tool_result = per_step - completion_per_call
    s = np.arange(1, steps + 1, dtype=float)
    prompts = prefix + (s - 1) * per_step
    reusable = np.where(s >= 2, prefix + (s - 2) * per_step, 0.0)  # session prefix warm, shared prefix cold
    model_share = float(reusable.sum() / prompts.sum())
    observed = t["cached_prompt_tokens"] / t["prompt_tokens"]
    return {
        "documented": {
            "turns_per_session": _r(t["user_turns"] / t["sessions"], 3),
            "llm_calls_per_turn": _r(t["llm_calls"] / t["user_turns"], 3),
            "llm_calls_per_session": _r(calls_per_session, 3),
            "tool_calls_per_llm_call": _r(t["tool_calls"] / t["llm_calls"], 3),
            "prompt_tokens_per_llm_call": _tok(prompt_per_call),
            "completion_tokens_per_llm_call": _tok(completion_per_call),
            "prompt_tokens_per_session": _tok(t["prompt_tokens"] / t["sessions"]),
            "completion_tokens_per_session": _tok(t["completion_tokens"] / t["sessions"]),
            "cached_share_of_prompt_tokens": _r(observed),
            "completion_to_prompt_ratio": _r(t["completion_tokens"] / t["prompt_tokens"], 5),
        },
        "scenario_fields": {
            "steps": steps,
            "output_tokens": _tok(completion_per_call),
            "tool_result_tokens": _tok(tool_result),
            "assumed_system_prompt_plus_tools_plus_task_tokens": prefix,
            "derivation": "task = one Copilot session (context carries over its ~4 user turns; assumption); "
                          "steps = round(LLM calls per session); output_tokens = completion per call (mean only, "
                          "no distribution published); tool_result_tokens solves mean prompt per call = prefix + "
                          "(steps - 1)/2 x (output + tool_result) (sim.demand.sessions.agent_calls) with the "
                          "assumed prefix (scenario defaults system_prompt_tokens 800 + task_prompt_tokens 600, "
                          "no tools)",
        },
        "cache_cross_check": {
            "observed_cached_share": _r(observed),
            "model_cached_share_all_steps_warm": _r(model_share),
            "implied_session_warm_probability": _r(observed / model_share),
            "step_time_s_for_observed_share_at_5m_ttl": _tok(300.0 / -math.log(1.0 - observed / model_share)),
            "note": "with every step's previous prompt still cached, the scenario's agent model reads "
                    f"{model_share:.1%} of prompt tokens from cache; Copilot observed {observed:.1%} (possible "
                    "reasons, not in the data: misses across user turns, TTL expiry, context edits). With the "
                    "default step_time_s of 8 s the session prefix is almost always warm, so a cached agent "
                    "scenario overstates caching; the implied warm probability corresponds to a mean gap of "
                    "step_time_s_for_observed_share_at_5m_ttl between steps",
        },
    }


def fit_agent():
    doc = {k: v for k, v in _header("agent", "Coding agent with a tool loop (GitHub Copilot coding agent, June 2026).",
                                    ["copilot_coding_agent_2026"]).items()
           if k not in ("method", "tolerances", "quantile_grid")}
    doc["fit"] = "none: documented totals only (no per-call rows published in git); every value below is a " \
                 "ratio of the documented totals"
    doc["documented_totals"] = dict(COPILOT_TOTALS)
    doc.update(agent_derived())
    doc["cross_checks"] = AGENT_CROSS_CHECKS
    return doc, None


def hourly_profiles(frame: pd.DataFrame) -> dict[str, list[float]]:
    """Mean rate per hour of day / mean over the 24 hours, windows flagged suspected_gap excluded."""
    out = {}
    for model, d in frame[frame.suspected_gap == 0].groupby("model", sort=False):
        h = d.groupby("hour_of_day").total_rate_rps.mean().reindex(range(24))
        out[model] = (h / h.mean()).to_list()
    return out


def fit_hourly_shape():
    frame = pd.read_csv(REPO / SOURCES["servegen_rate_10min"]["file"])
    prof = hourly_profiles(frame)
    presets = yaml.safe_load((OUT / "profiles.yaml").read_text())["presets"]
    preset = presets["servegen"]["hourly"]
    doc = {k: v for k, v in _header("hourly_shape", "Hour-of-day activity shape of cloud-API traffic (ServeGen).",
                                    ["servegen_rate_10min"]).items()
           if k not in ("method", "tolerances", "quantile_grid")}
    doc["method"] = ("mean of total_rate_rps per hour of day over the trace's days, windows with suspected_gap = 1 "
                     "excluded, divided by the mean of the 24 hourly values (so the profile averages 1.0); hour 0 = "
                     "00:00 of the ServeGen day (presumably China local time)")
    doc["profiles"] = {}
    for model, p in prof.items():
        d = frame[frame.model == model]
        doc["profiles"][model] = {
            "days": int(d.day_index.nunique()), "windows": int(len(d)),
            "gap_windows_excluded": int(d.suspected_gap.sum()),
            "hourly": [_r(v) for v in p],
            "profile_max": _r(max(p), 3), "profile_min": _r(min(p), 3),
        }
    doc["note"] = ("profile_max/min are extremes of the average day; traces.md §3.4 'peak hour / mean hour' "
                   "(e.g. 1.86 for m-large) uses every clock hour of the trace, so it includes day-to-day swings")
    doc["profiles_yaml_check"] = {
        "preset": "servegen", "compared_with": "m-large",
        "max_abs_diff": _r(np.max(np.abs(np.asarray(preset, float) - np.asarray(prof["m-large"])))),
        "note": "profiles.yaml stores the m-large profile rounded to 3 decimals",
    }
    doc["caveats"] = ["multi-tenant cloud-API traffic: much flatter than an office-hours population; use as an "
                      "'API/platform' shape, not an office diurnal curve (traces.md §3.4)",
                      "deepseek-r1 and mm-image cover one day only"]
    return doc, None


ARCHETYPES = {
    "chat": fit_chat,
    "coding": fit_coding,
    "long_context_chat": fit_long_context_chat,
    "reasoning": fit_reasoning,
    "agent": fit_agent,
    "hourly_shape": fit_hourly_shape,
}


def fit_all() -> dict[str, tuple[dict, pd.DataFrame | None]]:
    return {name: fn() for name, fn in ARCHETYPES.items()}


def yaml_path(name: str) -> Path:
    return OUT / f"{name}.yaml"


def csv_path(name: str) -> Path:
    return OUT / f"{name}_quantiles.csv"


class _Dumper(yaml.SafeDumper):
    """No anchors/aliases; lists of plain numbers on one line."""

    def ignore_aliases(self, data):
        return True


def _represent_list(dumper, data):
    flow = all(isinstance(v, (int, float)) or v is None for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump_yaml(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def write_all(results: dict | None = None) -> list[Path]:
    results = fit_all() if results is None else results
    written = []
    for name, (doc, csv) in results.items():
        text = (f"# Fitted workload archetype '{name}'. Generated by calibration/fit_workloads.py; do not edit.\n"
                "# Sources and licences: calibration/traces/SOURCE.md. Summary: calibration/README.md.\n"
                + dump_yaml(doc))
        yaml_path(name).write_text(text, encoding="utf-8")
        written.append(yaml_path(name))
        if csv is not None:
            csv.to_csv(csv_path(name), index=False, float_format="%.1f", lineterminator="\n")
            written.append(csv_path(name))
    return written


def summary_rows(results: dict) -> list[tuple]:
    """(archetype, source, field, lognormal median/p90, ks_D, recommendation) for the README table."""
    rows = []
    for name, (doc, _csv) in results.items():
        for source, fields in (doc.get("fits") or {}).items():
            for field, b in fields.items():
                if "lognormal_mle" in b:
                    rows.append((name, source, field, b["trace"]["median"], b["trace"]["p90"],
                                 b["lognormal_mle"]["median"], b["lognormal_mle"]["p90"], b["ks_D"],
                                 b.get("ks_D_bounds"), b["recommendation"]))
    return rows


def main() -> None:
    results = fit_all()
    for p in write_all(results):
        print(f"wrote {p.relative_to(REPO)}")
    print(f"\n{'archetype':<18}{'source/field':<44}{'median':>9}{'p90':>9}{'LN med':>9}{'LN p90':>9}"
          f"{'KS D':>8}  recommendation")
    for a, s, f, med, p90, lmed, lp90, ks, bounds, rec in summary_rows(results):
        b = f" [{bounds[0]}, {bounds[1]}]" if bounds else ""
        print(f"{a:<18}{s + '/' + f:<44}{med:>9.0f}{p90:>9.0f}{lmed:>9.0f}{lp90:>9.0f}{ks:>8.3f}  {rec}{b}")


if __name__ == "__main__":
    main()

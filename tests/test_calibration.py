"""Calibrated defaults (issue 3, item 5): fitted archetypes, prefix-cache reuse, hourly shape.

Checks that ``calibration/workloads/*.yaml`` are what ``calibration/fit_workloads.py`` produces from the
trace copies in ``calibration/traces/``, that the recorded fit quality is what an independent
recomputation gives, that the recommended specs (built through ``sim.scenario.distributions``)
reproduce the traces' median and p90, that replaying the Mooncake trace through the project's
prompt-cache model (``sim.demand.caches``) reproduces the published 37.4% prefix reuse, and that
the ServeGen hourly preset in ``profiles.yaml`` is the published profile.

Cross-checks against ``calibration/reference/trace_stats.json`` (a copy of the research notes'
independently computed trace statistics, ``shared/research/trace_stats.json``) run on every clone.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import TypeAdapter
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
CAL = REPO / "calibration"
sys.path.insert(0, str(CAL))

import fit_workloads as fw  # noqa: E402
import prefix_reuse as pr  # noqa: E402

from sim.demand.sessions import AgentParams, CacheParams, agent_calls  # noqa: E402
from sim.scenario.distributions import Distribution  # noqa: E402

TRACE_STATS = REPO / "calibration" / "reference" / "trace_stats.json"
#: fit source -> trace_stats.json key, for the row-level traces
TRACE_STATS_KEY = {"azure_conv_2023": "azure2023_conv", "azure_code_2023": "azure2023_code",
                   "sharegpt": "sharegpt_lengths", "mooncake_conversation": "mooncake_conversation"}
ROW_ARCHETYPES = ("chat", "coding", "long_context_chat")


@pytest.fixture(scope="module")
def fitted():
    return fw.fit_all()


@pytest.fixture(scope="module")
def stored():
    return {name: yaml.safe_load(fw.yaml_path(name).read_text(encoding="utf-8")) for name in fw.ARCHETYPES}


@pytest.fixture(scope="module")
def mooncake():
    return pr.load_trace()


@pytest.fixture(scope="module")
def trace_stats():
    return json.loads(TRACE_STATS.read_text())


def _raw(source: str, field: str, mooncake) -> np.ndarray:
    s = fw.SOURCES[source]
    if source == "mooncake_conversation":
        attr = {"input_tokens": "input_tokens", "output_tokens": "output_tokens"}[field]
        return np.array([getattr(r, attr) for r in mooncake], float)
    return pd.read_csv(REPO / s["file"])[s["columns"][field]].to_numpy(float)


def _row_fits(stored):
    for name in ROW_ARCHETYPES:
        for source, fields in stored[name]["fits"].items():
            for field, block in fields.items():
                yield name, source, field, block


def _all_length_fits(stored):
    for name in ROW_ARCHETYPES + ("reasoning",):
        for source, fields in stored[name]["fits"].items():
            for field, block in fields.items():
                if "lognormal_mle" in block:
                    yield name, source, field, block


def _build(spec: dict):
    return TypeAdapter(Distribution).validate_python(spec, context={"base_dir": REPO / "scenarios"})


# ---- the stored files are current --------------------------------------------------------------

def test_yaml_files_are_current(fitted, stored):
    for name, (doc, _csv) in fitted.items():
        assert stored[name] == doc, f"{fw.yaml_path(name)} is stale: re-run calibration/fit_workloads.py"


def test_quantile_csvs_are_current(fitted):
    for name, (_doc, csv) in fitted.items():
        if csv is None:
            continue
        on_disk = pd.read_csv(fw.csv_path(name))
        assert list(on_disk.columns) == list(csv.columns)
        assert len(on_disk) == fw.N_EMPIRICAL
        np.testing.assert_allclose(on_disk.to_numpy(float), csv.to_numpy(float), rtol=0, atol=0.051,
                                   err_msg=f"{fw.csv_path(name)} is stale")


def test_trace_copies_match_source_md_checksums():
    source_md = (CAL / "traces" / "SOURCE.md").read_text(encoding="utf-8")
    files = sorted({REPO / s["file"] for s in fw.SOURCES.values() if s.get("file")})
    assert {p.name for p in files} == {"azure_conv_2023.csv", "azure_code_2023.csv", "sharegpt_lengths.csv",
                                       "mooncake_conversation_trace.jsonl.gz", "servegen_length_quantiles.csv",
                                       "servegen_rate_10min.csv"}
    for p in files:
        assert p.parent == CAL / "traces" and p.exists(), p
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        assert digest in source_md, f"sha256 of {p.name} not recorded in calibration/traces/SOURCE.md"
        assert f"## {p.name}" in source_md, f"{p.name} has no section in SOURCE.md"


# ---- fit quality is what an independent recomputation gives -----------------------------------

def test_row_trace_fits_recomputed(stored, mooncake):
    for _name, source, field, b in _row_fits(stored):
        x = _raw(source, field, mooncake)
        ln = np.log(x[x > 0])
        mu, sigma = ln.mean(), ln.std()
        assert b["lognormal_mle"]["mu"] == pytest.approx(mu, abs=1e-4)
        assert b["lognormal_mle"]["sigma"] == pytest.approx(sigma, abs=1e-4)
        ks = stats.kstest(x, stats.lognorm(sigma, 0, math.exp(mu)).cdf).statistic
        assert b["ks_D"] == pytest.approx(ks, abs=1e-4), (source, field)
        assert b["n"] == x.size
        med, p90 = np.quantile(x, [0.5, 0.9], method="inverted_cdf")
        assert (b["trace"]["median"], b["trace"]["p90"]) == (med, p90)
        # the recorded relative errors are those of the stated median/p90
        assert b["lognormal_rel_error"]["median"] == pytest.approx(b["lognormal_mle"]["median"] / med - 1, abs=2e-4)
        assert b["lognormal_rel_error"]["p90"] == pytest.approx(b["lognormal_mle"]["p90"] / p90 - 1, abs=2e-4)


def test_row_trace_fits_match_research_stats(stored, trace_stats):
    for _name, source, field, b in _row_fits(stored):
        ref = trace_stats[TRACE_STATS_KEY[source]][field]
        assert b["lognormal_mle"]["mu"] == pytest.approx(ref["lognormal_mu"], abs=1e-3)
        assert b["lognormal_mle"]["sigma"] == pytest.approx(ref["lognormal_sigma"], abs=1e-3)
        assert b["ks_D"] == pytest.approx(ref["lognormal_ks_D"], abs=1e-3)
        assert b["trace"]["median"] == ref["median"] and b["trace"]["p90"] == ref["p90"]


def test_servegen_fit_against_published_quantiles(stored, trace_stats):
    fits = stored["reasoning"]["fits"]["servegen_deepseek_r1"]
    q = pd.read_csv(CAL / "traces" / "servegen_length_quantiles.csv")
    for field in ("input_tokens", "output_tokens"):
        b = fits[field]
        row = q[(q.model == "deepseek-r1") & (q.field == field)].iloc[0]
        assert (b["trace"]["median"], b["trace"]["p90"]) == (row["q0.5"], row["q0.9"])
        # bounds: lower = largest |F(q_p) - p| over the published points, recomputed here
        cdf = stats.lognorm(b["lognormal_mle"]["sigma"], 0, math.exp(b["lognormal_mle"]["mu"])).cdf
        ps = [c for c in row.index if c.startswith("q")]
        lower = max(abs(cdf(row[c]) - float(c[1:])) for c in ps)
        assert b["ks_D_bounds"][0] == pytest.approx(lower, abs=2e-3)
        assert b["ks_D_bounds"][0] <= b["ks_D"] + 1e-4 <= b["ks_D_bounds"][1] + 2e-4
        # the MLE on the rebuilt distribution is close to the research MLE on the full pooled PMFs
        ref = trace_stats["servegen_deepseek-r1"]["token_lengths_pooled"][field]
        assert b["lognormal_mle"]["mu"] == pytest.approx(ref["lognormal_mu"], abs=0.03)
        assert b["lognormal_mle"]["sigma"] == pytest.approx(ref["lognormal_sigma"], abs=0.03)


def test_recommendation_rule(stored):
    for name, source, field, b in _all_length_fits(stored):
        ks = b["ks_D_bounds"][1] if "ks_D_bounds" in b else b["ks_D"]
        assert b["recommendation"] == ("lognormal" if ks < fw.KS_THRESHOLD else "empirical"), (name, source, field)
        assert b["spec"] == (b["spec_lognormal"] if b["recommendation"] == "lognormal" else b["spec_empirical"])
        assert b["spec_lognormal"] == {"dist": "lognormal", "median": b["lognormal_mle"]["median"],
                                       "p90": b["lognormal_mle"]["p90"]}


# ---- the recommended specs reproduce the traces ------------------------------------------------

def test_recommended_specs_reproduce_median_and_p90(stored):
    """Built by the scenario language; lognormal within LOGNORMAL_TOL, empirical within EMPIRICAL_TOL."""
    checked = {"lognormal": 0, "empirical": 0}
    for name, source, field, b in _all_length_fits(stored):
        d = _build(b["spec"])
        tol = fw.LOGNORMAL_TOL if b["recommendation"] == "lognormal" else fw.EMPIRICAL_TOL
        for q, key in ((0.5, "median"), (0.9, "p90")):
            got, want = d.quantile(q), b["trace"][key]
            assert abs(got / want - 1) <= tol, (name, source, field, key, got, want)
        checked[b["recommendation"]] += 1
    assert checked["lognormal"] >= 1 and checked["empirical"] >= 1


def test_empirical_specs_keep_the_mean(stored):
    for name, source, field, b in _all_length_fits(stored):
        d = _build(b["spec_empirical"])
        assert d.mean() == pytest.approx(b["empirical"]["mean"], abs=0.06)
        # row traces: slice means keep the mean (up to rounding to 0.1 token); ServeGen (rebuilt from
        # 18 published quantiles) within 3%
        tol = 0.03 if "ks_D_bounds" in b else 0.06 / b["trace"]["mean"] + 1e-4
        assert abs(d.mean() / b["trace"]["mean"] - 1) <= tol, (name, source, field)


def test_discrete_specs_are_valid(stored):
    for name, source, field, b in _all_length_fits(stored):
        d = _build(b["spec_discrete"])
        assert len(b["spec_discrete"]["values"]) == fw.N_DISCRETE
        err = d.mean() / b["trace"]["mean"] - 1
        assert abs(err - b["discrete_mean_rel_error"]) <= 0.06 / b["trace"]["mean"] + 2e-4, (name, source, field)
        assert abs(err) <= (0.03 if "ks_D_bounds" in b else 0.06 / b["trace"]["mean"] + 2e-4)


# ---- Mooncake prefix reuse through the project's cache model -----------------------------------

def test_mooncake_hash_ids_are_prefix_chains(mooncake):
    assert len(mooncake) == 12_031
    assert pr.check_hash_chain(mooncake) == 0


def test_mooncake_replay_reproduces_published_reuse(mooncake):
    inf = pr.replay(mooncake, math.inf)
    assert inf.token_share == pytest.approx(0.374, abs=0.005)
    assert inf.block_share == pytest.approx(0.366, abs=0.005)
    five = pr.replay(mooncake, 300.0)
    hour = pr.replay(mooncake, 3600.0)
    assert five.token_share <= hour.token_share <= inf.token_share
    # the trace spans 59 min: a 1 h TTL loses nothing
    assert hour.token_share == inf.token_share
    assert pr.replay(mooncake, 300.0, min_tokens=1024).token_share <= five.token_share


def test_mooncake_reuse_recorded(stored, mooncake):
    rec = stored["long_context_chat"]["prefix_cache_reuse"]
    assert rec["infinite"]["input_token_share"] == pytest.approx(pr.replay(mooncake).token_share, abs=1e-4)
    assert rec["ttl_5m"]["input_token_share"] == pytest.approx(pr.replay(mooncake, 300.0).token_share, abs=1e-4)
    assert rec["infinite"]["input_token_share"] == pytest.approx(rec["reference_infinite"]["input_token_share"],
                                                                 abs=5e-4)


def test_mooncake_reference_value(trace_stats):
    ref = trace_stats["mooncake_conversation"]["prefix_cache_reuse_upper_bound"]
    assert pr.REFERENCE_INFINITE == {"input_token_share": ref["input_token_share"], "block_share": ref["block_share"]}


# ---- hourly shape ------------------------------------------------------------------------------

def _profiles_yaml_servegen():
    return yaml.safe_load((CAL / "workloads" / "profiles.yaml").read_text())["presets"]["servegen"]["hourly"]


def test_profiles_yaml_servegen_matches_recomputed_profile():
    frame = pd.read_csv(CAL / "traces" / "servegen_rate_10min.csv")
    prof = fw.hourly_profiles(frame)["m-large"]
    assert np.mean(prof) == pytest.approx(1.0)
    np.testing.assert_allclose(_profiles_yaml_servegen(), prof, rtol=0, atol=1e-3)


def test_hourly_profiles_match_trace_stats(trace_stats):
    np.testing.assert_allclose(_profiles_yaml_servegen(), trace_stats["servegen_m-large"]["hour_of_day_profile"],
                               rtol=0, atol=1e-3)
    frame = pd.read_csv(CAL / "traces" / "servegen_rate_10min.csv")
    for model, prof in fw.hourly_profiles(frame).items():
        np.testing.assert_allclose(prof, trace_stats[f"servegen_{model}"]["hour_of_day_profile"], rtol=0, atol=1e-3)


# ---- agent constants ---------------------------------------------------------------------------

def test_agent_constants_match_documented(stored, trace_stats):
    doc = trace_stats["documented_only"]["github_copilot_coding_agent_2026"]
    for k, v in fw.COPILOT_TOTALS.items():
        assert doc[k] == v, k
    ref = doc["derived"]
    mine = stored["agent"]["documented"]
    for k in ("turns_per_session", "llm_calls_per_turn", "llm_calls_per_session", "tool_calls_per_llm_call",
              "cached_share_of_prompt_tokens", "completion_to_prompt_ratio"):
        assert mine[k] == pytest.approx(ref[k], abs=0.01 * abs(ref[k]) + 1e-3), k
    for k in ("prompt_tokens_per_llm_call", "completion_tokens_per_llm_call", "prompt_tokens_per_session",
              "completion_tokens_per_session"):
        assert mine[k] == pytest.approx(ref[k], rel=1e-3), k


def test_agent_fields_reproduce_prompt_per_call_in_session_model(stored):
    """The derived AgentWorkload fields, put through sim.demand.sessions, give Copilot's per-call prompt."""
    a = stored["agent"]
    f = a["scenario_fields"]
    p = AgentParams(prefix=800.0, task=f["assumed_system_prompt_plus_tools_plus_task_tokens"] - 800.0,
                    output_visible=f["output_tokens"], output_billed=f["output_tokens"],
                    tool_result=f["tool_result_tokens"])
    calls = agent_calls(f["steps"], p, CacheParams())
    assert calls.n == f["steps"]
    assert calls.prompt.mean() == pytest.approx(a["documented"]["prompt_tokens_per_llm_call"], rel=1e-3)
    assert calls.prompt.sum() == pytest.approx(a["documented"]["prompt_tokens_per_session"], rel=0.01)
    warm = agent_calls(f["steps"], p, CacheParams(enabled=True, min_tokens=0.0, p_shared_warm=0.0,
                                                  p_session_warm=1.0))
    share = warm.cached.sum() / warm.prompt.sum()
    assert share == pytest.approx(a["cache_cross_check"]["model_cached_share_all_steps_warm"], abs=1e-3)
    assert share > a["documented"]["cached_share_of_prompt_tokens"]

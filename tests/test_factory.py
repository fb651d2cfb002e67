"""The AI-factory view (sim.pools.factory): tokens per MWh and per MW, energy and cost per million
tokens, cost per million tokens at goodput tiers, idle share — in both engines, checked by hand.

The hand figures read power and throughput from the catalog files themselves (yaml), not from the
code under test. The scenarios are the conftest chat: one turn of 500 system + 100 user prompt tokens
and 200 output tokens, 800 tokens a session, no retries, always-on activity, 100 users.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from sim.expected.forecast import run_expected
from tests.conftest import ROOT, chat, make

NO_RETRY = {"error_rate": 0, "timeout_rate": 0, "validation_failure_rate": 0, "max_attempts": 1}
TOKENS_PER_SESSION = 500 + 100 + 200
DAYS = np.array([28.0, 31.0])  # February and March 2027
HOURS = DAYS * 24.0
TIERS = ("10 tok/s", "25 tok/s", "50 tok/s", "100 tok/s")
TIER_COLS = ("cost_per_mtok_10_tok_s", "cost_per_mtok_25_tok_s", "cost_per_mtok_50_tok_s", "cost_per_mtok_100_tok_s")


def catalog(gpu: str, model: str) -> dict:
    """Power and the curve of ``model`` from calibration/hardware/<gpu>.yaml, read as plain YAML."""
    d = yaml.safe_load((ROOT / "calibration" / "hardware" / f"{gpu}.yaml").read_text())
    (c,) = [c for c in d["curves"] if c["model_class"] == model]
    return {"allin_w": d["allin_power_w_per_gpu"]["value"], "idle": d["idle_power_fraction"]["value"],
            "points": c["points"], "prefill": c["prefill_tok_s_gpu"]["value"]}


def mc(sc):
    from sim.mc.runner import run

    ds, _ = run(sc, paths=1, deterministic=True)
    return ds


# ---- owned: 8 H200 serving Llama-3.3-70B -----------------------------------------------------------------
OWNED = {"enabled": True, "gpu": "h200", "capex_per_gpu": 30000, "network_share": 0.1, "storage_share": 0.02,
         "useful_life_years": 5, "residual_value_share": 0.1, "pue": 1.3, "power_price_per_kwh": 0.1,
         "colocation_per_kw_month": 190, "staff_fte": 1.0, "gpus_per_fte": 150, "staff_cost_per_fte_year": 250000,
         "licence_per_gpu_year": 1000, "support_share_per_year": 0.06, "availability": 0.9, "gpu_headroom": 0.8,
         "generation_improvement_per_year": 0.0, "lead_time_months": 0, "purchases": [{"month": 0, "gpus": 8}]}
RATE = 18000.0  # sessions per user per day: the fleet ~40 % busy, below its usable 72 %


def owned_scenario():
    return make([chat(retry=NO_RETRY, models={"api": "acme/m1", "owned": "llama-3.3-70b"},
                      allowed_pools=["owned", "api"], slo={"interactivity_tok_s_user": 20},
                      sessions_per_user_per_day=RATE)],
                horizon={"start": "2027-02", "months": 2},
                pools={"api": {"price_trend": {"commodity_per_year": 0.0, "frontier_per_year": 0.0}}, "owned": OWNED})


def owned_by_hand() -> dict:
    cat = catalog("h200", "llama-3.3-70b")
    first_i, first_t = cat["points"][0]
    assert first_i > 20 and first_i > 10  # the SLO (20) and the 10 tok/s tier read the flat first point
    n, pue, allin, idle = 8, 1.3, cat["allin_w"], cat["idle"]
    sessions = 100 * RATE * DAYS
    tokens = sessions * TOKENS_PER_SESSION
    sec = (600 - 200) / cat["prefill"] + 200 / first_t  # extra prompt at the prefill rate + output at the SLO
    u = sessions * sec / 3600.0 / (n * HOURS)
    energy = n * allin / 1000.0 * (idle + (1 - idle) * u) * pue * HOURS  # kWh
    capex = 30000 / (1 - 0.1 - 0.02)
    cost = (n * capex * 0.9 / 60 + energy * 0.1 + n * allin / 1000 * 190 + (1 + n / 150) * 250000 / 12
            + n * 1000 / 12 + n * capex * 0.06 / 12)
    mw = n * allin * pue / 1e6
    per_gpu_hour = cost / (n * HOURS)
    return dict(tokens=tokens, u=u, energy=energy, cost=cost, mw=mw,
                tokens_per_mwh=tokens / (energy / 1000), energy_kwh_per_mtok=energy / (tokens / 1e6),
                tokens_per_mw=tokens / mw, idle_share=1 - u, cost_per_mtok=cost / tokens * 1e6,
                tier10=per_gpu_hour / (first_t * 2 * 3600) * 1e6)  # a GPU-hour: first_t output + as many prompt


def test_owned_fleet_by_hand_in_the_expected_value_engine():
    h = owned_by_hand()
    assert 0.3 < h["u"].min() and h["u"].max() < 0.72  # busy, yet nothing spills to the API
    fc = run_expected(owned_scenario())
    own = fc.pools[fc.pools["pool"] == "owned"]
    assert np.allclose(own["tokens"], h["tokens"], rtol=1e-9)
    assert np.allclose(own["utilization"], h["u"], rtol=1e-9)
    assert np.allclose(own["facility_energy_kwh"], h["energy"], rtol=1e-9)
    assert np.allclose(own["energy_kwh"], h["energy"], rtol=1e-9) and not own["energy_estimated"].any()
    assert np.allclose(own["cost"], h["cost"], rtol=1e-9)
    for k in ("tokens_per_mwh", "energy_kwh_per_mtok", "tokens_per_mw", "idle_share", "cost_per_mtok"):
        assert np.allclose(own[k], h[k], rtol=1e-9), k
    assert np.allclose(own["facility_mw"], h["mw"], rtol=1e-12)
    assert np.allclose(own["cost_per_mtok_10_tok_s"], h["tier10"], rtol=1e-9)
    # 25 tok/s sits past the first point (22.3): fewer tokens a GPU-hour, a dearer tier, and so on up
    tiers = own[list(TIER_COLS)].to_numpy()
    assert (np.diff(tiers, axis=1) > 0).all()
    assert 0 < h["tier10"].min() < h["cost_per_mtok"].min()  # at ~40 % use the realised cost is dearer


def test_owned_fleet_by_hand_in_the_deterministic_monte_carlo():
    h = owned_by_hand()
    ds = mc(owned_scenario())
    o = ds.isel(strategy=0, path=0).sel(pool="owned")
    tokens = (o["tokens_input"] + o["tokens_cached"] + o["tokens_output"]).sum("workload").values.astype(float)
    assert np.allclose(tokens, h["tokens"], rtol=1e-6)  # float32 storage
    rel = 2e-6
    assert np.allclose(o["facility_energy_kwh"], h["energy"], rtol=rel)
    assert np.allclose(o["energy_kwh"], h["energy"], rtol=rel)
    for k in ("tokens_per_mwh", "energy_kwh_per_mtok", "tokens_per_mw", "idle_share"):
        assert np.allclose(o[k].values.astype(float), h[k], rtol=rel), k
    assert np.allclose(o["facility_mw"], h["mw"], rtol=rel)
    assert np.allclose(o["idle_share"], 1 - o["utilization"], rtol=1e-6)
    assert list(ds["goodput_tier"].values) == list(TIERS)
    assert np.allclose(o["cost_per_mtok_tier"].sel(goodput_tier="10 tok/s"), h["tier10"], rtol=1e-9)
    # the API and SaaS pools hold no factory figure
    for k in ("facility_mw", "tokens_per_mwh", "tokens_per_mw", "facility_energy_kwh"):
        assert float(np.abs(ds[k].sel(pool=["api", "saas"])).max()) == 0.0
    # the same as the expected-value engine, tier by tier
    fc = run_expected(owned_scenario())
    own = fc.pools[fc.pools["pool"] == "owned"]
    assert np.allclose(o["cost_per_mtok_tier"].values, own[list(TIER_COLS)].to_numpy(), rtol=1e-9)
    # and the report's table: one path, so its means are the path's figures
    from sim.analysis.factory import factory_table

    t = factory_table(ds)
    assert list(t["month"]) == ["2027-02", "2027-03"] and set(t["pool"]) == {"owned"}
    assert np.allclose(t["tokens_per_mwh"], h["tokens_per_mwh"], rtol=rel)
    assert np.allclose(t["energy_kwh_per_mtok"], h["energy_kwh_per_mtok"], rtol=rel)
    assert np.allclose(t["energy_mwh"], h["energy"] / 1000, rtol=rel)
    assert np.allclose(t["cost_per_mtok"], h["cost_per_mtok"], rtol=rel)
    assert np.allclose(t["cost_per_mtok_10_tok_s"], h["tier10"], rtol=1e-9)
    assert not t["energy_estimated"].any() and (t["paths_in_service"] == 1).all()


# ---- neocloud: 1 reserved MI300X serving gpt-oss-120b (one curve point at 90 tok/s) ---------------------
def neo_scenario():
    return make([chat(retry=NO_RETRY, models={"api": "acme/m1", "neocloud": "gpt-oss-120b"},
                      allowed_pools=["neocloud", "api"], slo={"interactivity_tok_s_user": 20},
                      sessions_per_user_per_day=500.0)],
                horizon={"start": "2027-02", "months": 2},
                pools={"api": {"price_trend": {"commodity_per_year": 0.0, "frontier_per_year": 0.0}},
                       "neocloud": {"enabled": True, "gpu": "mi300x", "reserved_gpus": 1,
                                    "reserved_price_per_gpu_hour": 2.0, "on_demand_max_gpus": 0,
                                    "price_trend_per_year": 0.0}})


def neo_by_hand() -> dict:
    cat = catalog("mi300x", "gpt-oss-120b")
    assert cat["points"] == [[90.0, 1193.0]]  # flat up to 90 tok/s, nothing beyond
    sessions = 100 * 500.0 * DAYS
    tokens = sessions * TOKENS_PER_SESSION
    u = sessions * ((600 - 200) / cat["prefill"] + 200 / 1193.0) / 3600.0 / HOURS
    energy = HOURS * cat["allin_w"] * (cat["idle"] + (1 - cat["idle"]) * u) / 1000 * 1.3  # estimate, PUE 1.3
    tier = 2.0 / (1193.0 * 2 * 3600) * 1e6  # $2 a GPU-hour over 1,193 output + 1,193 prompt tokens a second
    return dict(tokens=tokens, u=u, energy=energy, tokens_per_mwh=tokens / (energy / 1000),
                energy_kwh_per_mtok=energy / (tokens / 1e6), tokens_per_mw=tokens / (cat["allin_w"] * 1.3 / 1e6),
                idle_share=1 - u, cost_per_mtok=2.0 * HOURS / tokens * 1e6, tier=tier)


def test_rented_fleet_energy_is_an_estimate_and_a_tier_beyond_the_curve_has_no_cost():
    h = neo_by_hand()
    assert 0.05 < h["u"].min() and h["u"].max() < 0.97 * 0.8
    fc = run_expected(neo_scenario())
    res = fc.pools[fc.pools["pool"] == "neocloud_reserved"]
    assert res["energy_estimated"].all() and (res["energy_kwh"] == 0).all()  # no meter: energy_kwh stays 0
    for k in ("tokens", "tokens_per_mwh", "energy_kwh_per_mtok", "tokens_per_mw", "idle_share", "cost_per_mtok"):
        assert np.allclose(res[k], h[k], rtol=1e-9), k
    assert np.allclose(res["facility_energy_kwh"], h["energy"], rtol=1e-9)
    for c in TIER_COLS[:3]:
        assert np.allclose(res[c], h["tier"], rtol=1e-12), c
    assert res["cost_per_mtok_100_tok_s"].isna().all()  # 100 tok/s is beyond the curve: no figure (empty, not 0)
    od = fc.pools[fc.pools["pool"] == "neocloud_on_demand"]  # no on-demand GPU paid: no figure at all
    assert (od["facility_mw"] == 0).all() and od[["tokens_per_mwh", "idle_share", *TIER_COLS]].isna().all().all()

    ds = mc(neo_scenario())
    o = ds.isel(strategy=0, path=0).sel(pool="neocloud")
    for k in ("tokens_per_mwh", "energy_kwh_per_mtok", "tokens_per_mw", "idle_share"):
        assert np.allclose(o[k].values.astype(float), h[k], rtol=2e-6), k
    assert np.allclose(o["facility_energy_kwh"], h["energy"], rtol=2e-6)
    assert float(o["energy_kwh"].max()) == 0.0
    tier = o["cost_per_mtok_tier"]
    assert np.allclose(tier.sel(goodput_tier=list(TIERS[:3])), h["tier"], rtol=1e-12)
    assert (tier.sel(goodput_tier="100 tok/s") == 0).all()
    from sim.analysis.factory import factory_table

    t = factory_table(ds)
    assert set(t["pool"]) == {"neocloud"} and t["energy_estimated"].all()
    assert t["cost_per_mtok_100_tok_s"].isna().all()  # the table says "no figure" as NaN
    assert np.allclose(t["cost_per_mtok_10_tok_s"], h["tier"], rtol=1e-12)


# ---- mixes, idle share, no GPUs ------------------------------------------------------------------------------
def test_a_mix_of_models_serves_at_the_harmonic_rate_of_its_token_shares():
    from sim.catalog.hardware import load_hardware
    from sim.pools.factory import FactoryPool, factory_figures, mix_tokens_per_gpu_hour

    r = np.array([[1000.0, 400.0], [3000.0, 0.0]])  # tokens per GPU-hour of two workloads at two tiers
    fp = FactoryPool("neocloud", load_hardware()["h200"], 1.3, False, np.array([True, True]), r, (10.0, 100.0))
    got = mix_tokens_per_gpu_hour(fp, np.array([[3.0, 1.0], [0.0, 0.0], [1.0, 0.0]]))
    # 3:1 tokens: 1 / (0.75 / 1000 + 0.25 / 3000); the second cannot reach tier 2, so the mix cannot
    assert got[0] == pytest.approx([1 / (0.75 / 1000 + 0.25 / 3000), 0.0])
    assert got[1] == pytest.approx([1 / (0.5 / 1000 + 0.5 / 3000), 0.0])  # no tokens: equal weights
    assert got[2] == pytest.approx([1000.0, 400.0])  # only the first served: its own rates
    f = factory_figures(fp, np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([0.0, 720.0]), 720.0,
                        np.array([0.0, 0.0]), np.array([0.0, 1440.0]))
    assert f.idle_share.tolist() == [0.0, 1.0]  # no GPU: no figure; GPUs and no work: all idle
    assert f.tokens_per_mwh.tolist() == [0.0, 0.0] and f.energy_kwh_per_mtok.tolist() == [0.0, 0.0]
    assert f.facility_energy_kwh[1] == pytest.approx(720 * 1015.0 * 0.3 / 1000 * 1.3)  # idle draw, PUE 1.3
    assert f.cost_per_mtok_tier[1, 0] == pytest.approx(2.0 / (1 / (0.5 / 1000 + 0.5 / 3000)) * 1e6)
    assert f.cost_per_mtok_tier[0].tolist() == [0.0, 0.0] and f.cost_per_mtok_tier[1, 1] == 0.0
    for x in (f.tokens_per_mwh, f.energy_kwh_per_mtok, f.tokens_per_mw, f.cost_per_mtok, f.cost_per_mtok_tier):
        assert np.isfinite(x).all()


def test_idle_share_is_one_minus_utilization_and_finite_before_the_fleet_arrives():
    """coding_agent_owned: 16 H200 ordered in month 0, serving from month 3 (lead time 3)."""
    from sim.analysis.factory import factory_table
    from sim.mc.runner import run
    from sim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "examples" / "coding_agent_owned.yaml")
    ds, _ = run(sc, paths=8)
    o = ds.sel(pool="owned")
    on = (o["facility_mw"] > 0).values
    assert not on[..., :3].any() and on[..., 3:].all()
    assert np.allclose(o["idle_share"].values[on], 1 - o["utilization"].values[on], atol=1e-6)
    assert (o["idle_share"].values[~on] == 0).all()
    assert all(np.isfinite(ds[k].values).all() for k in ("tokens_per_mwh", "energy_kwh_per_mtok", "tokens_per_mw",
                                                         "idle_share", "cost_per_mtok_tier", "facility_mw"))
    assert np.allclose(o["facility_energy_kwh"], o["energy_kwh"])  # owned: the metered energy
    t = factory_table(ds)
    assert len(t) == sc.horizon.months - 3 and t["month"].iloc[0] == "2027-04"
    assert ((t["idle_share"] > 0) & (t["idle_share"] < 1)).all()
    assert (t[list(TIER_COLS)].notna()).all().all()


def test_an_api_only_scenario_has_no_factory_rows():
    from sim.analysis.factory import BASE_COLUMNS, factory_table

    sc = make([chat(retry=NO_RETRY)], horizon={"start": "2027-02", "months": 2})
    ds = mc(sc)
    t = factory_table(ds)
    assert t.empty and list(t.columns)[:len(BASE_COLUMNS)] == list(BASE_COLUMNS)
    assert float(np.abs(ds["cost_per_mtok_tier"]).max()) == 0.0 and float(ds["facility_mw"].max()) == 0.0
    assert run_expected(sc).pools.empty
    assert factory_table(ds.drop_vars(["facility_mw"])).empty  # a file written before the factory view


def test_factory_variables_are_declared_described_and_typed():
    from sim.mc.checks import DIMS, FACTORY
    from sim.mc.results import FLOAT32, describe
    from sim.pools.factory import VARIABLES

    assert FACTORY == VARIABLES
    ds = describe(mc(owned_scenario()))
    for k in (*FACTORY, "cost_per_mtok_tier"):
        assert ds[k].dims == DIMS[k] and ds[k].attrs["units"] and ds[k].attrs["description"], k
        assert ds[k].dtype == (np.float32 if k in FLOAT32 else np.float64), k
    assert "cost_per_mtok_tier" not in FLOAT32  # money stays float64
    assert ds["goodput_tier_tok_s_user"].values.tolist() == [10.0, 25.0, 50.0, 100.0]


def test_a_fleet_that_serves_no_token_still_costs_in_the_factory_table():
    """The 8 H200s with the workload kept on the API: no token served, the fleet still paid. The table's
    cost is the owned-cost components' sum each month (what the report's yearly figures add up), and
    cost per million tokens has no figure."""
    from sim.analysis.factory import factory_table

    sc = make([chat(retry=NO_RETRY, models={"api": "acme/m1", "owned": "llama-3.3-70b"}, allowed_pools=["api"],
                    sessions_per_user_per_day=RATE)],
              horizon={"start": "2027-02", "months": 2},
              pools={"api": {"price_trend": {"commodity_per_year": 0.0, "frontier_per_year": 0.0}}, "owned": OWNED})
    ds = mc(sc)
    t = factory_table(ds)
    owned = t[t["pool"] == "owned"]
    paid = ds["owned_cost"].isel(strategy=0).sum("owned_component").mean("path").values
    assert len(owned) == 2 and (owned["tokens"] == 0).all() and owned["cost_per_mtok"].isna().all()
    assert np.allclose(owned["cost"].to_numpy(), paid, rtol=1e-9) and (paid > 0).all()

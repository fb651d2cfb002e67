"""Tests for the model catalog and the smallest replica by memory fit (sim.catalog.models).

The expected numbers are worked out by hand in the comments from the YAML values and the module's
stated constants (GiB = 2**30 B; usable = 0.9 x memory; per-GPU runtime = 3.5 GiB other + NCCL
(0 / 342 MiB / 392 MiB for TP 1 / 2 / >=4) + activations 2 B x 8192 tokens x heads x head_dim x
coefficient (dense 11 / 6.5 / 5, MoE 22 / 13 / 10 for TP 1 / 2 / >=4)).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.catalog.hardware import load_hardware
from sim.catalog.models import (
    DEFAULT_DIR,
    GIB,
    ModelCatalogError,
    ModelFitError,
    ModelSpec,
    Replica,
    get_model,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    load_models,
    replica_sizes,
    smallest_replica,
    smallest_replica_for_gpu,
    weight_bytes,
)

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO / "calibration" / "models"
MODELS = load_models()
HW = load_hardware()
REQUIRED = {"llama-3.3-70b", "llama-2-70b", "gpt-oss-120b", "deepseek-r1", "llama-3.1-8b",
            "llama-3.1-405b"}

# ---- hand-derived constants (bytes)
# usable per GPU: H100 80 GiB x 0.9 = 72 GiB; H200 141 x 0.9 = 126.9 GiB; B200 180 x 0.9 = 162 GiB
H100_USABLE = 72 * GIB                # 77,309,411,328
B200_USABLE = 162 * GIB               # 173,946,175,488
# dense (Llama-70B: 64 heads x 128 = 8192 wide) runtime per GPU:
#   activations 2 x 8192 x 8192 = 134,217,728 B = 0.125 GiB per unit of coefficient
#   TP1: 3.5 + 0          + 0.125 x 11  = 4.875 GiB         = 5,234,491,392 B
#   TP2: 3.5 + 358,612,992 B (0.333984375 GiB) + 0.125 x 6.5 = 4.646484375 GiB = 4,989,124,608 B
#   TP4: 3.5 + 411,041,792 B (0.3828125 GiB)   + 0.125 x 5   = 4.5078125 GiB   = 4,840,226,816 B
DENSE_TP1, DENSE_TP2, DENSE_TP4 = 5_234_491_392, 4_989_124_608, 4_840_226_816
# DeepSeek-R1 (128 heads, no head_dim -> 7168 / 128 = 56, width 7168), MoE coefficient 10 at TP8:
#   2 x 8192 x 7168 x 10 = 1,174,405,120 B = 1.09375 GiB; TP8 = 3.5 + 0.3828125 + 1.09375
#   = 4.9765625 GiB = 5,343,543,296 B
MOE_DS_TP8 = 5_343_543_296

# Llama-3.3-70B, 80 layers x 8 KV heads x 128 head_dim:
#   KV per token (BF16) = 2 (K and V) x 80 x 8 x 128 x 2 B = 327,680 B
#   context 8192 x concurrency 16 -> 327,680 x 131,072 = 42,949,672,960 B = 40 GiB
L70_KV_16x8K = 42_949_672_960
#   weights BF16 = 70,553,706,496 x 2 = 141,107,412,992 B (131.42 GiB)
#   weights FP8  = 68,451,041,280 (decoder linear layers) x 1 + 2,102,665,216 (rest) x 2
#                = 72,656,371,712 B (67.67 GiB)
L70_BF16, L70_FP8 = 141_107_412_992, 72_656_371_712
# DeepSeek-R1 MLA, 61 layers x (512 + 64) latent values:
#   KV per token (BF16) = 61 x 576 x 2 = 70,272 B; 8192 x 16 -> 9,210,691,584 B = 8.578125 GiB
#   weights FP8 = 669,065,609,216 x (1 + 4/16384) + 1,960,809,984 x 2
#               = 669,065,609,216 + 163,346,096 + 3,921,619,968 = 673,150,575,280 B (626.92 GiB)
DS_KV_16x8K, DS_FP8 = 9_210_691_584, 673_150_575_280


def _raw(model_id: str) -> dict[str, Any]:
    return yaml.safe_load((MODELS_DIR / f"{model_id}.yaml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ catalog and sources


def test_catalog_loads_required_models() -> None:
    assert DEFAULT_DIR == MODELS_DIR
    assert REQUIRED <= set(MODELS)
    for mid, s in MODELS.items():
        assert isinstance(s, ModelSpec) and s.id == mid and s.path == MODELS_DIR / f"{mid}.yaml"
        assert 0 < s.active_params <= s.total_params
        assert s.precisions and s.max_context_tokens > 0
    assert load_models()["llama-3.3-70b"] is MODELS["llama-3.3-70b"]  # cached


def _walk_sourced(node: Any, where: str, sourced: bool, bad: list[str]) -> None:
    if isinstance(node, dict):
        sourced = sourced or bool(str(node.get("source", "")).strip())
        for k, v in node.items():
            _walk_sourced(v, f"{where}.{k}", sourced, bad)
    elif isinstance(node, list):
        for n, v in enumerate(node):
            _walk_sourced(v, f"{where}[{n}]", sourced, bad)
    elif isinstance(node, (int, float)) and not isinstance(node, bool) and not sourced:
        bad.append(where)


@pytest.mark.parametrize("path", sorted(MODELS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_yaml_field_has_a_source(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    text_fields = {"id", "name", "hf_repo", "aliases", "architecture", "attention", "precisions"}
    for key, node in doc.items():
        if key in text_fields:
            continue
        assert isinstance(node, dict) and str(node.get("source", "")).strip(), f"{path.name}: {key}"
        assert "value" in node, f"{path.name}: {key}"
    for prec, node in doc["precisions"].items():
        for key, sub in node.items():
            if key != "format":
                assert isinstance(sub, dict) and str(sub.get("source", "")).strip(), \
                    f"{path.name}: precisions.{prec}.{key}"
    bad: list[str] = []
    _walk_sourced(doc, path.stem, False, bad)
    assert not bad, f"numbers without a source: {bad}"


def test_loader_refuses_a_number_without_source(tmp_path: Path) -> None:
    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(MODELS_DIR / "llama-3.1-8b.yaml", d / "llama-3.1-8b.yaml")
    doc = _raw("llama-3.1-8b")
    del doc["num_layers"]["source"]
    (d / "llama-3.1-8b.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ModelCatalogError, match=r"num_layers\.source"):
        load_models(d)


@pytest.mark.parametrize("mid", ["llama-3.3-70b", "llama-2-70b", "llama-3.1-8b", "llama-3.1-405b"])
def test_dense_parameter_counts_match_architecture(mid: str) -> None:
    # Llama: per layer q,o = h x h; k,v = h x (kv_heads x head_dim); MLP 3 x h x inter; 2 norms h.
    # Plus embed + lm_head 2 x vocab x h and the final norm h. (Independent check of the YAML.)
    d = {k: v["value"] for k, v in _raw(mid).items() if isinstance(v, dict) and "value" in v}
    h, kvw = d["hidden_size"], d["num_kv_heads"] * d["head_dim"]
    per_layer = 2 * h * h + 2 * h * kvw + 3 * h * d["intermediate_size"] + 2 * h
    assert d["num_layers"] * per_layer + 2 * d["vocab_size"] * h + h == d["total_params"]


def test_hardware_model_classes_resolve_with_their_precisions() -> None:
    # every curve in the hardware catalog must name a catalog model and one of its precisions
    for gid, gpu in HW.items():
        for c in gpu.curves:
            spec = get_model(c.model_class)
            assert c.precision in spec.precisions, f"{gid}: {c.model_class}/{c.precision}"


def test_name_resolution_like_hardware_curves() -> None:
    assert get_model("llama-3.3-70b").id == "llama-3.3-70b"
    assert get_model("Llama-3.3-70B").id == "llama-3.3-70b"  # same normalisation as curve()
    assert get_model("meta-llama/Llama-3.3-70B-Instruct").id == "llama-3.3-70b"
    assert get_model("openai/gpt-oss-120b").id == "gpt-oss-120b"
    with pytest.raises(ModelFitError, match="unknown model 'acme/m1'.*llama-3.3-70b"):
        get_model("acme/m1")


# ------------------------------------------------------------------ weights and KV


def test_weight_bytes_by_hand() -> None:
    l70 = MODELS["llama-3.3-70b"]
    assert weight_bytes(l70, "bf16") == L70_BF16
    assert weight_bytes(l70, "FP8") == L70_FP8
    # NVFP4: 68,451,041,280 x 0.5625 = 38,503,710,720; + 2,102,665,216 x 2 = 42,709,041,152
    assert weight_bytes(l70, "fp4") == 42_709_041_152
    assert weight_bytes(MODELS["deepseek-r1"], "fp8") == DS_FP8
    # gpt-oss MXFP4: 114,661,785,600 x 0.53125 = 60,914,073,600; + 2,167,371,072 x 2
    #   = 65,248,815,744 B = 60.77 GiB (model card: 60.8 GiB checkpoint)
    assert weight_bytes(MODELS["gpt-oss-120b"], "fp4") == 65_248_815_744
    with pytest.raises(ModelFitError, match="no precision 'int4'.*bf16, fp4, fp8"):
        weight_bytes(l70, "int4")


def test_kv_bytes_by_hand() -> None:
    l70, ds, oss = MODELS["llama-3.3-70b"], MODELS["deepseek-r1"], MODELS["gpt-oss-120b"]
    assert kv_bytes_per_token(l70) == 327_680           # 2 x 80 x 8 x 128 x 2
    assert kv_bytes_per_token(l70, "fp8") == 163_840    # 1 byte per value
    assert kv_bytes_per_token(ds) == 70_272             # 61 x (512 + 64) x 2, no separate K and V
    assert kv_bytes_per_token(MODELS["llama-3.1-405b"]) == 516_096  # 2 x 126 x 8 x 128 x 2
    # gpt-oss: 2 x 8 x 64 x 2 = 2,048 B per token per layer; 18 full layers -> 36,864 B per token;
    # the 18 sliding layers hold at most 128 tokens: 18 x 2,048 x 128 = 4,718,592 B per sequence.
    assert kv_bytes_per_token(oss) == 36_864
    assert kv_bytes_per_sequence(oss, 100) == 100 * 36_864 + 18 * 2_048 * 100
    assert kv_bytes_per_sequence(oss, 8192) == 8192 * 36_864 + 4_718_592  # 306,708,480
    assert kv_bytes_per_sequence(l70, 8192) == 2_684_354_560              # 2.5 GiB
    with pytest.raises(ModelFitError, match="KV-cache precision 'fp4'"):
        kv_bytes_per_token(l70, "fp4")


# ------------------------------------------------------------------ smallest replica

# Table (context 8,192 tokens x concurrency 16, BF16 KV), per GPU need = (W + KV) / n + runtime
# for Llama (8 KV heads split by TP); DeepSeek MLA: W / n + KV / pp + runtime (latent copied per TP
# rank).
#
# Llama-3.3-70B BF16, W + KV = 131.42 + 40 = 171.42 GiB
#   H100 (72):   n=1 176.29, n=2 85.71 + 4.65 = 90.35 > 72, n=4 42.85 + 4.51 = 47.36 -> 4
#   H200 (126.9): n=1 176.29 > 126.9, n=2 90.35 -> 2
#   B200 (162):  n=1 176.29 > 162,   n=2 90.35 -> 2
# Llama-3.3-70B FP8, W + KV = 67.67 + 40 = 107.67 GiB
#   H100: n=1 112.54 > 72, n=2 53.83 + 4.65 = 58.48 -> 2
#   H200: n=1 112.54 <= 126.9 -> 1;  B200: n=1 -> 1
# DeepSeek-R1 FP8, W = 626.92 GiB, KV = 8.578 GiB, runtime TP8 4.977 GiB
#   H100: n=8 W/8 = 78.37 > 72 alone; n=16 (TP8 x PP2) 39.18 + 4.29 + 4.98 = 48.45 -> 16
#   H200: n=4 W/4 = 156.73 > 126.9; n=8 78.37 + 8.58 + 4.98 = 91.92 -> 8
#   B200: n=4 156.73 + 8.58 + 4.98 = 170.29 > 162; n=8 -> 8
#
# bytes_needed (sum over GPUs):
#   L70 BF16 n=4: 141,107,412,992 + 42,949,672,960 + 4 x 4,840,226,816 = 203,417,993,216
#   L70 BF16 n=2: 184,057,085,952 + 2 x 4,989,124,608                 = 194,035,335,168
#   L70 FP8  n=2: 72,656,371,712 + 42,949,672,960 + 9,978,249,216      = 125,584,293,888
#   L70 FP8  n=1: 115,606,044,672 + 5,234,491,392                      = 120,840,536,064
#   DS FP8  n=16: 673,150,575,280 + 8 x 9,210,691,584 (copy per TP rank, halved by PP2)
#                 + 16 x 5,343,543,296                                 = 832,332,800,688
#   DS FP8  n=8:  673,150,575,280 + 8 x 9,210,691,584 + 8 x 5,343,543,296 = 789,584,454,320
CASES = [
    ("llama-3.3-70b", "bf16", "h100-sxm", 4, 203_417_993_216),
    ("llama-3.3-70b", "bf16", "h200", 2, 194_035_335_168),
    ("llama-3.3-70b", "bf16", "b200", 2, 194_035_335_168),
    ("llama-3.3-70b", "fp8", "h100-sxm", 2, 125_584_293_888),
    ("llama-3.3-70b", "fp8", "h200", 1, 120_840_536_064),
    ("llama-3.3-70b", "fp8", "b200", 1, 120_840_536_064),
    ("deepseek-r1", "fp8", "h100-sxm", 16, 832_332_800_688),
    ("deepseek-r1", "fp8", "h200", 8, 789_584_454_320),
    ("deepseek-r1", "fp8", "b200", 8, 789_584_454_320),
]


def test_catalog_gpu_memory_is_what_the_hand_calculations_assume() -> None:
    assert (HW["h100-sxm"].memory_gb, HW["h200"].memory_gb, HW["b200"].memory_gb) == (80, 141, 180)


@pytest.mark.parametrize("model,precision,gpu,gpus,needed", CASES,
                         ids=[f"{m}-{p}-{g}" for m, p, g, _, _ in CASES])
def test_smallest_replica_by_hand(model: str, precision: str, gpu: str, gpus: int, needed: int) -> None:
    r = smallest_replica_for_gpu(model, precision, gpu, context_tokens=8192, concurrency=16)
    assert isinstance(r, Replica)
    assert r.gpus == gpus
    assert r.tensor_parallel == min(gpus, 8) and r.pipeline_parallel == max(gpus // 8, 1)
    assert r.bytes_needed == pytest.approx(needed, abs=16)
    assert r.bytes_needed == pytest.approx(r.weight_bytes + r.kv_bytes + r.overhead_bytes, abs=16)
    usable = {"h100-sxm": 80, "h200": 141, "b200": 180}[gpu] * 0.9 * GIB
    assert r.bytes_available == pytest.approx(gpus * usable, abs=16)
    assert r.bytes_needed <= r.bytes_available and r.max_concurrency >= 16
    assert f"{gpus} GPU" in r.explain and r.model == model


def test_by_hand_exact_bytes_of_two_cases() -> None:
    r = smallest_replica("llama-3.3-70b", "bf16", 80, context_tokens=8192, concurrency=16)
    assert (r.weight_bytes, r.kv_bytes, r.overhead_bytes) == (L70_BF16, L70_KV_16x8K, 4 * DENSE_TP4)
    assert r.bytes_available == 4 * H100_USABLE
    r = smallest_replica("deepseek-r1", "fp8", 180, context_tokens=8192, concurrency=16)
    assert (r.weight_bytes, r.kv_bytes, r.overhead_bytes) == (DS_FP8, 8 * DS_KV_16x8K, 8 * MOE_DS_TP8)
    assert r.bytes_available == 8 * B200_USABLE


def test_fp8_70b_does_not_fit_one_h100_even_nearly_empty() -> None:
    # 1,024 tokens x 1: KV 327,680 x 1,024 = 0.3125 GiB; n=1: 67.67 + 0.31 + 4.875 = 72.85 > 72
    r = smallest_replica("llama-3.3-70b", "fp8", 80, context_tokens=1024, concurrency=1)
    assert r.gpus == 2
    assert "1 GPU 72.9 GiB" in r.explain
    # with 0.95 usable (76 GiB) it fits on one
    assert smallest_replica("llama-3.3-70b", "fp8", 80, context_tokens=1024, concurrency=1,
                            usable_fraction=0.95).gpus == 1


def test_moe_gpt_oss_sliding_window_on_h100() -> None:
    # W = 60.768 GiB; TP1 runtime: activations 2 x 8192 x (64 x 64) x 22 = 1.375 GiB -> 4.875 GiB.
    # Per sequence 306,708,480 B = 0.28564 GiB. Room on one H100: 72 - 60.768 - 4.875 = 6.357 GiB
    # -> floor(6.357 / 0.28564) = 22 sequences. 16 fit on 1 GPU; had the 18 sliding layers kept all
    # 8,192 tokens (0.5625 GiB per sequence) only 11 would.
    r = smallest_replica_for_gpu("gpt-oss-120b", "fp4", "h100-sxm", context_tokens=8192, concurrency=16)
    assert (r.gpus, r.max_concurrency) == (1, 22)
    # 32 sequences: n=1 needs 60.77 + 9.14 + 4.875 = 74.8 > 72; n=2: 30.38 + 4.57 + 4.65 -> 2
    assert smallest_replica("gpt-oss-120b", "fp4", 80, context_tokens=8192, concurrency=32).gpus == 2


def test_replica_sizes() -> None:
    assert replica_sizes() == (1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72)
    assert replica_sizes(8) == (1, 2, 4, 8)
    assert replica_sizes(20) == (1, 2, 4, 8, 16)


# ------------------------------------------------------------------ errors


def test_unknown_model_raises() -> None:
    with pytest.raises(ModelFitError, match="unknown model 'gpt-5'"):
        smallest_replica("gpt-5", "fp8", 80, context_tokens=1000, concurrency=1)
    with pytest.raises(ModelFitError, match="unknown GPU 'tpu-v5'"):
        smallest_replica_for_gpu("llama-3.3-70b", "fp8", "tpu-v5", context_tokens=1000, concurrency=1)
    assert issubclass(ModelFitError, ValueError)


def test_model_that_cannot_fit_raises() -> None:
    # Llama-3.1-405B BF16 on at most 8 H100: W / 8 = 811,706,777,600 / 8 B = 94.5 GiB > 72
    with pytest.raises(ModelFitError, match="nothing up to 8 GPUs fits"):
        smallest_replica("llama-3.1-405b", "bf16", 80, context_tokens=1000, concurrency=1, max_gpus=8)
    # DeepSeek-R1 BF16, 64 sequences of the full 163,840 tokens on H100 (default max 72 = TP8 x PP9):
    # KV = 64 x 70,272 x 163,840 = 736,855,326,720 B = 686.25 GiB, split only by PP9 -> 76.25 GiB
    # per GPU before weights (1,342,052,838,400 / 72 = 17.36 GiB) -> > 72 GiB
    with pytest.raises(ModelFitError, match="nothing up to 72 GPUs fits"):
        smallest_replica("deepseek-r1", "bf16", 80, context_tokens=163_840, concurrency=64)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ModelFitError, match="exceeds its maximum context 4096"):
        smallest_replica("llama-2-70b", "fp8", 80, context_tokens=8192, concurrency=1)
    with pytest.raises(ModelFitError, match="no precision"):
        smallest_replica("gpt-oss-120b", "fp8", 80, context_tokens=1000, concurrency=1)
    with pytest.raises(ValueError, match="gpu_memory_gb"):
        smallest_replica("llama-3.1-8b", "bf16", 0, context_tokens=1000, concurrency=1)
    with pytest.raises(ValueError, match="concurrency"):
        smallest_replica("llama-3.1-8b", "bf16", 80, context_tokens=1000, concurrency=-1)

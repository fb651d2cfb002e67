"""Model catalog and the smallest deployable replica of a model by GPU-memory fit.

Specs live in ``calibration/models/<id>.yaml`` (one file per model; ``id`` = file stem, the same
lowercase-hyphen model class the hardware curves use, e.g. ``llama-3.3-70b``). Every number carries
a ``source``; the loader refuses a file where a number has none.

Memory model (per GPU, all in bytes)
------------------------------------
A replica of ``n`` GPUs is tensor parallel inside one node (``tp = min(n, 8)``) and pipeline
parallel across nodes (``pp = n / 8``); sizes are 1, 2, 4, 8, then whole multiples of 8.

* weights: :func:`weight_bytes` / n (tensor + pipeline parallelism shard the weights evenly; the
  few replicated tensors such as norms are ignored);
* KV cache: ``concurrency x`` :func:`kv_bytes_per_sequence` / shards, where shards =
  ``pp x min(tp, num_kv_heads)`` for GQA. MLA caches one latent per token that every head shares,
  so tensor parallelism cannot split it and each TP rank holds a full copy (shards = ``pp``);
  DP-attention deployments that avoid the copy are not modelled (conservative);
* runtime overhead: :data:`RUNTIME_OTHER_BYTES` + :data:`NCCL_BYTES_BY_TP` [tp] + activations
  ``2 B x`` :data:`ACTIVATION_TOKENS` ``x num_attention_heads x head_dim x coefficient[tp]``
  (:data:`ACTIVATION_COEFFICIENTS`), aiconfigurator's memory model;
* usable: ``memory_gb x`` :data:`GIB` ``x`` :data:`GPU_MEMORY_UTILIZATION`.

The replica fits when the per-GPU need is at most the usable memory. ``Replica.bytes_needed`` is
the need summed over the replica's GPUs (= weights + KV, copies included, + n x overhead).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from sim.catalog.hardware import GPUProfile, load_hardware, normalise_model_class
from sim.catalog.sourced import SourcedFileError, SourcedReader, is_number

__all__ = [
    "DEFAULT_DIR",
    "GIB",
    "GPU_MEMORY_UTILIZATION",
    "RUNTIME_OTHER_BYTES",
    "NCCL_BYTES_BY_TP",
    "ACTIVATION_TOKENS",
    "ACTIVATION_COEFFICIENTS",
    "UNQUANTIZED_BYTES_PER_PARAM",
    "KV_BYTES_PER_ELEMENT",
    "DEFAULT_KV_PRECISION",
    "GPUS_PER_NODE",
    "MAX_GPUS_PER_REPLICA",
    "ModelCatalogError",
    "ModelFitError",
    "WeightFormat",
    "ModelSpec",
    "Replica",
    "load_models",
    "get_model",
    "model_ids",
    "weight_bytes",
    "kv_bytes_per_token",
    "kv_bytes_per_sequence",
    "runtime_overhead_bytes",
    "replica_sizes",
    "smallest_replica",
    "smallest_replica_for_gpu",
]

# ----------------------------------------------------------------------------- constants
# Sources: "AIC" = ai-dynamo/aiconfigurator @095f58a5 (the repo the hardware catalog's memory_gb
# values come from).

#: ``<repo>/calibration/models`` (``sim/`` sits at the repository root).
DEFAULT_DIR: Path = Path(__file__).resolve().parents[2] / "calibration" / "models"

#: Bytes per "GB" of the hardware catalog's ``memory_gb``: those values are AIC's ``mem_capacity``,
#: which is in GiB (AIC aic-core/src/aiconfigurator_core/systems/h100_sxm.yaml:
#: ``mem_capacity: 85899345920 # 80GiB``; h200 141 GiB, b200 180 GiB).
GIB: int = 1 << 30

#: Share of device memory the engine may use (weights + activations + KV). vLLM
#: ``CacheConfig.gpu_memory_utilization`` default 0.9 (vllm/config/cache.py v0.14-v0.19; 0.92 from
#: v0.22, per AIC aic-core/src/aiconfigurator_core/sdk/backends/vllm_backend.py); 0.9 is the
#: long-standing default and the conservative one.
GPU_MEMORY_UTILIZATION: float = 0.90

#: Per-GPU CUDA context, cuBLAS workspaces etc.: AIC systems/{h100,h200,b200}_sxm.yaml
#: ``misc.other_mem: 3758096384`` (3.5 GiB, "increase from 551MB to 3.5GB for safer deployment").
RUNTIME_OTHER_BYTES: int = 3_758_096_384

#: Per-GPU NCCL buffers by tensor-parallel degree: AIC systems/{h100,h200,b200}_sxm.yaml
#: ``misc.nccl_mem`` (1: 0, 2: 342 MiB, 4: 392 MiB, 8: 392 MiB).
NCCL_BYTES_BY_TP: Mapping[int, int] = MappingProxyType(
    {1: 0, 2: 358_612_992, 4: 411_041_792, 8: 411_041_792})

#: Tokens in one forward pass, which sets peak activation memory: vLLM
#: ``EngineArgs.get_batch_defaults`` max_num_batched_tokens 8192 for the OpenAI server on GPUs with
#: >= 70 GiB (vllm/engine/arg_utils.py; 2048 on smaller GPUs, which this catalog does not have).
ACTIVATION_TOKENS: int = 8192

#: Activation bytes = 2 x tokens x num_attention_heads x head_dim x coefficient[tp]: AIC
#: sdk/backends/base_backend.py ``_get_memory_usage`` with the coefficient table of
#: sdk/backends/trtllm_backend.py (reused by its vLLM backend): "LLAMA" for dense models,
#: "MOE"/"DEEPSEEK" (identical) for MoE. AIC's extra MoE block-scale workspace is not modelled.
ACTIVATION_COEFFICIENTS: Mapping[str, Mapping[int, float]] = MappingProxyType({
    "dense": MappingProxyType({1: 11.0, 2: 6.5, 4: 5.0, 8: 5.0}),
    "moe": MappingProxyType({1: 22.0, 2: 13.0, 4: 10.0, 8: 10.0}),
})
ACTIVATION_BYTES_PER_ELEMENT: int = 2  # BF16 activations (AIC's factor 2)

#: Bytes per parameter of tensors a quantized checkpoint leaves unquantized (embeddings, lm_head,
#: norms, ...): BF16. Each ``calibration/models`` precision states which parameters it quantizes.
UNQUANTIZED_BYTES_PER_PARAM: float = 2.0

#: KV-cache element sizes: vLLM ``--kv-cache-dtype`` auto (= model dtype BF16/FP16, 2 B) or fp8
#: (E4M3/E5M2, 1 B).
KV_BYTES_PER_ELEMENT: Mapping[str, int] = MappingProxyType({"bf16": 2, "fp16": 2, "fp8": 1})

#: vLLM's default ``kv_cache_dtype="auto"`` keeps the KV cache in the activation dtype (BF16) even
#: for FP8/FP4 weights; pass ``kv_precision="fp8"`` for an FP8 cache.
DEFAULT_KV_PRECISION: str = "bf16"

#: GPUs per node (HGX/DGX 8-GPU boards; AIC systems/*.yaml ``node.num_gpus_per_node: 8``).
GPUS_PER_NODE: int = 8

#: Largest replica tried: 72 GPUs = one GB200 NVL72 NVLink domain, nine 8-GPU nodes.
MAX_GPUS_PER_REPLICA: int = 72

_ARCHITECTURES = ("dense", "moe")
_ATTENTIONS = ("gqa", "mla")


class ModelCatalogError(SourcedFileError):
    """A model spec file is missing or malformed; the message names the file and key path."""


class ModelFitError(ValueError):
    """The model, precision or GPU is unknown, or no replica up to the maximum size fits."""


# ----------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class WeightFormat:
    """How one precision stores the weights: ``quantized_params`` at ``bytes_per_param`` (scales
    included), the rest of the model at :data:`UNQUANTIZED_BYTES_PER_PARAM`."""

    precision: str
    format: str
    bytes_per_param: float
    quantized_params: int


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """One model: parameter counts, the architecture numbers that size its KV cache, its maximum
    context and the precisions it is served in. ``sources`` maps a key path to its source text.

    GQA models set ``num_kv_heads`` and ``head_dim``; MLA models set ``kv_lora_rank`` and
    ``qk_rope_head_dim``. ``sliding_window_layers`` of the ``num_layers`` cache at most
    ``sliding_window`` tokens per sequence.
    """

    id: str
    name: str
    hf_repo: str
    aliases: tuple[str, ...]
    architecture: str
    attention: str
    total_params: int
    active_params: int
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    max_context_tokens: int
    precisions: Mapping[str, WeightFormat]
    sources: Mapping[str, str]
    num_kv_heads: int | None = None
    head_dim: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    sliding_window: int | None = None
    sliding_window_layers: int = 0
    num_experts: int | None = None
    experts_per_token: int | None = None
    path: Path | None = None

    @property
    def is_moe(self) -> bool:
        """True for a mixture-of-experts model."""
        return self.architecture == "moe"

    @property
    def full_attention_layers(self) -> int:
        """Layers whose KV cache holds every token of the sequence."""
        return self.num_layers - self.sliding_window_layers

    def precision_names(self) -> list[str]:
        """Precisions this model is served in, sorted."""
        return sorted(self.precisions)


@dataclass(frozen=True)
class Replica:
    """The smallest replica that holds a model, with its memory account (bytes, summed over GPUs).

    ``kv_bytes`` counts every copy (MLA latents are replicated across TP ranks);
    ``bytes_needed = weight_bytes + kv_bytes + overhead_bytes``; ``bytes_available`` = usable memory
    of all ``gpus``; ``max_concurrency`` is how many sequences of ``context_tokens`` it could hold.
    """

    model: str
    precision: str
    kv_precision: str
    gpus: int
    tensor_parallel: int
    pipeline_parallel: int
    gpu_memory_gb: float
    context_tokens: int
    concurrency: int
    weight_bytes: int
    kv_bytes: int
    overhead_bytes: int
    bytes_needed: int
    bytes_available: int
    max_concurrency: int
    explain: str


# ----------------------------------------------------------------------------- pure functions


def _weight_format(spec: ModelSpec, precision: str) -> WeightFormat:
    p = precision.strip().lower()
    if p not in spec.precisions:
        raise ModelFitError(f"model {spec.id!r} has no precision {precision!r}; "
                            f"available: {', '.join(spec.precision_names())}")
    return spec.precisions[p]


def _kv_element_bytes(kv_precision: str) -> int:
    k = kv_precision.strip().lower()
    if k not in KV_BYTES_PER_ELEMENT:
        raise ModelFitError(f"unknown KV-cache precision {kv_precision!r}; "
                            f"available: {', '.join(sorted(KV_BYTES_PER_ELEMENT))}")
    return KV_BYTES_PER_ELEMENT[k]


def weight_bytes(spec: ModelSpec, precision: str) -> int:
    """Bytes of all weights at ``precision``: quantized part x its bytes/param + rest x 2, rounded up.

    Raises:
        ModelFitError: the model is not served in ``precision``.
    """
    f = _weight_format(spec, precision)
    rest = spec.total_params - f.quantized_params
    return math.ceil(f.quantized_params * f.bytes_per_param + rest * UNQUANTIZED_BYTES_PER_PARAM)


def _kv_values_per_token_per_layer(spec: ModelSpec) -> int:
    if spec.attention == "mla":
        assert spec.kv_lora_rank is not None and spec.qk_rope_head_dim is not None
        return spec.kv_lora_rank + spec.qk_rope_head_dim  # one shared latent, no separate K and V
    assert spec.num_kv_heads is not None and spec.head_dim is not None
    return 2 * spec.num_kv_heads * spec.head_dim  # K and V


def kv_bytes_per_token(spec: ModelSpec, kv_precision: str = DEFAULT_KV_PRECISION) -> int:
    """KV-cache bytes each token adds, over the layers that keep every token.

    GQA: ``2 x kv_heads x head_dim`` values per layer; MLA: ``kv_lora_rank + qk_rope_head_dim``.
    Sliding-window layers are excluded (they hold at most ``sliding_window`` tokens; see
    :func:`kv_bytes_per_sequence`).

    Raises:
        ModelFitError: unknown ``kv_precision``.
    """
    b = _kv_element_bytes(kv_precision)
    return spec.full_attention_layers * _kv_values_per_token_per_layer(spec) * b


def kv_bytes_per_sequence(spec: ModelSpec, context_tokens: int,
                          kv_precision: str = DEFAULT_KV_PRECISION) -> int:
    """KV-cache bytes of one sequence of ``context_tokens`` (prompt + output) tokens.

    Full-attention layers cache every token; sliding-window layers cache ``min(context,
    sliding_window)`` tokens (vLLM's hybrid KV cache manager frees blocks outside the window;
    block rounding is ignored).

    Raises:
        ModelFitError: unknown ``kv_precision``.
    """
    if context_tokens < 0:
        raise ValueError(f"context_tokens must be >= 0, got {context_tokens!r}")
    b = _kv_element_bytes(kv_precision)
    per_layer = _kv_values_per_token_per_layer(spec) * b
    window = min(context_tokens, spec.sliding_window or 0)
    return (spec.full_attention_layers * context_tokens + spec.sliding_window_layers * window) * per_layer


def _tp_pp(gpus: int) -> tuple[int, int]:
    tp = min(gpus, GPUS_PER_NODE)
    return tp, gpus // tp


def runtime_overhead_bytes(spec: ModelSpec, tensor_parallel: int,
                           activation_tokens: int = ACTIVATION_TOKENS) -> float:
    """Per-GPU runtime memory besides weights and KV cache: other + NCCL + peak activations."""
    if tensor_parallel not in NCCL_BYTES_BY_TP:
        raise ValueError(f"tensor_parallel must be one of {sorted(NCCL_BYTES_BY_TP)}, got {tensor_parallel!r}")
    head_dim = spec.head_dim or spec.hidden_size // spec.num_attention_heads  # AIC's default
    coeff = ACTIVATION_COEFFICIENTS["moe" if spec.is_moe else "dense"][tensor_parallel]
    act = ACTIVATION_BYTES_PER_ELEMENT * activation_tokens * spec.num_attention_heads * head_dim * coeff
    return RUNTIME_OTHER_BYTES + NCCL_BYTES_BY_TP[tensor_parallel] + act


def replica_sizes(max_gpus: int = MAX_GPUS_PER_REPLICA) -> tuple[int, ...]:
    """Replica sizes tried, smallest first: 1, 2, 4, 8, then multiples of 8 up to ``max_gpus``."""
    small = tuple(n for n in (1, 2, 4, 8) if n <= max_gpus)
    return small + tuple(range(2 * GPUS_PER_NODE, max_gpus + 1, GPUS_PER_NODE))


def _kv_shards(spec: ModelSpec, tp: int, pp: int) -> int:
    if spec.attention == "mla":
        return pp  # the shared latent cannot be split across TP ranks
    assert spec.num_kv_heads is not None
    return pp * min(tp, spec.num_kv_heads)  # beyond num_kv_heads the heads are replicated


def _gib(x: float) -> str:
    return f"{x / GIB:.1f} GiB"


def smallest_replica(
    spec: ModelSpec | str,
    precision: str,
    gpu_memory_gb: float,
    *,
    context_tokens: int,
    concurrency: int,
    kv_precision: str = DEFAULT_KV_PRECISION,
    usable_fraction: float = GPU_MEMORY_UTILIZATION,
    activation_tokens: int = ACTIVATION_TOKENS,
    max_gpus: int = MAX_GPUS_PER_REPLICA,
) -> Replica:
    """Fewest GPUs (1, 2, 4, 8, 16, ... ``max_gpus``) of ``gpu_memory_gb`` (GiB, as in the hardware
    catalog) that hold ``spec`` at ``precision`` plus the KV cache of ``concurrency`` sequences of
    ``context_tokens`` tokens each. ``spec`` may be a name (resolved like :func:`get_model`).

    Raises:
        ModelFitError: unknown model / precision / KV precision, ``context_tokens`` above the
            model's maximum context, or no replica up to ``max_gpus`` fits.
        ValueError: non-positive memory or fraction, negative counts.
    """
    if isinstance(spec, str):
        spec = get_model(spec)
    if not (gpu_memory_gb > 0 and math.isfinite(gpu_memory_gb)):
        raise ValueError(f"gpu_memory_gb must be positive, got {gpu_memory_gb!r}")
    if not 0 < usable_fraction <= 1:
        raise ValueError(f"usable_fraction must be in (0, 1], got {usable_fraction!r}")
    if concurrency < 0 or context_tokens < 0 or activation_tokens < 0:
        raise ValueError("context_tokens, concurrency and activation_tokens must be >= 0")
    if max_gpus < 1:
        raise ValueError(f"max_gpus must be >= 1, got {max_gpus!r}")
    if context_tokens > spec.max_context_tokens:
        raise ModelFitError(f"model {spec.id!r}: context_tokens {context_tokens} exceeds its maximum "
                            f"context {spec.max_context_tokens}")
    prec = _weight_format(spec, precision).precision
    kvp = kv_precision.strip().lower()
    w = weight_bytes(spec, prec)
    seq = kv_bytes_per_sequence(spec, context_tokens, kvp)
    kv = concurrency * seq
    avail_gpu = gpu_memory_gb * GIB * usable_fraction
    what = (f"{spec.id} {prec} on {gpu_memory_gb:g} GiB GPUs ({usable_fraction:g} usable), "
            f"{concurrency} x {context_tokens} tokens of {kvp} KV")
    failed: list[str] = []
    for n in replica_sizes(max_gpus):
        tp, pp = _tp_pp(n)
        shards = _kv_shards(spec, tp, pp)
        over = runtime_overhead_bytes(spec, tp, activation_tokens)
        need_gpu = w / n + kv / shards + over
        if need_gpu > avail_gpu:
            failed.append(f"{n} GPU{'s' if n > 1 else ''} {_gib(need_gpu)}")
            continue
        room = avail_gpu - w / n - over
        max_conc = int(room * shards // seq) if seq > 0 else concurrency
        layout = f"TP{tp}" + (f" x PP{pp}" if pp > 1 else "")
        explain = (f"{what}: {n} GPU{'s' if n > 1 else ''} ({layout}); per GPU "
                   f"{_gib(w / n)} weights + {_gib(kv / shards)} KV + {_gib(over)} runtime = "
                   f"{_gib(need_gpu)} <= {_gib(avail_gpu)} usable")
        if failed:
            explain += f"; per-GPU need of smaller replicas: {', '.join(failed)}"
        return Replica(
            model=spec.id, precision=prec, kv_precision=kvp, gpus=n, tensor_parallel=tp,
            pipeline_parallel=pp, gpu_memory_gb=float(gpu_memory_gb),
            context_tokens=context_tokens, concurrency=concurrency, weight_bytes=w,
            kv_bytes=math.ceil(kv * n / shards), overhead_bytes=math.ceil(over * n),
            bytes_needed=math.ceil(need_gpu * n), bytes_available=math.floor(avail_gpu * n),
            max_concurrency=max_conc, explain=explain)
    raise ModelFitError(f"{what}: nothing up to {max_gpus} GPUs fits (per GPU need by size: "
                        f"{', '.join(failed)}; usable {_gib(avail_gpu)})")


def smallest_replica_for_gpu(
    spec: ModelSpec | str,
    precision: str,
    gpu: GPUProfile | str,
    *,
    context_tokens: int,
    concurrency: int,
    hardware_dir: Path | str | None = None,
    **kwargs: Any,
) -> Replica:
    """:func:`smallest_replica` with the GPU memory read from the hardware catalog (``memory_gb``).

    ``gpu`` is a :class:`GPUProfile` or a hardware id (``"h100-sxm"``); other keywords pass through.

    Raises:
        ModelFitError: as :func:`smallest_replica`, or an unknown GPU id.
    """
    if isinstance(gpu, str):
        hw = load_hardware(hardware_dir)
        if gpu not in hw:
            raise ModelFitError(f"unknown GPU {gpu!r}; available: {', '.join(sorted(hw))}")
        gpu = hw[gpu]
    return smallest_replica(spec, precision, gpu.memory_gb, context_tokens=context_tokens,
                            concurrency=concurrency, **kwargs)


# ----------------------------------------------------------------------------- loading

_SCALARS_REQUIRED = ("total_params", "active_params", "num_layers", "hidden_size",
                     "num_attention_heads", "max_context_tokens")
_SCALARS_OPTIONAL = ("num_kv_heads", "head_dim", "kv_lora_rank", "qk_rope_head_dim", "sliding_window",
                     "sliding_window_layers", "num_experts", "experts_per_token")
_DOC_ONLY = ("intermediate_size", "moe_intermediate_size", "vocab_size")  # sourced, not used here
_TOP_KEYS = frozenset(("id", "name", "hf_repo", "aliases", "architecture", "attention", "precisions")
                      + _SCALARS_REQUIRED + _SCALARS_OPTIONAL + _DOC_ONLY)
_VALUE_KEYS = frozenset(("value", "source", "grade", "note"))
_PRECISION_KEYS = frozenset(("format", "bytes_per_param", "quantized_params"))


class _Reader(SourcedReader):
    """Validating accessors that report ``file: key.path: problem`` as :class:`ModelCatalogError`."""

    error = ModelCatalogError

    def text(self, doc: dict[str, Any], key: str, where: str | None = None) -> str:
        v = doc.get(key)
        if not isinstance(v, str) or not v.strip():
            raise self.fail(where or key, "missing or not a non-empty string")
        return v.strip()

    def value(self, doc: dict[str, Any], key: str, where: str, *, integer: bool,
              hi: float = math.inf) -> float:
        m = doc.get(key)
        if not isinstance(m, dict):
            raise self.fail(where, "missing (expected a mapping with value and source)")
        extra = set(m) - _VALUE_KEYS
        if extra:
            raise self.fail(where, f"unknown keys {sorted(extra)}")
        self.source(m, where)
        v = m.get("value")
        if not is_number(v) or not math.isfinite(v):
            raise self.fail(f"{where}.value", f"expected a number, got {v!r}")
        if integer and (not isinstance(v, int) or v < 1):
            raise self.fail(f"{where}.value", f"expected a positive whole number, got {v!r}")
        self.in_range(v, f"{where}.value", lo=0, hi=hi)  # lo=0, not 0.0: the message reads (0, hi]
        return v


def _read_precision(r: _Reader, name: Any, m: Any, total: int) -> WeightFormat:
    where = f"precisions.{name}"
    if not isinstance(name, str) or name != name.strip().lower() or not name:
        raise r.fail(where, "precision names must be lowercase strings (bf16, fp8, fp4)")
    if not isinstance(m, dict):
        raise r.fail(where, "expected a mapping")
    extra = set(m) - _PRECISION_KEYS
    if extra:
        raise r.fail(where, f"unknown keys {sorted(extra)}")
    bpp = r.value(m, "bytes_per_param", f"{where}.bytes_per_param", integer=False, hi=4.0)
    q = int(r.value(m, "quantized_params", f"{where}.quantized_params", integer=True, hi=total)) \
        if "quantized_params" in m else total
    return WeightFormat(precision=name, format=r.text(m, "format", f"{where}.format"),
                        bytes_per_param=float(bpp), quantized_params=q)


def _read_spec(path: Path) -> ModelSpec:
    r = _Reader(path)
    doc = r.read()
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise r.fail("<root>", f"unknown keys {sorted(unknown)}")
    mid = r.text(doc, "id")
    if mid != path.stem:
        raise r.fail("id", f"{mid!r} must equal the file name {path.stem!r}")
    if mid != normalise_model_class(mid):
        raise r.fail("id", f"{mid!r} is not lowercase-hyphen")
    arch, att = r.text(doc, "architecture"), r.text(doc, "attention")
    if arch not in _ARCHITECTURES:
        raise r.fail("architecture", f"expected one of {_ARCHITECTURES}, got {arch!r}")
    if att not in _ATTENTIONS:
        raise r.fail("attention", f"expected one of {_ATTENTIONS}, got {att!r}")
    aliases = doc.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise r.fail("aliases", "expected a list of non-empty strings")

    n: dict[str, int] = {}
    for k in _SCALARS_REQUIRED:
        n[k] = int(r.value(doc, k, k, integer=True))
    for k in _SCALARS_OPTIONAL + _DOC_ONLY:
        if k in doc:
            n[k] = int(r.value(doc, k, k, integer=True))
    if n["active_params"] > n["total_params"]:
        raise r.fail("active_params.value", "exceeds total_params")
    if arch == "dense" and n["active_params"] != n["total_params"]:
        raise r.fail("active_params.value", "a dense model uses all parameters (= total_params)")
    need = ("num_kv_heads", "head_dim") if att == "gqa" else ("kv_lora_rank", "qk_rope_head_dim")
    for k in need:
        if k not in n:
            raise r.fail(k, f"required for {att} attention")
    swl = n.get("sliding_window_layers", 0)
    if ("sliding_window" in n) != ("sliding_window_layers" in n):
        raise r.fail("sliding_window", "sliding_window and sliding_window_layers go together")
    if swl >= n["num_layers"]:
        raise r.fail("sliding_window_layers.value", "must be below num_layers")

    precs_doc = doc.get("precisions")
    if not isinstance(precs_doc, dict) or not precs_doc:
        raise r.fail("precisions", "missing or empty")
    precs = {p: _read_precision(r, p, m, n["total_params"]) for p, m in precs_doc.items()}
    r.check_all_sourced(doc)
    return ModelSpec(
        id=mid, name=r.text(doc, "name"), hf_repo=r.text(doc, "hf_repo"),
        aliases=tuple(a.strip() for a in aliases), architecture=arch, attention=att,
        total_params=n["total_params"], active_params=n["active_params"],
        num_layers=n["num_layers"], hidden_size=n["hidden_size"],
        num_attention_heads=n["num_attention_heads"], max_context_tokens=n["max_context_tokens"],
        precisions=MappingProxyType(precs), sources=MappingProxyType(dict(r.sources)),
        num_kv_heads=n.get("num_kv_heads"), head_dim=n.get("head_dim"),
        kv_lora_rank=n.get("kv_lora_rank"), qk_rope_head_dim=n.get("qk_rope_head_dim"),
        sliding_window=n.get("sliding_window"), sliding_window_layers=swl,
        num_experts=n.get("num_experts"), experts_per_token=n.get("experts_per_token"), path=path)


@functools.lru_cache(maxsize=8)
def _load_dir(directory: str) -> tuple[ModelSpec, ...]:
    d = Path(directory)
    files = sorted(d.glob("*.yaml"))
    if not files:
        raise ModelCatalogError(d, "<directory>", "no *.yaml model specs found")
    specs = tuple(_read_spec(f) for f in files)
    seen: dict[str, str] = {}
    for s in specs:
        for name in (s.id, *s.aliases, s.hf_repo):
            key = normalise_model_class(name)
            if seen.setdefault(key, s.id) != s.id:
                raise ModelCatalogError(s.path or d, "aliases", f"{name!r} also names {seen[key]!r}")
    return specs


def load_models(directory: Path | str | None = None) -> dict[str, ModelSpec]:
    """All specs in ``directory`` (default ``<repo>/calibration/models``), keyed by id.

    Cached per resolved directory (``load_models.cache_clear()`` after editing files in a running
    process); each call returns a new dict of the same frozen specs.

    Raises:
        ModelCatalogError: a file is missing, unparsable or invalid (message: file and key path).
    """
    d = Path(directory) if directory is not None else DEFAULT_DIR
    return {s.id: s for s in _load_dir(str(d.resolve()))}


load_models.cache_clear = _load_dir.cache_clear  # type: ignore[attr-defined]


def model_ids(directory: Path | str | None = None) -> list[str]:
    """Sorted ids of the catalog's models."""
    return sorted(load_models(directory))


def get_model(name: str, directory: Path | str | None = None) -> ModelSpec:
    """The spec named ``name``: its id, an alias or its HF repo, in any case/spacing
    (normalised like :meth:`GPUProfile.curve`, so ``"Llama-3.3-70B"`` finds ``llama-3.3-70b``).

    Raises:
        ModelFitError: no such model; the message lists the ids.
    """
    specs = _load_dir(str((Path(directory) if directory is not None else DEFAULT_DIR).resolve()))
    want = normalise_model_class(name) if isinstance(name, str) else ""
    for s in specs:
        if want in {normalise_model_class(x) for x in (s.id, *s.aliases, s.hf_repo)}:
            return s
    raise ModelFitError(f"unknown model {name!r}; available: {', '.join(sorted(s.id for s in specs))}")

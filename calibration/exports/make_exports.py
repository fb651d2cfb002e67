"""Write the synthetic example exports in this folder (deterministic; `python make_exports.py`).

What a team would download from OpenAI's organization Usage API (completions, 1-day buckets, one
page per 30 days) and Costs API for two models, 2026-06-01 .. 2026-09-28 (120 days):

- gpt-4.1-mini (a support chat): 42,000 requests on an average day at the start, +0.35 % a day,
  weekends at 45 % of a weekday; 2,600 input tokens per request of which 35 % cached, 420 output;
- gpt-4.1 (an internal agent): 6,500 requests a day, +0.5 % a day, weekends at 20 %; 9,000 input
  (55 % cached), 900 output.

Day-to-day noise is AR(1) in log volume (persistence 0.5, coefficient of variation 0.12). Costs are
billed at 85 % of list (genai-prices list rates at 2026-06: gpt-4.1-mini $0.40 in / $0.10 cached /
$1.60 out, gpt-4.1 $2.00 / $0.50 / $8.00 per million tokens), one line item per model and
direction. Not real data: it exists so the README's example runs on a fresh clone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START = dt.date(2026, 6, 1)
DAYS = 120
MODELS = {  # name: (requests/day, growth/day, weekend share, input, cached share, output, list in, cached, out)
    "gpt-4.1-mini-2025-04-14": (42000, 0.0035, 0.45, 2600, 0.35, 420, 0.40, 0.10, 1.60),
    "gpt-4.1-2025-04-14": (6500, 0.005, 0.20, 9000, 0.55, 900, 2.00, 0.50, 8.00),
}
DISCOUNT = 0.15


def main() -> None:
    rng = np.random.default_rng(20260601)
    usage_pages, cost_buckets = [], []
    series = {}
    for m, (n0, g, wkend, *_rest) in MODELS.items():
        sig = math.sqrt(math.log1p(0.12 ** 2))
        x = np.zeros(DAYS)
        x[0] = sig * rng.standard_normal()
        for d in range(1, DAYS):
            x[d] = 0.5 * x[d - 1] + math.sqrt(1 - 0.25) * sig * rng.standard_normal()
        days = [START + dt.timedelta(days=d) for d in range(DAYS)]
        week = np.array([wkend if day.weekday() >= 5 else 1.0 for day in days])
        series[m] = np.round(n0 * np.exp(g * np.arange(DAYS)) * week * np.exp(x - sig ** 2 / 2)).astype(int)
    for page0 in range(0, DAYS, 30):
        data = []
        for d in range(page0, min(DAYS, page0 + 30)):
            t0 = int(dt.datetime(START.year, START.month, START.day, tzinfo=dt.timezone.utc).timestamp()) + 86400 * d
            results, costs = [], []
            for m, (_n0, _g, _w, inp, cshare, out, p_in, p_c, p_out) in MODELS.items():
                n = int(series[m][d])
                tin, tc, tout = n * inp, int(n * inp * cshare), n * out
                results.append({"object": "organization.usage.completions.result", "input_tokens": tin,
                                "input_cached_tokens": tc, "output_tokens": tout, "input_audio_tokens": 0,
                                "output_audio_tokens": 0, "num_model_requests": n, "project_id": "proj_support",
                                "user_id": None, "api_key_id": None, "model": m, "batch": False, "service_tier": None})
                f = 1 - DISCOUNT
                for item, amount in ((f"{m}, input", (tin - tc) * p_in / 1e6), (f"{m}, cached input", tc * p_c / 1e6),
                                     (f"{m}, output", tout * p_out / 1e6)):
                    costs.append({"object": "organization.costs.result",
                                  "amount": {"value": round(f * amount, 6), "currency": "usd"},
                                  "line_item": item, "project_id": "proj_support"})
            data.append({"object": "bucket", "start_time": t0, "end_time": t0 + 86400, "results": results})
            cost_buckets.append({"object": "bucket", "start_time": t0, "end_time": t0 + 86400, "results": costs})
        usage_pages.append({"object": "page", "data": data, "has_more": page0 + 30 < DAYS,
                            "next_page": f"page_{page0 // 30 + 2}" if page0 + 30 < DAYS else None})
    (HERE / "openai_usage_completions.json").write_text(json.dumps(usage_pages, indent=1) + "\n")
    (HERE / "openai_costs.json").write_text(json.dumps({"object": "page", "data": cost_buckets, "has_more": False,
                                                        "next_page": None}, indent=1) + "\n")


if __name__ == "__main__":
    main()

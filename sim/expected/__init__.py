"""The expected-value engine: every input at its mean, demand dispatched hour by hour."""

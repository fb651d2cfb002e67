"""Monte Carlo engine: per-path sampling, the numba hourly kernel, results, runners."""

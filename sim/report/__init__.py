"""Reports: tables, plots and files written atomically."""

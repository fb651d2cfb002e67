"""Ground floor: atomic file writes and output paths; imports nothing from sim."""

"""What emotrack writes: the trajectory schema, live outputs (CSV, JSON lines, OSC),
per-track files (CSV, JSON, PNG), their names, checks and atomic writes."""

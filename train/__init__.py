"""emotrack.train."""

"""emotrack.assets."""

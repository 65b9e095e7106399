"""emotrack.model."""

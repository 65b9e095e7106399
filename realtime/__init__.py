"""emotrack.realtime."""

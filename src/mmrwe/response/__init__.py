"""response stage."""

"""lines stage."""

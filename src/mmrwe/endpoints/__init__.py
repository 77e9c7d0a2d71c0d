"""endpoints stage."""

"""``mmrwe validate COHORT``: check a cohort directory and print every problem."""

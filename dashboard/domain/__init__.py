"""Pure domain rules (no Flask, no database): cookie levels, consent state, merging, segments."""

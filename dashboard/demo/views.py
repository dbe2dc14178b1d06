"""Demo website pages (issue 3)."""

"""Tracking API routes (issue 3)."""

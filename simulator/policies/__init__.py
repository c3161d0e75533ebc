"""Allocation (where a sample is answered) and compression (what goes down) policies."""

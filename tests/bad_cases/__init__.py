"""Malformed cases: each must be named with what is wrong while the fine one still runs."""

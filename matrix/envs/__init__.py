"""Lineup environments: the lineup, locking its pins, finding interpreters, building and reusing environments."""

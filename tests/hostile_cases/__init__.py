"""Cases that change the worker's process for every case after them, each in its own way (issue: isolation)."""

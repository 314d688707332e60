"""Results on disk: the store (RunDir owns every file name), reading runs, publishing and merging, provenance."""

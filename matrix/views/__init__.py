"""Views of results: frames, compare, diff, triage, claims, GPU, reproductions, the report and the site."""

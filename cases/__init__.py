"""The corpus: one module per export pitfall (see README.md, "Adding a case")."""

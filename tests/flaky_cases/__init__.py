"""Cases whose outcome changes between runs, for the confirmation of unexpected cells."""

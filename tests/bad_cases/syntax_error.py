"""A case with a syntax error on line 4."""

def build(:
    pass

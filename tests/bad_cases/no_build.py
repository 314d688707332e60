"""A case that forgot its build() function."""


def make():
    return None

"""A second corpus whose one case reuses an id of fake_cases."""

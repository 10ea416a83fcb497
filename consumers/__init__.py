"""Projectors that turn the log into read models, and the runner that feeds them."""

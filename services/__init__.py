"""Decisions on the command side: settings, capture, API keys, demo data, the composition root."""

"""Webhooks by the Standard Webhooks specification: subscriptions, a delivery outbox and its sender."""

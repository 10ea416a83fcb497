"""The webhooks projector: writes the delivery outbox in the transaction that stores its position."""

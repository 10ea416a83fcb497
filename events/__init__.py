"""What an event is: the envelope, the schema of every type, canonical JSON and the log."""

"""The composition root: wires the log, the database, the projectors and the app from settings.

Only the entry points (the ``oretrail`` command, the embedded server, the WSGI app) and the
tests and benchmarks import this package; no library layer (events, services, consumers, api) does.
"""

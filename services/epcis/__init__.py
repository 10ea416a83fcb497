"""GS1 EPCIS 2.0: Oretrail's events as EPCIS documents and back, and the GS1 event hash."""

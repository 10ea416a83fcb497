"""Due diligence (OECD five steps, Annex II risks): risks, their handling, audits, and a product's status."""

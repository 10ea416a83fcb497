"""The impact read model: community indicators by gender, value distribution and payouts."""

"""Feature tables for Feast: point-in-time transaction features, activity, identity lookup."""

"""Challenges: an umbrella over problem statements (competitions) from several organisations."""

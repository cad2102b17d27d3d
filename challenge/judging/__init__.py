"""Judging: annotations, flags, disqualifications, re-scoring, reproduction and finalization."""

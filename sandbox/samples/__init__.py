"""Sample submissions of every format, on a small binary task (see generate.py)."""

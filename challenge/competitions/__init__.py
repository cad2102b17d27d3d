"""Competitions from built-in problems or host bundles; phases; data files."""

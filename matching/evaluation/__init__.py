"""Measuring matching on judged sets (``evaluate_matching``) and fitting its weights (``fit_matching``)."""

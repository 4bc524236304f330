"""Scoring: batch scoring of CSVs, live scoring of one tweet, the monitor's logic."""

"""Runs that drive the stages: one feed end to end, a group of feeds, the run plan and summary, the
streaming loop, reprocessing and the raw archive."""

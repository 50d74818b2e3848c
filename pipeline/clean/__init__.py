"""The clean stage: one parse of the page, extraction, site and generic rules, dates and language."""

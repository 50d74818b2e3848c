"""RSS/Atom feeds: polling, feed state, poll schedules, feed groups and leases."""

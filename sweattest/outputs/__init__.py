"""What leaves the lab bench: reports, LIMS files, atomic file writes."""

"""QA analytics over the run store (pandas): run lists, QNS rates, QC charts, monthly summaries."""

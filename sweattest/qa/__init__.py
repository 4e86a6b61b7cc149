"""QA analytics over the run store: run lists, QNS rates, Levey-Jennings charts, monthly summary, the QA records'
figures and the evidence pack. Each module is imported by name (pandas is loaded only by the views that use it)."""

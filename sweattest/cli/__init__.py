"""The command line: a thin shell over the same services the UI uses."""

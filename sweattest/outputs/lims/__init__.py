"""Result files for the hospital LIMS."""

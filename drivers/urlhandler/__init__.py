"""pyserial URL handlers of sweattest: ``sim://`` (simulated instruments)."""

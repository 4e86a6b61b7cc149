"""Simulated instruments that behave like the device: state, time, noise and faults, on our Clock."""

"""Simulated bench: scenarios (the simulated truth) and a simulated tech acting on the simulators."""

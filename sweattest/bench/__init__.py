"""Performing runs: the runner, instruments, simulation, orders and the lab configuration."""

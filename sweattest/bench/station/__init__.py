"""A bench station: the process that owns the instruments, performs the runs (the stimulation loop, the
runner threads) and writes the store; the web server and the command line only talk to it
(``sweattest.bench.station.channel``). See docs/safety.md, "Processes and barriers"."""

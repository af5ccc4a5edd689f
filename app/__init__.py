"""The HTTP server: the H2O scoring API over any runtime behind `runtimes.Scorer`."""

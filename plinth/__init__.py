"""Plinth's command-line tool: the offline engine and what it feeds (synth, graph)."""

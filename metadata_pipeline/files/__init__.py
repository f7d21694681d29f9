"""The disk edge: finding, reading, validating and writing config dirs, settings and filter
files, and collect's output. Calls the pure core; never imports commands."""

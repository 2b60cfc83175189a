"""Models. Each takes its input and output sizes from the data module at construction."""

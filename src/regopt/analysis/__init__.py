"""Reading the records of finished runs: tools that run after training, never during it."""

"""A sweep as a whole: the jobs it plans, and its progress while it runs."""

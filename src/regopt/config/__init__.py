"""Config plumbing that must stay light: no torch or Lightning imports here."""

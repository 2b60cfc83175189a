"""Data modules. Small data sets live in tensors and are served by slicing, not collation."""

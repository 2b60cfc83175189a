"""Regularisers: each a class with a YAML in conf/regularizer/, built by name from the config."""

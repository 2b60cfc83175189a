"""Small callbacks the config's `callbacks` group selects."""

"""Configuration: the settings every layer reads, from the environment."""

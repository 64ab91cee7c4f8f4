"""Learning Sessions: the code every function shares, shipped as the Lambda layer."""

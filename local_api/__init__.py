"""A local HTTP API for the SAM template without Docker.

samcli's own API Gateway emulation builds the events; each function runs in warm worker
processes of its own, the way Lambda keeps execution environments. Run it from the repository
root with ``python -m local_api`` (``--help`` for options).
"""

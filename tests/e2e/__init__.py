"""End-to-end tests: the local server as a process, over real HTTP."""

"""The benchmark of issue 5: the project's handlers against a bare handler and FastAPI + Mangum."""

"""Learning Sessions: the code every function shares, shipped as the Lambda layer."""

import gc
import os

# A cold start imports Powertools, Pydantic and SQLAlchemy: hundreds of thousands of objects that
# the cyclic garbage collector walks again and again for nothing while they load (about 40 ms, a
# seventh of a cold start). In a Lambda execution environment it is paused from here, the first
# import of every handler, until init_complete() at the end of the handler's module.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    gc.disable()


def init_complete() -> None:
    """Resume the collector, first moving what init created out of its reach for good."""
    gc.freeze()
    gc.enable()

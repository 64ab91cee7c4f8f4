"""HTTP: the Powertools resolver, the body guard, errors as responses, the OpenAPI fragments."""

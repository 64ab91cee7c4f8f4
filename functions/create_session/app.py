"""POST /api/sessions/: create a session; 201 with its Location."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from learning_sessions import service
from learning_sessions.api import COLLECTION_PATHS, create_resolver, json_response, lambda_entry, location_of
from learning_sessions.database import get_engine
from learning_sessions.schemas import Session, SessionCreate, SessionEnvelope

app = create_resolver()
engine = get_engine()


@app.post(COLLECTION_PATHS[0], status_code=201)
@app.post(COLLECTION_PATHS[1], status_code=201, include_in_schema=False)
def create_session(payload: Annotated[SessionCreate, Body(embed=False)]) -> Response[SessionEnvelope]:
    row = service.create_session(engine, payload)
    return json_response(201, SessionEnvelope(data=Session.model_validate(row)), {"Location": location_of(row["id"])})


lambda_handler = lambda_entry(app)

"""PATCH /api/sessions/{id}: partial update; only the fields sent change."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from learning_sessions import service
from learning_sessions.api import ITEM_PATH, SessionId, create_resolver, json_response, lambda_entry
from learning_sessions.database import get_engine
from learning_sessions.schemas import Session, SessionEnvelope, SessionUpdate

app = create_resolver()
engine = get_engine()


@app.patch(ITEM_PATH)
def update_session(id: SessionId, payload: Annotated[SessionUpdate, Body(embed=False)]) -> Response[SessionEnvelope]:
    row = service.update_session(engine, id, payload)
    return json_response(200, SessionEnvelope(data=Session.model_validate(row)))


lambda_handler = lambda_entry(app)

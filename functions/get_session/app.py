"""GET /api/sessions/{id}: one session."""

from aws_lambda_powertools.event_handler import Response

from learning_sessions import service
from learning_sessions.api import ITEM_PATH, SessionId, create_resolver, json_response, lambda_entry
from learning_sessions.database import get_engine
from learning_sessions.schemas import Session, SessionEnvelope

app = create_resolver()
engine = get_engine()


@app.get(ITEM_PATH)
def get_session(id: SessionId) -> Response[SessionEnvelope]:
    row = service.get_session(engine, id)
    return json_response(200, SessionEnvelope(data=Session.model_validate(row)))


lambda_handler = lambda_entry(app)

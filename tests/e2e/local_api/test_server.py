"""The server end to end, over HTTP, against the fixture template (one server for the module)."""

from __future__ import annotations

import base64
import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_api.conftest import Reply, Server, start_server
from tests.support.local_server import access_log, server_errors

pytestmark = pytest.mark.slow

NOT_FOUND_CODE = "not_found"


@pytest.fixture(scope="module")
def server(module_workdir: Path) -> Iterator[Server]:
    (module_workdir / ".env").write_text(
        '# local settings\nPOSTGRES_DB="from-dotenv"  # a comment\nPOSTGRES_USER=bob\nexport SOME_FLAG=1\n'
    )
    env_vars = module_workdir / "env.json"
    env_vars.write_text(
        json.dumps({"Parameters": {"SHARED_SETTING": "from-params"}, "OtherFunction": {"GREETING": "from-env-file"}})
    )
    running = start_server(
        module_workdir,
        ["--no-migrate", "--env-vars", str(env_vars), "--max-workers", "2"],
        {"POSTGRES_USER": "alice", "SERVER_ONLY": "must-not-reach-functions"},
    )
    yield running
    assert running.stop(signal.SIGTERM) == 0


def assert_not_found_envelope(reply: Reply) -> None:
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/json"
    error = reply.json()["error"]
    assert error["code"] == NOT_FOUND_CODE
    assert error["message"]
    assert error["details"] == []


def test_banner_names_the_project_port_and_database(server: Server) -> None:
    assert (
        server.banner.strip()
        == f"Serving {server.workdir.name} on {server.base_url} (database: sqlite:///learning_env.db)"
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/items", "/items/"])
def test_both_collection_spellings_reach_the_handler_as_sent(server: Server, method: str, path: str) -> None:
    reply = server.request(method, path, b"{}" if method == "POST" else None, {"Content-Type": "application/json"})

    assert reply.status == 200
    event = reply.json()["event"]
    assert event["version"] == "2.0"
    assert event["rawPath"] == path
    assert event["routeKey"] == f"{method} {path}"
    assert event["requestContext"]["http"]["path"] == path
    assert event["requestContext"]["stage"] == "$default"


def test_path_parameters_and_route_key_of_a_templated_route(server: Server) -> None:
    event = server.report("/items/42")["event"]

    assert event["routeKey"] == "GET /items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["rawPath"] == "/items/42"


@pytest.mark.parametrize("path", ["/nope", "/items/42/", "/items//", "/other/", "/slash-only"])
def test_unknown_path_is_a_json_404(server: Server, path: str) -> None:
    # Paths match exactly, as in an HTTP API: no slash leniency, merging or redirects.
    assert_not_found_envelope(server.request("GET", path))


def test_route_declared_only_with_a_trailing_slash(server: Server) -> None:
    assert server.report("/slash-only/")["event"]["routeKey"] == "GET /slash-only/"


@pytest.mark.parametrize(("method", "path"), [("PUT", "/items"), ("DELETE", "/items/1"), ("POST", "/other")])
def test_unknown_method_on_a_known_path_is_a_json_404(server: Server, method: str, path: str) -> None:
    reply = server.request(method, path, b"{}")

    assert_not_found_envelope(reply)
    assert "Missing Authentication Token" not in reply.body.decode()


def test_environment_comes_from_the_template_per_function(server: Server) -> None:
    echo = server.report("/items")["env"]
    other = server.report("/other")["env"]

    assert (echo["GREETING"], other["GREETING"]) == ("from-echo", "from-env-file")
    assert echo["GLOBAL_ONLY"] == other["GLOBAL_ONLY"] == "from-globals"
    assert echo["SHARED_SETTING"] == other["SHARED_SETTING"] == "from-params"
    assert other["ONLY_OTHER"] == "yes"
    assert "ONLY_OTHER" not in echo
    assert (echo["AWS_LAMBDA_FUNCTION_NAME"], other["AWS_LAMBDA_FUNCTION_NAME"]) == ("EchoFunction", "OtherFunction")
    assert "SERVER_ONLY" not in echo
    assert "SOME_FLAG" not in echo
    # `!Ref FixtureTable` would resolve to the bare logical id, naming a table that is not there.
    assert "TABLE_NAME" not in echo


def test_database_settings_reach_every_function(server: Server) -> None:
    for path in ("/items", "/other"):
        env = server.report(path)["env"]
        assert env["DATABASE_URL"] == "sqlite:///learning_env.db"  # nothing configured: the local default
        assert env["POSTGRES_USER"] == "alice"  # the real environment beats .env
        assert env["POSTGRES_DB"] == "from-dotenv"
        assert "POSTGRES_SSLMODE" not in env  # the template's, meant for the deployed database


def test_environment_changes_stay_in_their_function(server: Server) -> None:
    assert server.report("/items")["env"]["LEAKED_BY_ECHO"] == "1"

    assert "LEAKED_BY_ECHO" not in server.report("/other")["env"]


def test_module_globals_are_not_shared_between_functions(server: Server) -> None:
    echo = server.report("/items")
    other = server.report("/other")

    assert set(echo["calls"]) == {"echo"}
    assert set(other["calls"]) == {"other"}
    assert echo["pid"] != other["pid"]


def test_a_function_stays_warm_between_requests(server: Server) -> None:
    first = server.report("/items")
    second = server.report("/items")

    assert second["counter"] == first["counter"] + 1
    assert (second["pid"], second["module_id"]) == (first["pid"], first["module_id"])


def test_sys_path_is_code_then_layer_and_cwd_is_the_project_root(server: Server) -> None:
    report = server.report("/items")

    code, layer = report["sys_path"][:2]
    assert Path(code) == server.workdir / "fixtures" / "echo"
    assert Path(layer) == server.workdir / "fixtures" / "layer"
    assert str(server.workdir) not in report["sys_path"]
    assert "" not in report["sys_path"]
    assert Path(report["cwd"]) == server.workdir


def test_context_is_lambda_like(server: Server) -> None:
    first = server.report("/items")["context"]
    second = server.report("/items")["context"]

    assert first["aws_request_id"] != second["aws_request_id"]
    uuid.UUID(first["aws_request_id"])
    assert first["function_name"] == "EchoFunction"
    assert first["memory_limit_in_mb"] == "256"
    assert first["invoked_function_arn"].endswith(":function:EchoFunction")
    assert 0 < first["remaining_ms"] <= 5000  # the template's Timeout: 5


def test_event_details_match_api_gateway(server: Server) -> None:
    first = server.report("/items")["event"]
    time.sleep(0.01)
    second = server.report("/items")["event"]

    assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]
    assert second["requestContext"]["timeEpoch"] > first["requestContext"]["timeEpoch"] > 1e12  # milliseconds
    assert all(name == name.lower() for name in first["headers"])
    assert first["requestContext"]["http"]["userAgent"] == first["headers"]["user-agent"]
    assert "body" not in first  # a GET without a body has none, as in AWS
    assert "pathParameters" not in first


def test_repeated_query_keys_are_comma_joined(server: Server) -> None:
    event = server.report("/items?tag=a&tag=b&x=1")["event"]

    assert event["queryStringParameters"] == {"tag": "a,b", "x": "1"}
    assert event["rawQueryString"] == "tag=a&tag=b&x=1"


def test_text_body_arrives_as_text(server: Server) -> None:
    reply = server.request("POST", "/items", b'{"title": "caf\xc3\xa9"}', {"Content-Type": "application/json"})

    event = reply.json()["event"]
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"title": "café"}'


def test_binary_body_arrives_base64_encoded(server: Server) -> None:
    payload = bytes(range(256))
    reply = server.request("POST", "/items/", payload, {"Content-Type": "application/octet-stream"})

    event = reply.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


@pytest.mark.parametrize("content_type", ["application/json", "text/plain; charset=utf-8"])
def test_text_body_that_is_not_utf8_arrives_base64_encoded(server: Server, content_type: str) -> None:
    payload = b'{"title": "\xff\xfe"}'
    reply = server.request("POST", "/items/", payload, {"Content-Type": content_type})

    assert reply.status == 200, reply.body
    event = reply.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_base64_response_is_sent_as_bytes(server: Server) -> None:
    payload = bytes(range(256))
    reply = server.request("POST", "/items?raw=1", payload, {"Content-Type": "application/octet-stream"})

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.body == payload


def assert_internal_error(reply: Reply) -> None:
    assert reply.status == 502
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {"message": "Internal Server Error"}


def test_handler_exception_is_a_502_and_the_worker_stays_warm(server: Server) -> None:
    before = server.report("/fail/ok")["pid"]

    assert_internal_error(server.request("GET", "/fail/raise"))

    assert server.report("/fail/ok")["pid"] == before
    assert "ValueError: boom" in server.log


def test_the_access_log_shows_every_5xx(server: Server) -> None:
    """What the fuzz test reads to prove the server never answered a 5xx: it must see one when there is one."""
    server.report("/fail/ok")
    assert server.request("GET", "/fail/500").status == 500
    server.request("GET", "/fail/raise")
    assert ("GET /fail/ok HTTP/1.1", 200) in access_log(server.log)
    assert ("GET /fail/ok HTTP/1.1", 200) not in server_errors(server.log)
    assert ("GET /fail/500 HTTP/1.1", 500) in server_errors(server.log)
    assert ("GET /fail/raise HTTP/1.1", 502) in server_errors(server.log)


def test_unserializable_result_is_a_502(server: Server) -> None:
    assert_internal_error(server.request("GET", "/fail/unserializable"))


def test_crashed_worker_is_a_502_and_is_replaced(server: Server) -> None:
    before = server.report("/fail/ok")["pid"]

    assert_internal_error(server.request("GET", "/fail/exit"))

    assert server.report("/fail/ok")["pid"] != before
    assert "Runtime exited with exit status 3" in server.log


def test_timeout_is_a_502_without_waiting_for_the_handler(server: Server) -> None:
    started = time.monotonic()
    reply = server.request("GET", "/fail/sleep")
    elapsed = time.monotonic() - started

    assert_internal_error(reply)
    assert elapsed < 5  # Timeout: 1 in the template; the handler would sleep 30 s
    assert "Task timed out after 1.00 seconds" in server.log
    server.report("/fail/ok")  # and the function answers again


def test_busy_function_scales_out_to_another_worker(server: Server) -> None:
    results: list[dict[str, Any]] = []

    def call() -> None:
        results.append(server.report("/other?sleep=0.5"))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({result["pid"] for result in results}) == 2


def test_handler_prints_go_to_the_log_not_the_response(server: Server) -> None:
    server.report("/items/printed")

    assert "echo handling /items/printed" in server.log

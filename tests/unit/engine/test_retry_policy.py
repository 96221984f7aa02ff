"""core/client.py's retry policy (pure): which answers are transient, which writes may be sent twice."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import retry_delay, retry_is_safe
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError


def err(status, message="", body=None, reason="x"):
    return ApiError("get", status=status, reason=reason, message=message, body=body)


@pytest.mark.parametrize("error,transient", [
    (err(429), True), (err(502), True), (err(503), True), (err(504), True),
    (err(500, 'Internal error occurred: failed calling webhook "vclusterqueue.kb.io": connection refused'), True),
    (err(500, "etcdserver: request timed out"), True),
    (err(500, "the server was unable to return a response in the time allotted, but may still be processing "
              "the request (Timeout)"), True),
    (err(None, "ConnectionRefusedError: [Errno 111]", reason=None), True),
    (err(500, "something else"), False), (err(400), False), (err(403), False), (err(404), False), (err(409), False),
    (err(422), False),
])
def test_transient_answers(error, transient):
    assert (retry_delay(error, 0) is not None) is transient


def test_backoff_is_bounded_and_retry_after_is_honoured():
    delays = [retry_delay(err(503), attempt) for attempt in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert retry_delay(err(429, body={"details": {"retryAfterSeconds": 2}}), 0) == 2.0
    assert retry_delay(err(429, body={"details": {"retryAfterSeconds": 60}}), 0) == 5.0


@pytest.mark.parametrize("method,ctype,body,safe", [
    ("GET", None, None, True),
    ("DELETE", None, {"kind": "DeleteOptions"}, True),
    ("POST", "application/json", {"metadata": {"name": "x"}}, False),
    ("PATCH", "application/apply-patch+yaml", {"spec": {}}, True),
    ("PATCH", "application/merge-patch+json", {"spec": {"unschedulable": True}}, True),
    ("PATCH", "application/strategic-merge-patch+json", {"spec": {}}, False),
    ("PATCH", "application/strategic-merge-patch+json", {"metadata": {"resourceVersion": "7"}}, True),
    ("PUT", "application/json", {"metadata": {"name": "l", "resourceVersion": "9"}}, True),
    ("PUT", "application/json", {"metadata": {"name": "l"}}, False),
    ("PATCH", "application/json-patch+json", [{"op": "add", "path": "/spec/taints/-", "value": {}}], False),
    ("PATCH", "application/json-patch+json", [{"op": "test", "path": "/metadata/resourceVersion", "value": "3"},
                                              {"op": "add", "path": "/spec/taints/-", "value": {}}], True),
])
def test_writes_are_retried_only_where_a_second_send_is_harmless(method, ctype, body, safe):
    assert retry_is_safe(method, ctype, body) is safe


def test_unreachable_is_a_connection_failure_not_an_answer():
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import unreachable
    refused = ("MaxRetryError: HTTPSConnectionPool(host='127.0.0.1', port=26443): Max retries exceeded with url: /x "
               "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to establish a new "
               "connection: [Errno 111] Connection refused'))")
    assert unreachable(err(None, refused, reason=None))
    assert not unreachable(err(503, "Connection refused"))
    assert not unreachable(err(None, "ReadTimeoutError: read timed out", reason=None))


def test_a_refused_connection_was_never_sent_a_reset_one_may_have_been():
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import never_sent
    assert never_sent(err(None, "NewConnectionError(...): Failed to establish a new connection: [Errno 111] "
                                "Connection refused", reason=None))
    assert not never_sent(err(None, "ProtocolError('Connection aborted.', RemoteDisconnected(...))", reason=None))
    assert not never_sent(err(503, "Connection refused"))

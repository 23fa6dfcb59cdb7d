"""The sandbox's WebSocket topics (fortnox_sandbox/topics.py, FACTS.md §8): the commands and
their answers, events for the tenants added only, replay from an offset, and the controls."""

from __future__ import annotations

import json

import pytest
from simple_websocket import Client, ConnectionClosed, ConnectionError

from fortnox_sandbox.testing import DEFAULT_CLIENT_SECRET, serve


@pytest.fixture(scope="module")
def server():
    with serve() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(server):
    server.reset()
    return server


def url(sandbox) -> str:
    return sandbox.base_url.replace("http://", "ws://") + "/topics-v1"


def ask(ws, body):
    ws.send(json.dumps(body))
    answer = ws.receive(5)
    assert answer is not None, f"no answer to {body['command']}"
    return json.loads(answer)


def events(ws, wait=1.0):
    found = []
    while (message := ws.receive(wait)) is not None:
        found.append(json.loads(message))
        wait = 0.3
    return found


def subscribed(sandbox, tokens, topics):
    ws = Client.connect(url(sandbox))
    answer = ask(ws, {"command": "add-tenants-v1", "clientSecret": DEFAULT_CLIENT_SECRET,
                      "accessTokens": tokens})  # fmt: skip
    topics_answer = ask(ws, {"command": "add-topics-v1", "topics": topics})
    assert ask(ws, {"command": "subscribe-v1"}) == {"response": "subscribe-v1", "result": "ok"}
    return ws, answer, topics_answer


def new_customer(sandbox, tenant, name):
    response = sandbox.accountant(
        "POST", f"tenants/{tenant}/customers", {"Customer": {"Name": name}}
    )
    assert response.status_code == 201
    return response.json()["Customer"]["CustomerNumber"]


def test_tenants_are_added_by_token_and_bad_tokens_are_named(sandbox):
    one = sandbox.create_tenant("Ett AB", "556000-0011")
    token = sandbox.issue_tokens(one).access_token
    ws = Client.connect(url(sandbox))
    answer = ask(ws, {"command": "add-tenants-v1", "clientSecret": DEFAULT_CLIENT_SECRET,
                      "accessTokens": [token, "not-a-token"]})  # fmt: skip
    assert answer == {"response": "add-tenants-v1", "result": "ok",
                      "tenantIds": {token: one}, "invalidTokens": ["not-a-token"]}  # fmt: skip
    wrong = ask(ws, {"command": "add-tenants-v1", "clientSecret": "wrong", "accessTokens": [token]})
    assert wrong["result"] == "error" and wrong["invalidTokens"] == [token]
    sandbox.revoke(one)
    revoked = ask(ws, {"command": "add-tenants-v1", "clientSecret": DEFAULT_CLIENT_SECRET,
                       "accessTokens": [token]})  # fmt: skip
    assert revoked["invalidTokens"] == [token]
    assert ask(ws, {"command": "list-tenants-v1"})["tenantIds"] == [one]
    assert ask(ws, {"command": "add-topics-v1", "topics": [{"topic": "nope"}]}) == {
        "response": "add-topics-v1", "result": "error", "invalidTopics": ["nope"]}  # fmt: skip
    ws.close()


def test_events_come_for_the_added_tenants_and_topics_only(sandbox):
    mine = sandbox.create_tenant("Mitt AB", "556000-0012")
    other = sandbox.create_tenant("Annat AB", "556000-0013")
    ws, _, _ = subscribed(sandbox, [sandbox.issue_tokens(mine).access_token],
                          [{"topic": "customers"}])  # fmt: skip
    number = new_customer(sandbox, mine, "Synlig AB")
    new_customer(sandbox, other, "Annans AB")
    article = {"Article": {"ArticleNumber": "X1", "Description": "Ej prenumererad"}}
    sandbox.accountant("POST", f"tenants/{mine}/articles", article)
    got = events(ws)
    assert [(e["topic"], e["type"], e["tenantId"], e["entityId"]) for e in got] == [
        ("customers", "customer-created-v1", mine, number)
    ]
    assert set(got[0]) == {"topic", "offset", "type", "tenantId", "entityId", "timestamp"}
    sandbox.accountant("PUT", f"tenants/{mine}/customers/{number}", {"Customer": {"City": "Umeå"}})
    assert [e["type"] for e in events(ws)] == ["customer-updated-v2"]
    ws.close()


def test_an_offset_replays_from_that_event_on(sandbox):
    tenant = sandbox.create_tenant("Replay AB", "556000-0014")
    token = sandbox.issue_tokens(tenant).access_token
    ws, _, _ = subscribed(sandbox, [token], [{"topic": "customers"}])
    first = new_customer(sandbox, tenant, "Första AB")
    offset = events(ws)[0]["offset"]
    ws.close()
    second = new_customer(sandbox, tenant, "Andra AB")  # while nobody listened
    again, _, answer = subscribed(sandbox, [token], [{"topic": "customers", "offset": offset}])
    assert answer["result"] == "ok"
    assert [e["entityId"] for e in events(again)] == [first, second]  # at least once
    again.close()


def test_invoice_documents_are_events_on_their_topics(sandbox):
    tenant = sandbox.create_tenant("Dokument AB", "556000-0015")
    ws, _, _ = subscribed(sandbox, [sandbox.issue_tokens(tenant).access_token],
                          [{"topic": "orders"}, {"topic": "invoices"}])  # fmt: skip
    customer = new_customer(sandbox, tenant, "Köpare AB")
    created = sandbox.accountant("POST", f"tenants/{tenant}/api/invoices",
                                 {"Invoice": {"CustomerNumber": customer}})  # fmt: skip
    assert created.status_code == 201, created.text
    number = created.json()["Invoice"]["DocumentNumber"]
    assert sandbox.accountant("POST", f"tenants/{tenant}/invoices/{number}/send").ok
    assert sandbox.accountant("POST", f"tenants/{tenant}/invoices/{number}/cancel").ok
    assert [e["type"] for e in events(ws)] == [
        "invoice-created-v1", "invoice-updated-v1", "invoice-cancelled-v1"]  # fmt: skip
    ws.close()


def test_down_closes_connections_and_refuses_new_ones(sandbox):
    tenant = sandbox.create_tenant("Nere AB", "556000-0016")
    ws, _, _ = subscribed(sandbox, [sandbox.issue_tokens(tenant).access_token],
                          [{"topic": "customers"}])  # fmt: skip
    assert sandbox.control("GET", "topics")["connections"] == 1
    sandbox.control("POST", "topics", {"down": True})
    with pytest.raises(ConnectionClosed):
        while True:
            ws.receive(1)
    with pytest.raises(ConnectionError):
        Client.connect(url(sandbox))
    sandbox.control("POST", "topics", {"down": False})
    Client.connect(url(sandbox)).close()

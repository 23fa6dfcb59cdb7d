"""The inbox (/3/inbox) and file attachments (/api/fileattachments/attachments-v1): upload a
PDF, attach it to an order or invoice, list and detach; what is refused and how."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from fortnox_sandbox import schema
from fortnox_sandbox.pdf import render_pdf
from fortnox_sandbox.testing import SandboxServer

from .conftest import Api, error_code

ATTACHMENTS = "/api/fileattachments/attachments-v1"
PDF = render_pdf("Serviceprotokoll SO 1001", ["Bytt filter."])
ORDER = {"Order": {"CustomerNumber": "1", "OrderRows": [{"ArticleNumber": "100"}]}}
INVOICE = {"Invoice": {"CustomerNumber": "1", "InvoiceRows": [{"ArticleNumber": "100"}]}}


def upload(api: Api, name: str = "protokoll.pdf", data: bytes = PDF, **kw: Any) -> Any:
    headers = {"Authorization": api.tokens.headers["Authorization"], "Accept": "application/json"}
    return api.http.post(
        api.server.api_url + "/inbox",
        files={"file": (name, data, "application/pdf")},
        headers=headers,
        **kw,
    )


def uploaded(api: Api, name: str = "protokoll.pdf") -> dict[str, Any]:
    answer = upload(api, name)
    assert answer.status_code == 201, answer.text
    return answer.json()["File"]


class Services:
    """Calls to /api/… with the test's token (the Api fixture talks to /3)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.url = api.server.base_url + ATTACHMENTS

    def request(self, method: str, suffix: str = "", **kw: Any) -> requests.Response:
        headers = {**self.api.tokens.headers, **kw.pop("headers", {})}
        return self.api.http.request(method, self.url + suffix, headers=headers, **kw)

    def attach(self, *items: dict[str, Any]) -> requests.Response:
        return self.request("POST", json=list(items))

    def list(self, entity_id: Any, entity_type: str) -> requests.Response:
        return self.request("GET", params={"entityid": entity_id, "entitytype": entity_type})


@pytest.fixture
def services(api: Api) -> Services:
    return Services(api)


def web_exception(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error", "id", "message"}, body
    return body


def make(api: Api, path: str, body: dict[str, Any]) -> str:
    answer = api.post(path, body)
    assert answer.status_code == 201, answer.text
    return str(next(iter(answer.json().values()))["DocumentNumber"])


# ---------------------------------------------------------------------------------- the inbox
def test_an_uploaded_pdf_is_answered_as_the_file_wrapper_and_kept(api: Api) -> None:
    answer = upload(api, "serviceprotokoll-SO-1001.pdf")

    assert answer.status_code == 201, answer.text
    file = answer.json()["File"]
    assert sorted(file) == sorted(
        ["@url", "ArchiveFileId", "Comments", "Id", "Name", "Path", "Size"]
    )
    assert file["Name"] == "serviceprotokoll-SO-1001.pdf" and file["Size"] == len(PDF)
    assert uuid.UUID(file["Id"]) and uuid.UUID(file["ArchiveFileId"])
    assert file["Id"] != file["ArchiveFileId"]
    assert file["@url"].endswith(f"/3/inbox/{file['Id']}")
    root = api.get("/inbox").json()["Folder"]
    assert root["Id"] == "root" and [f["Id"] for f in root["Files"]] == [file["Id"]]
    assert "inbox_kf" in [folder["Id"] for folder in root["Folders"]]
    download = api.get(f"/inbox/{file['Id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"


def test_an_upload_can_go_to_a_predefined_folder(api: Api) -> None:
    answer = upload(api, params={"folderId": "inbox_kf"})

    assert answer.status_code == 201, answer.text
    file = answer.json()["File"]
    assert api.get("/inbox").json()["Folder"]["Files"] == []
    assert [f["Id"] for f in api.get("/inbox/inbox_kf").json()["Folder"]["Files"]] == [file["Id"]]
    assert upload(api, params={"folderId": "nope"}).status_code == 404
    assert upload(api, params={"folderid": "inbox_kf"}).status_code == 400  # the spec's case


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("protokoll.pdf", b"", "tom"),
        ("protokoll.txt", b"hej", "ingen PDF"),
        ("protokoll.pdf", b"GIF89a not a pdf", "ingen PDF"),
        ("", PDF, "saknar namn"),
    ],
)
def test_the_inbox_refuses_an_empty_or_non_pdf_file(
    api: Api, name: str, data: bytes, says: str
) -> None:
    answer = upload(api, name, data)

    assert answer.status_code == 400, answer.text
    assert error_code(answer) == 2001392 and says in answer.json()["ErrorInformation"]["message"]
    assert api.get("/inbox").json()["Folder"]["Files"] == []


def test_the_inbox_refuses_a_body_without_the_file_part(api: Api) -> None:
    headers = {"Authorization": api.tokens.headers["Authorization"]}
    other_part = api.http.post(
        api.server.api_url + "/inbox", files={"document": ("p.pdf", PDF)}, headers=headers
    )
    as_json = api.post("/inbox", {"File": {"Name": "p.pdf"}})
    empty = api.http.post(api.server.api_url + "/inbox", headers=headers)

    assert other_part.status_code == 400 and "saknas" in other_part.text
    assert as_json.status_code == 400 and error_code(as_json) == 1000031
    assert empty.status_code == 400 and error_code(empty) == 2001392


def test_the_inbox_needs_the_inbox_scope(sandbox: SandboxServer, api: Api) -> None:
    tokens = sandbox.issue_tokens(api.tokens.tenant, scopes=("order",))
    headers = {"Authorization": f"Bearer {tokens.access_token}"}

    answer = requests.post(
        sandbox.api_url + "/inbox", files={"file": ("p.pdf", PDF)}, headers=headers
    )

    assert answer.status_code == 403 and error_code(answer) == 2000663


def test_the_request_log_shows_the_uploaded_part_not_its_bytes(
    sandbox: SandboxServer, api: Api
) -> None:
    uploaded(api)

    (entry,) = sandbox.requests_log(method="POST", path="/3/inbox")
    assert entry["body"] == {
        "file": {"filename": "protokoll.pdf", "content_type": "application/pdf", "size": len(PDF)}
    }


# ---------------------------------------------------------------------------------- attachments
def test_a_file_is_attached_to_an_order_listed_and_detached(api: Api, services: Services) -> None:
    number = make(api, "/orders", ORDER)
    file = uploaded(api)

    answer = services.attach(
        {"entityId": int(number), "entityType": "O", "fileId": file["ArchiveFileId"],
         "includeOnSend": True}
    )  # fmt: skip

    assert answer.status_code == 201, answer.text
    (made,) = answer.json()
    assert uuid.UUID(made["id"])
    assert made == {
        "entityId": int(number),
        "entityType": "O",
        "fileId": file["ArchiveFileId"],
        "id": made["id"],
        "includeOnSend": True,
    }
    assert services.list(number, "O").json() == [made]
    assert services.list(number, "F").status_code == 404  # no invoice with that number
    assert services.request("DELETE", "/" + made["id"]).status_code == 204
    assert services.list(number, "O").json() == []


def test_attachments_of_invoices_and_of_several_documents(api: Api, services: Services) -> None:
    first, second = make(api, "/invoices", INVOICE), make(api, "/invoices", INVOICE)
    a, b = uploaded(api, "a.pdf"), uploaded(api, "b.pdf")

    answer = services.attach(
        {"entityId": int(first), "entityType": "F", "fileId": a["ArchiveFileId"]},
        {"entityId": int(second), "entityType": "F", "fileId": b["ArchiveFileId"]},
    )

    assert answer.status_code == 201, answer.text
    assert [m["includeOnSend"] for m in answer.json()] == [False, False]
    both = services.request(
        "GET", params=[("entityid", first), ("entityid", second), ("entitytype", "F")]
    )
    assert sorted(m["fileId"] for m in both.json()) == sorted(
        [a["ArchiveFileId"], b["ArchiveFileId"]]
    )
    assert [m["fileId"] for m in services.list(first, "F").json()] == [a["ArchiveFileId"]]


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"entityType": "X"}, 400, "entityType"),
        ({"entityType": "OF"}, 501, "emulerar"),
        ({"entityId": 999}, 400, "finns inte"),
        ({"entityId": "1"}, 400, "numeriskt"),
        ({"fileId": "inbox-id"}, 400, "ArchiveFileId"),
        ({"includeOnSend": "ja"}, 400, "boolean"),
        ({"Bogus": 1}, 400, "Bogus"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, 400, "id sätts av Fortnox"),
        ({"fileId": None}, 400, "None"),
    ],
)
def test_a_bad_attachment_is_refused_with_a_web_exception(
    api: Api, services: Services, change: dict[str, Any], status: int, says: str
) -> None:
    number = make(api, "/orders", ORDER)
    file = uploaded(api)
    item = {"entityId": int(number), "entityType": "O", "fileId": file["ArchiveFileId"]}
    if change.get("fileId") == "inbox-id":
        change = {"fileId": file["Id"]}  # the inbox Id is not the archive file id
    item.update(change)

    answer = services.attach(item)

    assert answer.status_code == status, answer.text
    assert says in web_exception(answer)["message"]
    assert services.list(number, "O").json() == []


def test_the_body_must_be_a_non_empty_array_and_a_file_is_attached_once(
    api: Api, services: Services
) -> None:
    number = make(api, "/orders", ORDER)
    file = uploaded(api)
    item = {"entityId": int(number), "entityType": "O", "fileId": file["ArchiveFileId"]}

    assert services.request("POST", json=item).status_code == 400  # not an array
    assert services.request("POST", json=[]).status_code == 400
    assert services.request("POST", data="[", headers={}).status_code == 400
    assert services.attach(item).status_code == 201
    again = services.attach(item)
    assert again.status_code == 400 and "redan bifogad" in web_exception(again)["message"]
    twice = services.attach(
        {**item, "fileId": uploaded(api, "c.pdf")["ArchiveFileId"]}, {**item, "fileId": "x"}
    )
    assert twice.status_code == 400
    assert len(services.list(number, "O").json()) == 1  # all of a list or none


def test_listing_needs_both_parameters_and_refuses_others(api: Api, services: Services) -> None:
    number = make(api, "/orders", ORDER)

    assert services.request("GET", params={"entityid": number}).status_code == 400
    assert services.request("GET", params={"entitytype": "O"}).status_code == 400
    assert services.request("GET", params={"entityid": "x", "entitytype": "O"}).status_code == 400
    refused = services.request("GET", params={"entityid": number, "entitytype": "O", "limit": 10})
    assert refused.status_code == 400 and web_exception(refused)
    assert services.list(number, "O").json() == []


def test_attaching_needs_the_documents_scope(
    sandbox: SandboxServer, api: Api, services: Services
) -> None:
    number = make(api, "/invoices", INVOICE)
    file = uploaded(api)
    tokens = sandbox.issue_tokens(api.tokens.tenant, scopes=("order", "inbox"))
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    item = {"entityId": int(number), "entityType": "F", "fileId": file["ArchiveFileId"]}

    answer = services.request("POST", json=[item], headers=headers)

    assert answer.status_code == 403 and web_exception(answer)
    assert services.list(number, "F").json() == []


def test_a_bad_token_on_the_services_is_401_with_a_web_exception(services: Services) -> None:
    missing = services.request("GET", headers={"Authorization": ""})
    wrong = services.request("GET", headers={"Authorization": "Bearer nope"})

    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert web_exception(answer)["error"] == "Unauthorized"


def test_detaching_an_unknown_attachment_is_404(services: Services) -> None:
    answer = services.request("DELETE", f"/{uuid.uuid4()}")

    assert answer.status_code == 404 and web_exception(answer)


def test_unemulated_services_calls_answer_501_and_unknown_paths_404(
    services: Services, api: Api
) -> None:
    counts = api.http.get(
        api.server.base_url + ATTACHMENTS + "/numberofattachments",
        params={"entityids": 1, "entitytype": "O"},
        headers=api.tokens.headers,
    )
    unknown = api.http.get(api.server.base_url + "/api/nothing-v1", headers=api.tokens.headers)

    assert counts.status_code == 501 and web_exception(counts)
    assert unknown.status_code == 404 and web_exception(unknown)


def test_an_attached_file_stays_in_the_inbox_until_detached(api: Api, services: Services) -> None:
    number = make(api, "/orders", ORDER)
    file = uploaded(api)
    (made,) = services.attach(
        {"entityId": int(number), "entityType": "O", "fileId": file["ArchiveFileId"]}
    ).json()

    refused = api.delete(f"/inbox/{file['Id']}")
    assert refused.status_code == 400 and error_code(refused) == 2001392
    assert services.request("DELETE", "/" + made["id"]).status_code == 204
    assert api.delete(f"/inbox/{file['Id']}").status_code == 204
    assert api.get(f"/inbox/{file['Id']}").status_code == 404
    assert api.delete("/inbox/root").status_code == 400


def test_a_dropped_answer_still_attaches_and_faults_reach_the_services(
    sandbox: SandboxServer, api: Api, services: Services
) -> None:
    number = make(api, "/orders", ORDER)
    file = uploaded(api)
    item = {"entityId": int(number), "entityType": "O", "fileId": file["ArchiveFileId"]}
    sandbox.add_fault("drop_after_create", method="POST", path_pattern=ATTACHMENTS)

    with pytest.raises(requests.ConnectionError):
        services.attach(item)

    assert [m["fileId"] for m in services.list(number, "O").json()] == [file["ArchiveFileId"]]
    (logged,) = sandbox.requests_log(method="POST", path=ATTACHMENTS)
    assert logged["dropped"] is True and logged["status"] == 201
    sandbox.add_fault("status", method="GET", path_pattern=ATTACHMENTS, status=503)
    failed = services.list(number, "O")
    assert failed.status_code == 503 and web_exception(failed)
    sandbox.add_fault("rate_limit", method="GET", path_pattern=ATTACHMENTS)
    limited = services.list(number, "O")
    assert limited.status_code == 429 and web_exception(limited)


def test_the_accountant_reads_a_documents_attachments(
    sandbox: SandboxServer, api: Api, services: Services
) -> None:
    number = make(api, "/orders", ORDER)
    file = uploaded(api)
    services.attach({"entityId": int(number), "entityType": "O", "fileId": file["ArchiveFileId"]})
    tenant = api.tokens.tenant

    seen = sandbox.accountant("GET", f"tenants/{tenant}/attachments?entityid={number}&entitytype=O")
    pdf = sandbox.accountant("GET", f"tenants/{tenant}/api/inbox/{file['Id']}")

    assert seen.status_code == 200 and [a["fileId"] for a in seen.json()] == [file["ArchiveFileId"]]
    assert pdf.status_code == 200 and pdf.content == PDF
    summary = sandbox.control("GET", f"tenants/{tenant}")
    assert summary["counts"]["inbox"] == 1 and summary["counts"]["attachments"] == 1


# ---------------------------------------------------------------------------------- descriptions
GOOD = [{"entityId": 7, "entityType": "O", "fileId": "f", "includeOnSend": True}]
BAD = {
    "not an array": {"entityId": 7, "entityType": "O", "fileId": "f"},
    "bad enum": [{**GOOD[0], "entityType": "X"}],
    "entityId a string": [{**GOOD[0], "entityId": "7"}],
    "includeOnSend a string": [{**GOOD[0], "includeOnSend": "true"}],
    "unknown field": [{**GOOD[0], "Bogus": 1}],
    "an item not an object": ["x"],
}


@pytest.mark.parametrize("using", ["own", "official"])
def test_both_descriptions_check_the_attachment_list(
    using: schema.Using, request: pytest.FixtureRequest
) -> None:
    if using == "official":
        request.getfixturevalue("official_openapi")

    assert schema.validate_request("POST", ATTACHMENTS, GOOD, using=using) == []
    for label, body in BAD.items():
        assert schema.validate_request("POST", ATTACHMENTS, body, using=using), label
    assert schema.request_schema_name("POST", ATTACHMENTS, using=using) == (
        "fileattachments_Attachment"
    )


def test_the_descriptions_agree_on_the_attachment_list(official_openapi: Path) -> None:
    for label, body in {"good": GOOD, **BAD}.items():
        own = {(e.location, e.kind) for e in schema.check_request("POST", ATTACHMENTS, body,
                                                                   using="own")}  # fmt: skip
        official = {
            (e.location, e.kind)
            for e in schema.check_request("POST", ATTACHMENTS, body, using="official")
        }
        assert own == official, label

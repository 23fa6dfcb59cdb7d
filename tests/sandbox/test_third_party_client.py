"""A published Fortnox client, used unchanged, works against the sandbox (issue #13).

fortpyx (PyPI ``fortpyx==0.0.1a1``, a typed SDK generated from Fortnox's OpenAPI description)
pins pydantic, requests and types-requests to versions that conflict with ours, so it lives in
its own virtualenv, ``.venv-thirdparty`` (``make test`` builds it from
requirements-thirdparty.txt), and runs in a subprocess. It is pointed at the sandbox only
through its own supported customisation: the ``http_adapter`` it mounts for ``https://``. The
adapter below sends what fortpyx addresses to api.fortnox.se / apps.fortnox.se to the sandbox on
127.0.0.1 and refuses any other host, so nothing leaves the machine.

Tokens come from the sandbox's OAuth exactly as fortpyx's README describes the flow: its
authorization URL (with ``account_type=service``), approved by the sandbox's auto-approve, and
the code exchanged at ``/oauth-v1/token`` with HTTP Basic. (fortpyx's own ``get_tokens`` posts
with a bare ``requests.post``, outside the adapter, so the test does that one step for it.)
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fortnox_sandbox.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxServer

from .conftest import Api, error_code

REPO_ROOT = Path(__file__).resolve().parents[2]
THIRD_PARTY_VENV = REPO_ROOT / ".venv-thirdparty"
THIRD_PARTY_PYTHON = THIRD_PARTY_VENV / "bin" / "python"
FORTPYX_VERSION = "0.0.1a1"
REDIRECT_URI = "http://127.0.0.1/fortpyx/callback"
SCOPES = ("companyinformation", "customer", "article", "order")

# Runs in .venv-thirdparty: argv[1] is a JSON job, stdout one JSON answer.
SCRIPT = r'''
import json
import sys
from urllib.parse import urlsplit, urlunsplit

from requests.adapters import HTTPAdapter

from fortpyx import Fortpyx
from fortpyx.model import (
    FortnoxArticle, FortnoxArticleWrap, FortnoxCustomer, FortnoxCustomerWrap, FortnoxOrder,
    FortnoxOrderOrderRow, FortnoxOrderWrap,
)

job = json.loads(sys.argv[1])
SANDBOX = urlsplit(job["sandbox"])
FORTNOX_HOSTS = ("api.fortnox.se", "apps.fortnox.se")


class SandboxAdapter(HTTPAdapter):
    """fortpyx's documented customisation point: a transport adapter for https://."""

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        if parts.hostname not in FORTNOX_HOSTS:
            raise RuntimeError(f"refusing to leave the machine: {request.url}")
        request.url = urlunsplit(
            (SANDBOX.scheme, SANDBOX.netloc, parts.path, parts.query, parts.fragment)
        )
        kwargs["proxies"] = {}
        return super().send(request, **kwargs)


def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def client(**options):
    return Fortpyx(
        client_id=job.get("client_id"),
        client_secret=job.get("client_secret"),
        access_token=job.get("access_token"),
        refresh_token=job.get("refresh_token"),
        http_adapter=SandboxAdapter(),
        **options,
    )


out = {}
if job["phase"] == "authorization-url":
    url = client().get_authorization_url(redirect_uri=job["redirect_uri"], scopes=job["scopes"])
    out["url"] = url
elif job["phase"] == "calls":
    with client(page_size=2) as fortpyx:
        fortnox = fortpyx.fortnox
        out["company"] = dump(fortnox.company_information.retrieve_the__company__information())
        out["customers_page_1"] = dump(fortnox.customers.retrieve_a_list_of_customers())
        page_2 = fortnox.customers.retrieve_a_list_of_customers(page=2)
        out["customers_page_2"] = dump(page_2)
        out["customers_page_2_meta"] = page_2.meta_information.model_dump(by_alias=True)
        customer = fortnox.customers.create_a_customer(
            FortnoxCustomerWrap(
                customer=FortnoxCustomer(name="Fortpyx Kyl AB", email="inkop@fortpyx.example")
            )
        )
        out["customer"] = dump(customer)
        article = fortnox.articles.create_an_article(
            FortnoxArticleWrap(
                article=FortnoxArticle(
                    article_number="FPX-1", description="Kompressor, fortpyx", unit="st"
                )
            )
        )
        out["article"] = dump(article)
        order = fortnox.orders.create_a_new_order(
            FortnoxOrderWrap(
                order=FortnoxOrder(
                    customer_number=customer.customer.customer_number,
                    your_reference="Fortpyx",
                    order_rows=[
                        FortnoxOrderOrderRow(
                            article_number="FPX-1",
                            ordered_quantity="2",
                            delivered_quantity="2",
                            price=1500.0,
                        )
                    ],
                )
            )
        )
        out["order"] = dump(order)
        number = order.order.document_number
        out["order_again"] = dump(fortnox.orders.retrieve_a_single_order(str(number)))
        out["orders"] = dump(fortnox.orders.retrieve_a_list_of_orders())
    with client(page_size=2, auto_fetch_all_pages=True) as fortpyx:
        out["all_articles"] = dump(fortpyx.fortnox.articles.retrieve_a_list_of_articles())
elif job["phase"] == "refresh":
    refreshed = []
    fortpyx = client(on_token_refresh=lambda access, refresh: refreshed.append(refresh))
    with fortpyx:
        company = fortpyx.fortnox.company_information.retrieve_the__company__information()
    out["company"] = dump(company)
    out["refreshed"] = refreshed
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def third_party_python() -> Path:
    """``.venv-thirdparty/bin/python`` with fortpyx installed; skips without it (fails in CI)."""
    if not THIRD_PARTY_PYTHON.exists():
        reason = (
            f"{THIRD_PARTY_VENV.name}/ is missing: the third-party client test needs fortpyx in "
            "its own virtualenv; build it with `make thirdparty` (`make test` "
            "does)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    version = subprocess.run(
        [
            str(THIRD_PARTY_PYTHON),
            "-c",
            "import importlib.metadata as m; print(m.version('fortpyx'))",
        ],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
    )
    assert version.stdout.strip() == FORTPYX_VERSION, (
        f"{THIRD_PARTY_VENV.name} must hold fortpyx=={FORTPYX_VERSION}: {version.stderr[-500:]}"
    )
    return THIRD_PARTY_PYTHON


def _environment() -> dict[str, str]:
    """The subprocess's environment: no proxies, nothing of this project's virtualenv."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in drop and not key.lower().endswith("_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run_fortpyx(python: Path, tmp_path: Path, job: dict[str, Any]) -> dict[str, Any]:
    script = tmp_path / "drive_fortpyx.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [str(python), str(script), json.dumps(job)],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, f"fortpyx failed ({job['phase']}):\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def authorization_url(third_party_python: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """fortpyx's authorization URL for our client (it does not depend on the sandbox)."""
    job = {
        "phase": "authorization-url",
        "sandbox": "http://127.0.0.1:9",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scopes": list(SCOPES),
    }
    return run_fortpyx(third_party_python, tmp_path_factory.mktemp("fortpyx"), job)["url"]


def connect(sandbox: SandboxServer, url: str) -> dict[str, str]:
    """Tokens through the sandbox's OAuth, starting from fortpyx's authorization URL."""
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.path) == (
        "https",
        "apps.fortnox.se",
        "/oauth-v1/auth",
    )
    sandbox.set_auto_approve(True)  # the user approves at once (docs/sandbox.md)
    approved = sandbox.http.get(f"{sandbox.oauth_url}/auth?{parts.query}", allow_redirects=False)
    location = approved.headers.get("Location", "")
    assert approved.status_code == 302 and location.startswith(REDIRECT_URI), approved.text[:300]
    code = parse_qs(urlsplit(location).query)["code"][0]
    # What fortpyx.get_tokens() posts (FACTS.md §1), sent to the sandbox.
    exchanged = sandbox.http.post(
        f"{sandbox.oauth_url}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    return {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]}


def test_fortpyx_unchanged_runs_its_calls_against_the_sandbox(
    sandbox: SandboxServer, third_party_python: Path, authorization_url: str, tmp_path: Path
) -> None:
    tokens = connect(sandbox, authorization_url)
    sandbox.clear_requests()

    out = run_fortpyx(
        third_party_python, tmp_path, {"phase": "calls", "sandbox": sandbox.base_url, **tokens}
    )

    company = out["company"]["CompanyInformation"]
    assert company["CompanyName"] == "Sandlådan AB" and company["DatabaseNumber"] == 100001
    page_1, page_2 = out["customers_page_1"], out["customers_page_2"]
    assert [c["CustomerNumber"] for c in page_1["Customers"]] == ["1", "2"]
    assert [c["CustomerNumber"] for c in page_2["Customers"]] == ["3"]
    assert out["customers_page_2_meta"] == {
        "@TotalResources": 3,
        "@TotalPages": 2,
        "@CurrentPage": 2,
    }
    customer = out["customer"]["Customer"]
    assert customer["CustomerNumber"] == "4" and customer["Name"] == "Fortpyx Kyl AB"
    assert out["article"]["Article"]["ArticleNumber"] == "FPX-1"
    order = out["order"]["Order"]
    assert order["CustomerNumber"] == "4" and order["YourReference"] == "Fortpyx"
    [row] = order["OrderRows"]
    assert row["ArticleNumber"] == "FPX-1" and float(row["OrderedQuantity"]) == 2
    assert order["Net"] == 3000.0 and order["Total"] == 3750.0  # 2 × 1 500 + 25 % VAT
    assert out["order_again"]["Order"]["DocumentNumber"] == order["DocumentNumber"]
    assert [o["DocumentNumber"] for o in out["orders"]["Orders"]] == [order["DocumentNumber"]]
    # Three pages of two, merged by fortpyx's own paging.
    articles = [a["ArticleNumber"] for a in out["all_articles"]["Articles"]]
    assert articles == ["100", "101", "200", "201", "900", "FPX-1"]

    # The sandbox saw fortpyx's requests as fortpyx sends them, and took every one.
    log = sandbox.requests_log(path="/3/*")
    assert log and {e["status"] for e in log} <= {200, 201}
    assert all(e["query"].get("limit") == "2" for e in log)  # limit on every call, POST too
    assert all("page" in e["query"] for e in log if e["method"] == "GET")
    assert {e["method"] for e in log} == {"GET", "POST"}
    assert {e["headers"]["Authorization"] for e in log} == {"Bearer <redacted>"}
    assert {e["headers"]["User-Agent"] for e in log} == {"python-requests/2.31.0"}
    summary = sandbox.control("GET", f"tenants/{company['DatabaseNumber']}")
    assert summary["counts"]["customers"] == 4
    assert summary["counts"]["articles"] == 6
    assert summary["counts"]["orders"] == 1


def test_fortpyx_refreshes_an_expired_token_through_the_sandbox(
    sandbox: SandboxServer, third_party_python: Path, authorization_url: str, tmp_path: Path
) -> None:
    tokens = connect(sandbox, authorization_url)
    sandbox.advance_clock(3601)  # FACTS.md §1: the access token lives one hour
    sandbox.clear_requests()

    out = run_fortpyx(
        third_party_python,
        tmp_path,
        {"phase": "refresh", "sandbox": sandbox.base_url, "client_id": DEFAULT_CLIENT_ID,
         "client_secret": DEFAULT_CLIENT_SECRET, **tokens},
    )  # fmt: skip

    assert out["company"]["CompanyInformation"]["DatabaseNumber"] == 100001
    assert len(out["refreshed"]) == 1 and out["refreshed"][0] != tokens["refresh_token"]
    calls = [(e["method"], e["path"], e["status"]) for e in sandbox.requests_log()]
    assert calls == [
        ("GET", "/3/companyinformation", 401),
        ("POST", "/oauth-v1/token", 200),
        ("GET", "/3/companyinformation", 200),
    ]


def test_the_third_party_requirements_pin_fortpyx_and_its_pins() -> None:
    lines = (REPO_ROOT / "requirements-thirdparty.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(
        line.split("==", 1) for line in (raw.split("#")[0].strip() for raw in lines) if line
    )
    assert pins["fortpyx"] == FORTPYX_VERSION
    # fortpyx 0.0.1a1 requires exactly these (its METADATA Requires-Dist).
    assert pins["pydantic"] == "2.7.1"
    assert pins["requests"] == "2.31.0"
    assert pins["types-requests"] == "2.31.0.20240406"


# What fortpyx needs, checked without it (these run wherever the sandbox tests run).
@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "/companyinformation", {"limit": 500, "page": 1}, None),
        ("GET", "/customers/1", {"limit": 500, "page": 1, "offset": 0}, None),
        ("POST", "/customers", {"limit": 500}, {"Customer": {"Name": "Limit AB"}}),
        ("PUT", "/customers/1", {"limit": 500}, {"Customer": {"City": "Umeå"}}),
        ("GET", "/orders", {"limit": 500, "page": 1, "offset": 0, "lastmodified": "2026-01-01"},
         None),
    ],
)  # fmt: skip
def test_pagination_parameters_are_taken_on_every_call(
    api: Api, method: str, path: str, params: dict[str, Any], body: Any
) -> None:
    answer = api.request(method, path, body, params=params)

    assert answer.status_code in (200, 201), answer.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/companyinformation", {"Limit": 500}),  # params are lower case (FACTS.md §2)
        ("/companyinformation", {"limit": "many"}),
        ("/companyinformation", {"limit": 501}),
        ("/companyinformation", {"sortorder": "ascending"}),  # lists only
        ("/companyinformation", {"colour": "red"}),
        ("/costcenters", {"lastmodified": "2026-01-01 10:00"}),  # not declared, like currencies
        ("/customers", {"limit": 500, "name": "a", "city": "b"}),  # two searches
    ],
)
def test_what_fortnox_refuses_is_still_refused(api: Api, path: str, params: dict[str, Any]) -> None:
    answer = api.get(path, params=params)

    assert answer.status_code == 400 and error_code(answer) == 2000588


def test_article_list_items_carry_amounts_as_strings_as_the_spec_declares(api: Api) -> None:
    listed = api.get("/articles", params={"articlenumber": "100"}).json()["Articles"][0]
    single = api.get("/articles/100").json()["Article"]

    # fortnox_ArticleListItem types these as strings; fortnox_ArticleSingleItem as numbers.
    assert listed["SalesPrice"] == "650" and single["SalesPrice"] == 650.0
    assert listed["VAT"] == "25" and single["VAT"] == 25.0
    assert listed["PurchasePrice"] == "0" and listed["QuantityInStock"] == 0.0

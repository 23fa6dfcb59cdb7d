"""Files: the inbox (``/3/inbox``) and the file attachments of orders and invoices
(``/api/fileattachments/attachments-v1``).

A client uploads a file to the inbox (``POST /3/inbox``, multipart/form-data with a ``file``
part; answer ``{"File": {"Id", "Name", "Path", "Size", "ArchiveFileId", "@url", "Comments"}}``,
the spec's fortnox_Da_InboxFileResponse_Wrap) and attaches it to a document with the
file-attachments service: ``POST …/attachments-v1`` takes a JSON array of
``{"entityId", "entityType", "fileId", "includeOnSend"}`` and answers 201 with the attachments
made (``id`` a UUID); ``GET …?entityid=&entitytype=`` lists a document's attachments and
``DELETE …/{attachmentId}`` removes one. Errors of the ``/api`` services are
``{"error", "id", "message"}`` (fileattachments_WebException, FACTS.md §7) — the ``/api``
blueprint in api.py turns the :class:`FortnoxError` raised here into that shape.

Readings (none is documented; each is the stricter one, UNCONFIRMED):

* ``fileId`` is the file's ``ArchiveFileId`` (a public SDK's documentation of the field: "Use
  ArchiveFileId from Inbox/Archive endpoint"); the inbox ``Id`` is refused.
* ``entityId`` is the document's number (DocumentNumber), as a public SDK's own test attaches
  a file to ``invoice.DocumentNumber``. Only ``O`` (orders) and ``F`` (invoices) are emulated;
  the spec's other entity types answer 501.
* Attaching needs the document's scope (``order`` for O, ``invoice`` for F); the inbox needs
  ``inbox`` (FACTS.md §1). FACTS.md names no scope for the attachments service.
* The inbox takes PDF files only (``.pdf`` name and ``%PDF-`` content), never an empty one.
* A file cannot be attached twice to one document, and an attached file cannot be deleted from
  the inbox (detach it first).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import request

from . import errors as E
from .description import ATTACHMENT_ENTITY_TYPES
from .errors import FortnoxError
from .resources import Ctx, Reply, present, route, touch

# The inbox's folders: the ids a public SDK lists as Fortnox's predefined inbox folders (root,
# asset register, bank files, daily takings, customer invoices, salary, orders, offers,
# supplier invoices, vouchers). The Swedish names are the sandbox's.
INBOX_FOLDERS = {
    "root": "Inkorg",
    "inbox_a": "Anläggningsregister",
    "inbox_b": "Bankfiler",
    "inbox_d": "Dagskassor",
    "inbox_kf": "Kundfakturor",
    "inbox_l": "Lön",
    "inbox_o": "Order",
    "inbox_of": "Offerter",
    "inbox_s": "Leverantörsfakturor",
    "inbox_v": "Verifikationer",
}
FILE_COMPONENT = "fortnox_Da_InboxFileSingleItem"
FOLDER_COMPONENT = "fortnox_Da_InboxFolderSingleItem"
FOLDER_LIST_COMPONENT = "fortnox_Da_InboxFolderListItem"
ATTACHMENT_COMPONENT = "fileattachments_Attachment"
ATTACHMENTS = "fileattachments/attachments-v1"
PDF_MAGIC = b"%PDF-"

# Entity types emulated: type -> (scope, document store attribute, Swedish noun).
ENTITY_KINDS = {"O": ("order", "orders", "Ordern"), "F": ("invoice", "invoices", "Fakturan")}

# UNCONFIRMED (the sandbox's choice): the inbox refuses a bad upload with the "empty or
# incorrect data" code of FACTS.md §3; the /api errors carry no code at all.
BAD_FILE = E.Code(2001392, 400, "{detail}")
BAD_ATTACHMENT = E.Code(2001392, 400, "{detail}")
ATTACHMENT_NOT_FOUND = E.Code(2000729, 404, "{detail}")
NOT_EMULATED = E.Code(1000003, 501, "{detail}")


@dataclass(frozen=True)
class Upload:
    """The ``file`` part of a multipart upload."""

    filename: str
    content_type: str
    data: bytes


def takes_upload(method: str, path: str) -> bool:
    """Whether ``method path`` takes a multipart file instead of a JSON body."""
    return method == "POST" and path.rstrip("/") == "/3/inbox"


def read_upload() -> Upload | None:
    """The request's ``file`` part; None without a body or without that part. A body that is
    not multipart/form-data is 1000031 "Invalid content type" (FACTS.md §3)."""
    if not request.get_data(cache=True).strip():
        return None
    if request.mimetype != "multipart/form-data":
        raise FortnoxError(E.INVALID_CONTENT_TYPE)
    part = request.files.get("file")
    if part is None:
        return None
    return Upload(part.filename or "", part.mimetype or "", part.read())


def web_exception(exc: FortnoxError) -> dict[str, str]:
    """The ``/api`` services' error body (FACTS.md §7): ``error`` the HTTP reason phrase and
    ``id`` a trace id (both the sandbox's choice, UNCONFIRMED), ``message`` the explanation."""
    try:
        phrase = HTTPStatus(exc.status).phrase
    except ValueError:
        phrase = "Error"
    return {"error": phrase, "id": str(uuid.uuid4()), "message": exc.message}


# ---------------------------------------------------------------------------------- the inbox
def render_file(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    return present(record, FILE_COMPONENT, ctx.url("inbox", record["Id"]))


def render_folder(ctx: Ctx, folder_id: str, component: str = FOLDER_COMPONENT) -> dict[str, Any]:
    files = [render_file(ctx, f) for f in ctx.tenant.inbox.values() if f["_folder"] == folder_id]
    folders = []
    if folder_id == "root":  # the predefined folders are the root's
        subfolders = [sub for sub in INBOX_FOLDERS if sub != "root"]
        folders = [render_folder(ctx, sub, FOLDER_LIST_COMPONENT) for sub in subfolders]
    record = {
        "Id": folder_id,
        "Name": INBOX_FOLDERS[folder_id],
        "Email": None,
        "Files": files,
        "Folders": folders,
    }
    return present(record, component, ctx.url("inbox", folder_id))


@route("GET", "inbox", "inbox")
def inbox_root(ctx: Ctx) -> Reply:
    return Reply(200, {"Folder": render_folder(ctx, "root")})


@route("GET", "inbox/(?P<key>[^/]+)", "inbox")
def inbox_item(ctx: Ctx, key: str) -> Reply:
    """A folder's contents, or a file itself (the spec: "Retrieve a single file")."""
    if key in INBOX_FOLDERS:
        return Reply(200, {"Folder": render_folder(ctx, key)})
    record = _inbox_file(ctx, key)
    return Reply(200, pdf=record["_data"])


@route("POST", "inbox", "inbox")
def inbox_upload(ctx: Ctx) -> Reply:
    if "path" in ctx.query:
        raise FortnoxError(NOT_EMULATED, detail="Sandlådan emulerar inte uppladdning med path.")
    folder = ctx.query.get("folderId", "root")
    if folder not in INBOX_FOLDERS:
        raise FortnoxError(E.NOT_FOUND, what="mappen", value=folder)
    upload: Upload | None = ctx.upload
    if upload is None:
        raise FortnoxError(
            BAD_FILE, detail="Filen saknas: skicka den som multipart/form-data i delen ”file”."
        )
    name = upload.filename.strip()
    if not name:
        raise FortnoxError(BAD_FILE, detail="Filen saknar namn.")
    if not upload.data:
        raise FortnoxError(BAD_FILE, detail=f"Filen {name} är tom.")
    if not name.lower().endswith(".pdf") or not upload.data.startswith(PDF_MAGIC):
        raise FortnoxError(
            BAD_FILE, detail=f"Filen {name} är ingen PDF; sandlådans inkorg tar bara emot PDF."
        )
    record: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "ArchiveFileId": str(uuid.uuid4()),
        "Name": name,
        "Path": folder,
        "Size": len(upload.data),
        "Comments": None,
        "_data": upload.data,
        "_folder": folder,
    }
    touch(ctx, record)
    ctx.tenant.inbox[record["Id"]] = record
    return Reply(201, {"File": render_file(ctx, record)})


@route("DELETE", "inbox/(?P<key>[^/]+)", "inbox")
def inbox_delete(ctx: Ctx, key: str) -> Reply:
    if key in INBOX_FOLDERS:
        raise FortnoxError(BAD_FILE, detail=f"Mappen {key} kan inte tas bort.")
    record = _inbox_file(ctx, key)
    if any(a["fileId"] == record["ArchiveFileId"] for a in ctx.tenant.attachments.values()):
        detail = f"Filen {record['Name']} är bifogad till ett dokument; ta bort bilagan först."
        raise FortnoxError(BAD_FILE, detail=detail)
    del ctx.tenant.inbox[key]
    return Reply(204)


def _inbox_file(ctx: Ctx, file_id: str) -> dict[str, Any]:
    record = ctx.tenant.inbox.get(file_id)
    if record is None:
        raise FortnoxError(E.NOT_FOUND, what="filen", value=file_id)
    return record


# ---------------------------------------------------------------------------------- attachments
def _entity_type(ctx: Ctx, value: Any) -> str:
    """The entity type, checked: one of the spec's, emulated, and the token has its scope."""
    if value not in ATTACHMENT_ENTITY_TYPES:
        raise FortnoxError(
            BAD_ATTACHMENT,
            detail=f"Ogiltig entityType {value!r}; en av {', '.join(ATTACHMENT_ENTITY_TYPES)}.",
        )
    if value not in ENTITY_KINDS:
        raise FortnoxError(
            NOT_EMULATED, detail=f"Sandlådan emulerar bara bilagor på O och F, inte {value}."
        )
    scope = ENTITY_KINDS[value][0]
    if ctx.scopes is not None and scope not in ctx.scopes:
        raise FortnoxError(E.NO_SCOPE_ACCESS)
    return str(value)


def _entity_exists(ctx: Ctx, kind: str, entity_id: int) -> bool:
    return entity_id in getattr(ctx.tenant, ENTITY_KINDS[kind][1])


def _entity_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FortnoxError(BAD_ATTACHMENT, detail=f"Ogiltigt entityid {value!r}.") from None


def render_attachment(record: dict[str, Any]) -> dict[str, Any]:
    return present(record, ATTACHMENT_COMPONENT)


@route("GET", ATTACHMENTS, prefix="/api/")
def list_attachments(ctx: Ctx) -> Reply:
    ids = ctx.query_lists.get("entityid") or []
    if not ids or not ctx.query.get("entitytype"):
        raise FortnoxError(BAD_ATTACHMENT, detail="entityid och entitytype måste anges.")
    kind = _entity_type(ctx, ctx.query["entitytype"])
    numbers = [_entity_id(value) for value in ids]
    for number in numbers:
        if not _entity_exists(ctx, kind, number):
            raise FortnoxError(
                ATTACHMENT_NOT_FOUND, detail=f"{ENTITY_KINDS[kind][2]} {number} finns inte."
            )
    found = [
        render_attachment(a)
        for a in ctx.tenant.attachments.values()
        if a["entityType"] == kind and a["entityId"] in numbers
    ]
    return Reply(200, found)


@route("POST", ATTACHMENTS, prefix="/api/")
def attach(ctx: Ctx) -> Reply:
    """Attach files to documents: all of the list or none (each item is checked first)."""
    items = ctx.body if isinstance(ctx.body, list) else []
    if not items:
        raise FortnoxError(BAD_ATTACHMENT, detail="Ange minst en bilaga.")
    by_archive_id = {f["ArchiveFileId"]: f for f in ctx.tenant.inbox.values()}
    taken = {(a["entityType"], a["entityId"], a["fileId"]) for a in ctx.tenant.attachments.values()}
    made: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        missing = [k for k in ("entityId", "entityType", "fileId") if item.get(k) in (None, "")]
        if missing:
            raise FortnoxError(BAD_ATTACHMENT, detail=f"[{i}]: {', '.join(missing)} saknas.")
        if item.get("id") is not None:
            raise FortnoxError(BAD_ATTACHMENT, detail=f"[{i}]: id sätts av Fortnox.")
        kind = _entity_type(ctx, item["entityType"])
        entity_id = int(item["entityId"])
        if not _entity_exists(ctx, kind, entity_id):
            raise FortnoxError(
                BAD_ATTACHMENT, detail=f"[{i}]: {ENTITY_KINDS[kind][2]} {entity_id} finns inte."
            )
        file_id = str(item["fileId"])
        if file_id not in by_archive_id:
            raise FortnoxError(
                BAD_ATTACHMENT,
                detail=f"[{i}]: filen {file_id} finns inte i arkivet (fileId är ArchiveFileId).",
            )
        key = (kind, entity_id, file_id)
        if key in taken:
            raise FortnoxError(BAD_ATTACHMENT, detail=f"[{i}]: filen är redan bifogad.")
        taken.add(key)
        made.append(
            {
                "id": str(uuid.uuid4()),
                "entityId": entity_id,
                "entityType": kind,
                "fileId": file_id,
                "includeOnSend": bool(item.get("includeOnSend", False)),
            }
        )
    for record in made:
        touch(ctx, record)
        ctx.tenant.attachments[record["id"]] = record
    return Reply(201, [render_attachment(r) for r in made])


@route("DELETE", ATTACHMENTS + "/(?P<attachment_id>[^/]+)", prefix="/api/")
def detach(ctx: Ctx, attachment_id: str) -> Reply:
    record = ctx.tenant.attachments.get(attachment_id)
    if record is None:
        raise FortnoxError(ATTACHMENT_NOT_FOUND, detail=f"Bilagan {attachment_id} finns inte.")
    _entity_type(ctx, record["entityType"])
    del ctx.tenant.attachments[attachment_id]
    return Reply(204)

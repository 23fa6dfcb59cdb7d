"""The signed service protocol attached to the Fortnox document (setting `attach_protocol`,
fortnox-settings.md §7; docs/sending.md).

After a send, the protocol PDF (app/orders/protocol.py) is uploaded to the Fortnox inbox
(`POST /3/inbox`) and attached to the invoice, or to the order when no invoice was made, with
`includeOnSend` so that the customer receives it with the invoice
(`POST /api/fileattachments/attachments-v1`). An unsigned order sends no protocol.

Stateless and safe to run again: our attachments are recognised by the file's name in the inbox,
`serviceprotokoll-<SO>-<number>-<send reference>.pdf` (the send reference is the order's
random `fortnox_reference`). Each run attaches a freshly rendered protocol first and then removes
the attachments (and inbox files) of earlier runs, so a re-send replaces the protocol, the
document is never without one, and a retry after a lost answer ends with exactly one.

UNCONFIRMED (docs/sending.md): `entityId` is the document number; `fileId` is the file's
`ArchiveFileId`; files stay in the inbox once attached (if Fortnox moves them out, earlier
attachments are not recognised and a re-send adds a second protocol); the attachments service
needs the document's scope, the inbox the scope `inbox`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from app.integrations.fortnox.client import JSON, FortnoxClient
from app.integrations.fortnox.errors import FortnoxError, FortnoxUncertainError
from app.integrations.models import FortnoxSend
from app.orders.models import Order
from app.orders.protocol import render_protocol

log = logging.getLogger(__name__)

ORDER_ENTITY = "O"  # the spec's fileattachments entityType for orders
INVOICE_ENTITY = "F"  # … and for invoices


class SendContext(Protocol):
    """What `attach_protocol` needs of a send (sending.py's `_Context` has it)."""

    @property
    def send(self) -> FortnoxSend: ...

    @property
    def order(self) -> Order: ...


@dataclass(frozen=True)
class AttachedProtocol:
    """The protocol as attached: the document, the inbox file, the attachment, and how many
    attachments of earlier sends were replaced."""

    entity_type: str
    entity_id: int
    file: JSON
    attachment: JSON
    replaced: int


def protocol_file_name(order: Order) -> str:
    """The file's name in Fortnox, which is how a later run recognises it as ours."""
    return f"serviceprotokoll-{order.kind.prefix}-{order.number}-{order.fortnox_reference}.pdf"


def protocol_target(send: FortnoxSend) -> tuple[str, int]:
    """The document the protocol goes on: the invoice when the send made or sent one, else the
    order. The entity id is the document number (UNCONFIRMED, see the module docstring)."""
    if send.invoice_number:
        return INVOICE_ENTITY, int(send.invoice_number)
    if send.document_number is None:
        raise ValueError(f"send {send.id} has no Fortnox document yet")
    entity = INVOICE_ENTITY if send.document_type == "Invoice" else ORDER_ENTITY
    return entity, int(send.document_number)


def attach_protocol(client: FortnoxClient, context: SendContext) -> AttachedProtocol | None:
    """Attach the order's signed protocol to its Fortnox document, replacing the one an earlier
    send attached; None (and no call to Fortnox) for an unsigned order. The caller checks the
    setting. Needs an app context (the protocol is rendered). Raises the client's errors; a
    FortnoxUncertainError only when an upload or attach may or may not have happened, which a
    later run sorts out (it removes what is left over)."""
    order, send = context.order, context.send
    if not order.is_signed:
        return None
    entity_type, entity_id = protocol_target(send)
    name = protocol_file_name(order)
    pdf = render_protocol(order)

    attached = client.list_attachments(entity_id, entity_type)
    ours = {f["ArchiveFileId"]: f for f in client.list_inbox_files() if f.get("Name") == name}
    earlier = [a for a in attached if a.get("fileId") in ours]

    file = client.upload_to_inbox(name, pdf)
    file_id = file["ArchiveFileId"]
    item = {
        "entityId": entity_id,
        "entityType": entity_type,
        "fileId": file_id,
        "includeOnSend": True,
    }
    try:
        attachment = client.attach_files([item])[0]
    except FortnoxUncertainError:
        # No answer: the attachment may exist. Look instead of attaching blindly again.
        now = client.list_attachments(entity_id, entity_type)
        found = [a for a in now if a.get("fileId") == file_id]
        if not found:
            raise
        attachment = found[0]

    for old in earlier:
        client.delete_attachment(old["id"])
    for old_file_id, old_file in ours.items():  # detached now, or left by an interrupted run
        if old_file_id != file_id:
            _remove_from_inbox(client, old_file)
    return AttachedProtocol(entity_type, entity_id, file, attachment, len(earlier))


def _remove_from_inbox(client: FortnoxClient, file: JSON) -> None:
    """Tidy up a protocol file no longer attached here; a failure only leaves it behind."""
    try:
        client.delete_inbox_file(file["Id"])
    except FortnoxError as exc:
        log.warning("could not remove %s from the Fortnox inbox: %s", file.get("Name"), exc)

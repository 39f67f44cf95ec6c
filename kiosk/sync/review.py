"""What follows an upload: codes bound at the station pushed to the server, review status pulled back.

Each takes a ``SyncClient`` (its store, session and JSON call). A code bound
to a codeless record the server may already hold travels as a binding of its
own, named by the record's ticket there (the server's, when it replaced a
clashed one); review status and queue positions of this station's sent
records are pulled in chunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.sync import outcome as oc

if TYPE_CHECKING:
    from kiosk.sync.client import SyncClient

#: ids per review-status request (the server takes up to 1000)
STATUS_CHUNK = 200


def push_bindings(client: SyncClient) -> int:
    """Push codes bound at the station to records already on the server; how many were accepted."""
    pushed = 0
    for record in client.store.pending_bindings():
        if client.paused_until is not None:
            break
        # the server knows the record by its ticket there: the one it gave after a clash, if it did
        status, data, failure = client.call("POST", "/api/v1/bind", {
            "ticket": record.claim_ticket, "code_payload": record.code_payload,
            "id_last4": record.bind_last4 or record.id_last4})
        if failure is None and data is not None and data.get("record_id") == record.id:
            client.store.mark_binding(record.id, "sent")
            if isinstance(data.get("status"), str):
                client.store.set_review(record.id, data["status"], record.queue_position, record.review_reason)
            pushed += 1
        elif status in (400, 404, 409, 422):
            # the server will not bind this code to this ticket; the operator must look
            client.store.mark_binding(record.id, "failed", failure.reason if failure else f"http {status}")
        elif failure is not None and failure.kind == oc.RETRY:
            break  # the server or the network is down: try again next cycle
    return pushed


def pull_status(client: SyncClient) -> int:
    """Pull review status and queue positions of this station's sent records; how many changed."""
    ids = client.store.review_open()
    changed = 0
    for start in range(0, len(ids), STATUS_CHUNK):
        _, data, failure = client.call("POST", "/api/v1/records/status", {"ids": ids[start:start + STATUS_CHUNK]})
        if failure is not None or data is None or not isinstance(data.get("records"), list):
            return changed
        for item in data["records"]:
            if not isinstance(item, dict) or item.get("record_id") not in ids:
                continue
            status = item.get("status")
            if not isinstance(status, str) or status == "unknown":
                continue
            position = item.get("queue_position")
            reason = item.get("reason")
            changed += client.store.set_review(item["record_id"], status,
                                               position if isinstance(position, int) else None,
                                               reason if isinstance(reason, str) else None)
    return changed

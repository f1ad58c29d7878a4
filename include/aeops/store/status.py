"""The status of a planned change (``changes.status``), from plan to verification.

The values are the strings stored in the aeops DB (no schema change): ``ChangeStatus.CONFIRMED == "confirmed"``.

::

    planned -> sending -> confirmed -> verified
                       \\-> failed     \\-> verify_failed
                       \\-> unknown (answer lost: re-read, then confirmed or planned again)
                       \\-> in_review (a new main image: the platform reviews it) -> confirmed (onSelling)
                                                                              \\-> failed (editingRequired)
    unpushable (the platform cannot take it: a product or SKU it does not have)
    rejected (a risky urgent override a person did not approve: planned, never sent)
"""

from __future__ import annotations

from enum import StrEnum


class ChangeStatus(StrEnum):
    """Where a planned change stands, from planned through sent and confirmed to verified."""
    PLANNED = "planned"  # in the change set, not sent yet (or proven not applied after a lost answer)
    SENDING = "sending"  # recorded as sent; the answer is not recorded yet (a crash leaves it here)
    UNKNOWN = "unknown"  # sent, but the answer was lost or named neither list: re-read before any resend
    CONFIRMED = "confirmed"  # the platform has it (answer or re-read)
    FAILED = "failed"  # the platform refused it, with its error code
    UNPUSHABLE = "unpushable"  # these calls cannot make it true (product or SKU not on the marketplace)
    VERIFIED = "verified"  # seen on the storefront where it was checked
    VERIFY_FAILED = "verify_failed"  # still not seen at the verification deadline
    REJECTED = "rejected"  # a person did not approve the plan (urgent override): never sent, never retried
    IN_REVIEW = "in_review"  # applied, and the product is in the platform's review (a new main image)


OPEN = (ChangeStatus.PLANNED, ChangeStatus.SENDING, ChangeStatus.UNKNOWN)
"""Not settled yet: a push (or its retry) still has work to do."""
UNCERTAIN = (ChangeStatus.SENDING, ChangeStatus.UNKNOWN)
"""May or may not have been applied: re-read the product before sending again."""
DONE = (ChangeStatus.CONFIRMED, ChangeStatus.FAILED, ChangeStatus.UNPUSHABLE, ChangeStatus.IN_REVIEW)
VERIFIABLE = (ChangeStatus.CONFIRMED, ChangeStatus.VERIFIED, ChangeStatus.VERIFY_FAILED, ChangeStatus.IN_REVIEW)
"""Reached the marketplace: verification looks at these (and follows the review of those in review)."""
RETRY = (ChangeStatus.PLANNED, ChangeStatus.SENDING, ChangeStatus.UNKNOWN, ChangeStatus.FAILED,
         ChangeStatus.VERIFY_FAILED)
"""What an urgent ``retry_failed`` run takes up again."""
APPLIED = (ChangeStatus.CONFIRMED, ChangeStatus.VERIFIED, ChangeStatus.VERIFY_FAILED, ChangeStatus.UNKNOWN,
           ChangeStatus.SENDING, ChangeStatus.IN_REVIEW)
"""May have changed the marketplace (what a revert looks at)."""

"""Opt-outs: recipients who asked not to get an account's messages, by a keyword they texted (STOP, START, HELP;
see keywords.py), through the account's API or an admin; every change audited with where it came from. The
account's texts for the answers to keywords live here too.

A create to an opted-out recipient is refused in acceptance/services.py and a message accepted before the opt-out
fails at send time in delivery/services.py; both read `selectors.recipient_opted_out`/`opted_out_messages`.

The writes the admin also calls use plain `atomic`, as senders/services.py: the Django admin already wraps each
change in its own transaction. `apply_keyword` runs in its caller's transaction too: the inbound message that
carries a keyword is stored in the same one, so a keyword is applied exactly when its message is stored (a gateway
that gets no 2xx resends it, and the resend applies it then)."""

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings
from django.db import transaction

from apps.core.exceptions import Conflict
from apps.core.observability import audit

from ..acceptance.services import auto_reply_create
from ..models import AutoReply, Message, MessagingSettings, OptOut, SenderNumber
from ..selectors import account_messaging_settings, opt_outs_blocking
from ..senders.services import SenderNotAllowed
from .keywords import KEYWORDS, KeywordAction, keyword_of

MESSAGING_TEXT_FIELDS = ("help_text", "stop_confirmation_text")


class OptOutHeldByRecipient(Conflict):
    code = "opt_out_by_recipient"
    default_detail = (
        "The recipient opted out by texting a keyword: only their START (or UNSTOP, YES) takes it back, as carriers "
        "require."
    )


class InboundKeywordSource(Protocol):
    """What `apply_inbound_keywords` reads of an inbound message (the inbound concern's model has these)."""

    @property
    def account_id(self) -> UUID: ...

    @property
    def from_number(self) -> str: ...  # the recipient of the account's messages, who texted

    @property
    def to_number(self) -> str: ...  # the account's own number they texted

    @property
    def body(self) -> str | None: ...


@dataclass(frozen=True)
class KeywordOutcome:
    keyword: str | None  # None: the body is no keyword, nothing was done
    opt_out: OptOut | None = None  # the opt-out a STOP or STOPALL made, None when it already existed
    removed: int = 0  # opt-outs a START took back
    reply: Message | None = None  # the auto-reply accepted for delivery


def apply_inbound_keywords(*, inbound: InboundKeywordSource) -> None:
    """Act on a complete inbound message, in the transaction that stores it, if its body is a keyword; a redacted
    body is none."""
    if inbound.body is None:
        return
    apply_keyword(
        account_id=inbound.account_id, our_number=inbound.to_number, their_number=inbound.from_number, body=inbound.body
    )


@transaction.atomic
def apply_keyword(*, account_id: UUID, our_number: str, their_number: str, body: str) -> KeywordOutcome:
    """What `their_number` asked for by texting `body` to the account's `our_number` (see keywords.py): a STOP or a
    STOPALL adds the opt-out and, when it is new, confirms it with the account's stop-confirmation text; a START
    takes back the opt-outs that keep `our_number` from reaching them; a HELP is answered with the account's help
    text. The answers are queued messages from `our_number` (acceptance's `auto_reply_create`)."""
    keyword = keyword_of(body)
    if keyword is None:
        return KeywordOutcome(keyword=None)
    action = KEYWORDS[keyword]
    if action is KeywordAction.HELP:
        return KeywordOutcome(
            keyword=keyword, reply=_auto_reply(account_id, our_number, their_number, reason=AutoReply.HELP)
        )
    if action is KeywordAction.OPT_IN:
        removed = opt_outs_remove_for_sender(
            account_id=account_id, sender_number=our_number, recipient_number=their_number
        )
        return KeywordOutcome(keyword=keyword, removed=removed)
    added = opt_out_add(
        account_id=account_id,
        sender_number=our_number if action is KeywordAction.OPT_OUT else None,
        recipient_number=their_number,
        source=OptOut.Source.KEYWORD,
        by=None,
    )
    if not added.created:
        return KeywordOutcome(keyword=keyword)
    reply = _auto_reply(account_id, our_number, their_number, reason=AutoReply.STOP_CONFIRMATION)
    return KeywordOutcome(keyword=keyword, opt_out=added.opt_out, reply=reply)


def _auto_reply(account_id: UUID, our_number: str, their_number: str, *, reason: AutoReply) -> Message:
    return auto_reply_create(
        account_id=account_id,
        sender_number=our_number,
        receiver_number=their_number,
        body=keyword_reply_text(account_id=account_id, reason=reason),
        reason=reason,
    )


def keyword_reply_text(*, account_id: UUID, reason: AutoReply) -> str:
    """The account's own text for this answer, else the service's default."""
    texts = messaging_texts(account_settings=account_messaging_settings(account_id=account_id))
    return texts["help_text"] if reason == AutoReply.HELP else texts["stop_confirmation_text"]


def messaging_texts(*, account_settings: MessagingSettings | None) -> dict[str, str]:
    """The texts in force for an account: each one it set, else the setting's default."""
    defaults = {
        "help_text": settings.MESSAGE_HELP_TEXT,
        "stop_confirmation_text": settings.MESSAGE_STOP_CONFIRMATION_TEXT,
    }
    if account_settings is None:
        return defaults
    return {field: getattr(account_settings, field) or defaults[field] for field in MESSAGING_TEXT_FIELDS}


@dataclass(frozen=True)
class OptOutAdded:
    opt_out: OptOut
    created: bool  # False: it already existed (as it was, whoever made it)


@transaction.atomic
def opt_out_add(
    *, account_id: UUID, recipient_number: str, sender_number: str | None, source: OptOut.Source, by: Any
) -> OptOutAdded:
    """Opt `recipient_number` (normalised) out of the account's messages from `sender_number` (normalised; None:
    from every sender), idempotently: an existing opt-out of the same scope is answered as it is. A sender the
    account does not own is refused (SenderNotAllowed), whatever MESSAGES_ALLOW_ANY_SENDER says. Concurrent adds of
    one scope make one row (the unique constraints; the loser reads the winner's row)."""
    if sender_number is not None:
        require_own_sender(account_id=account_id, sender_number=sender_number)
    opt_out, created = OptOut.objects.get_or_create(
        account_id=account_id,
        sender_number=sender_number,
        recipient_number=recipient_number,
        defaults={"source": source},
    )
    if created:
        audit.record(
            actor=by,
            action="opt_out.created",
            target=opt_out,
            changes={
                "via": source,
                "account_id": [None, str(account_id)],
                "sender_number": [None, sender_number],
                "recipient_number": [None, recipient_number],
            },
        )
    return OptOutAdded(opt_out=opt_out, created=created)


def require_own_sender(*, account_id: UUID, sender_number: str) -> None:
    """Raise SenderNotAllowed unless the account owns `sender_number`: an opt-out's scope is one of its numbers."""
    if not SenderNumber.objects.filter(account_id=account_id, value=sender_number).exists():
        raise SenderNotAllowed()


@transaction.atomic
def opt_out_remove(*, opt_out: OptOut, source: OptOut.Source, by: Any) -> None:
    """Take an opt-out back (audited with where the change came from); the recipient can be sent to again.

    Through the API an account takes back only the opt-outs it made (OptOutHeldByRecipient, 409, for one the
    recipient texted): carriers hold a STOP until the recipient texts START. An admin can take back any."""
    if source == OptOut.Source.API and opt_out.source == OptOut.Source.KEYWORD:
        raise OptOutHeldByRecipient
    audit.record(
        actor=by,
        action="opt_out.deleted",
        target=opt_out,
        changes={
            "via": source,
            "account_id": [str(opt_out.account_id), None],
            "sender_number": [opt_out.sender_number, None],
            "recipient_number": [opt_out.recipient_number, None],
            "source": [opt_out.source, None],
        },
    )
    opt_out.delete()


@transaction.atomic
def opt_outs_remove_for_sender(*, account_id: UUID, sender_number: str, recipient_number: str) -> int:
    """Take back every opt-out that keeps `sender_number` from reaching `recipient_number` (that sender's and the
    account-wide one): what a START asks. Returns how many."""
    blocking = opt_outs_blocking(account_id=account_id, sender_number=sender_number, recipient_number=recipient_number)
    rows = list(blocking.select_for_update().order_by("pk"))
    for opt_out in rows:
        opt_out_remove(opt_out=opt_out, source=OptOut.Source.KEYWORD, by=None)
    return len(rows)


@transaction.atomic
def messaging_settings_update(*, account_id: UUID, texts: dict[str, str], by: Any) -> MessagingSettings:
    """Set the account's keyword answers named in `texts` (`help_text`, `stop_confirmation_text`; "" restores the
    service's default), audited with what changed. Concurrent first updates of one account make one row."""
    current, _ = MessagingSettings.objects.select_for_update().get_or_create(account_id=account_id)
    changes = {
        field: [getattr(current, field), value]
        for field, value in texts.items()
        if field in MESSAGING_TEXT_FIELDS and getattr(current, field) != value
    }
    for field, (_, value) in changes.items():
        setattr(current, field, value)
    current.save()
    audit.record(
        actor=by, action="messaging_settings.changed", target=current, object_id=str(account_id), changes=changes
    )
    return current

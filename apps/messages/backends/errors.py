"""The stable reason codes an account sees for a message that failed or was not delivered: the `error_code` of the
API's message and the `error` of its status callbacks. The internal text behind them (a gateway's address, its
answer) stays in `Message.last_error`, the admin and the logs."""

GATEWAY_UNREACHABLE = "gateway_unreachable"  # no connection to the SMS gateway
GATEWAY_TIMEOUT = "gateway_timeout"  # the gateway did not answer in time
GATEWAY_REJECTED = "gateway_rejected"  # the gateway refused the message for good (a bad number, a bad request)
GATEWAY_ERROR = "gateway_error"  # the gateway answered with an error, or something unreadable
RECEIVER_UNREACHABLE = "receiver_unreachable"  # the gateway reported the message undelivered to the receiver
QUEUE_TIMEOUT = "queue_timeout"  # its sender's pace kept it queued past MESSAGE_MAX_QUEUE_AGE
RECIPIENT_OPTED_OUT = "recipient_opted_out"  # the recipient opted out after it was accepted; never handed over
DELIVERY_FAILED = "delivery_failed"  # any other failure

ERROR_CODES = (
    GATEWAY_UNREACHABLE,
    GATEWAY_TIMEOUT,
    GATEWAY_REJECTED,
    GATEWAY_ERROR,
    RECEIVER_UNREACHABLE,
    QUEUE_TIMEOUT,
    RECIPIENT_OPTED_OUT,
    DELIVERY_FAILED,
)
# The statuses that carry a reason code (the others show none).
ERROR_STATUSES = ("failed", "undelivered")


def delivery_error_code(error: BaseException) -> str:
    """The reason code of a failed send: an SmsDeliveryError's `code`, else DELIVERY_FAILED."""
    code = getattr(error, "code", "")
    return code if code in ERROR_CODES else DELIVERY_FAILED


def shown_error_code(*, status: str, error_code: str) -> str | None:
    """What the account sees of a message's stored code: null unless the message failed or was not delivered."""
    if status not in ERROR_STATUSES:
        return None
    return error_code or DELIVERY_FAILED

from ..models import InboundMessage


def apply_inbound_keywords(*, inbound: InboundMessage) -> None:
    """replaced by the opt-out concern"""

"""Signals the users app sends for other apps to act on, since it may import none of them (import contract)."""

from django.dispatch import Signal

# Sent with `user` inside the transaction in which the proven owner of an email claims an account someone registered
# in advance with it (OpenID Connect). Whatever the pre-registrant chose for the account elsewhere (the messages
# app: where status callbacks go, and their secret) is cleared by the receivers in that same transaction, so the
# claim and the clearing commit, or roll back, together.
account_claimed = Signal()

"""The keywords a recipient may text to one of an account's numbers, and what each asks for.

The whole body is the keyword, its case and surrounding spaces ignored: "stop " is STOP, "stop please" is no
keyword. STOP and its synonyms opt the sender out of the number they texted; STOPALL out of every number of the
account; START, UNSTOP and YES take back both of those (the number texted can reach them again).
"""

import enum


class KeywordAction(enum.Enum):
    OPT_OUT = "opt_out"  # of the number texted
    OPT_OUT_ACCOUNT = "opt_out_account"  # of every number of the account
    OPT_IN = "opt_in"
    HELP = "help"


KEYWORDS: dict[str, KeywordAction] = {
    "STOP": KeywordAction.OPT_OUT,
    "UNSUBSCRIBE": KeywordAction.OPT_OUT,
    "CANCEL": KeywordAction.OPT_OUT,
    "END": KeywordAction.OPT_OUT,
    "QUIT": KeywordAction.OPT_OUT,
    "STOPALL": KeywordAction.OPT_OUT_ACCOUNT,
    "START": KeywordAction.OPT_IN,
    "UNSTOP": KeywordAction.OPT_IN,
    "YES": KeywordAction.OPT_IN,
    "HELP": KeywordAction.HELP,
    "INFO": KeywordAction.HELP,
}


def keyword_of(body: str) -> str | None:
    """The keyword `body` is (upper case), or None when it is an ordinary message."""
    word = body.strip().upper()
    return word if word in KEYWORDS else None

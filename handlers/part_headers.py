"""What is wrong with a multipart part's headers, said without repeating them.

aiohttp's messages quote the offending bytes; those came from the client, so
neither the answer nor the log carries them: the class of the error is enough
to name the problem.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError, InvalidHeader, LineTooLong

log = logging.getLogger(__name__)

# Most specific first: LineTooLong and InvalidHeader are BadHttpMessages too.
PROBLEMS: tuple[tuple[type[HttpProcessingError], str], ...] = (
    (LineTooLong, "a part's header line is too long"),
    (
        InvalidHeader,
        "a part's header is malformed (a control character, a line without a colon, a folded line"
        " or a space before the colon)",
    ),
    (BadHttpMessage, "a part's headers are malformed or too many"),
)


def describe(error: HttpProcessingError) -> str:
    """A sentence for the client and the log; logged at info, as it is the client's mistake."""
    problem = next((text for cls, text in PROBLEMS if isinstance(error, cls)), "a part's headers cannot be read")
    log.info("multipart upload refused: %s", problem)
    return f"the multipart body could not be read: {problem}"

"""Pages of documents with a byte budget, so no list answer grows with what its items hold.

A page stops at `limit` items, and also once the stored JSON of the items
taken reaches PAGE_BUDGET_BYTES; the rest follows on the next page. The
first item is always taken, so a page always moves the client on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from vault.models import Page

T = TypeVar("T")

# 1,000 items of up to VAULT_MAX_DOCUMENT_BYTES each could make a page of a
# gigabyte; 8 MiB keeps a page's memory and encoding time small whatever the limit.
PAGE_BUDGET_BYTES = 8 * 1024 * 1024


class PageFill:
    """Decides, row by row in the order read, which rows a page takes."""

    def __init__(self, limit: int, budget: int = PAGE_BUDGET_BYTES) -> None:
        self._limit = limit
        self._budget = budget
        self._count = 0
        # The caller appends each row it was told to take, in order.
        self.items: list = []
        self.size = 0
        self.full = False

    def takes(self, size: int) -> bool:
        """Whether a further row holding `size` bytes of documents joins the page.

        False once the page is full (the caller stops reading): that row and
        any after it are left for the next page.
        """
        if self._count == self._limit or (self._count and self.size + size > self._budget):
            self.full = True
            return False
        self._count += 1
        self.size += size
        return True

    def page(self) -> Page:
        return Page(self.items, has_more=self.full, size=self.size)

    def read(self, found: Iterable[T], size_of: Callable[[T], int], build: Callable[[T], Any]) -> Page:
        """Take rows from `found` (read lazily) until the page is full; each taken row is built into its item."""
        for row in found:
            if not self.takes(size_of(row)):
                break
            self.items.append(build(row))
        return self.page()

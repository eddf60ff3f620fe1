"""Spaced review (FSRS): when to see an answered quiz item again.

Every quiz item answered as ``quiz`` or ``review`` has a card (right = Good, wrong = Again);
placement answers and exercise results do not. ``due`` lists the items whose review is due,
the most overdue first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from fsrs import Card, Rating, Scheduler

from tutor.learning.store import LearnerStore
from tutor.learning.types import DueReview
from tutor.store import as_utc


def card_id(course: str, item_id: str) -> int:
    return int(hashlib.sha256(f"{course}\0{item_id}".encode()).hexdigest()[:12], 16)


class SpacedReview:
    """FSRS cards of answered items. ``items(course)`` gives the course's quiz items."""

    def __init__(
        self,
        store: LearnerStore,
        *,
        items: Callable[[str], Sequence[Any]],
        scheduler: Scheduler,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.items = items
        self.scheduler = scheduler
        self.clock = clock

    def review(
        self, user_id: int, course: str, item_id: str, *, correct: bool, now: datetime
    ) -> None:
        """Schedule the item's next review after an answer (right = Good, wrong = Again)."""
        row = self.store.card(user_id, course, item_id)
        card = (
            Card.from_dict(row.card)
            if row is not None
            else Card(card_id=card_id(course, item_id), due=now)
        )
        card, _log = self.scheduler.review_card(
            card, Rating.Good if correct else Rating.Again, review_datetime=now
        )
        self.store.save_card(user_id, course, item_id, card=card.to_dict(), due=as_utc(card.due))

    def due(
        self, user_id: int, course: str, *, now: datetime | None = None, limit: int = 20
    ) -> list[DueReview]:
        """Answered items whose FSRS review is due, the most overdue first."""
        now = as_utc(now if now is not None else self.clock())
        index = {item.id: item for item in self.items(course)}
        return [
            DueReview(item=index[c.item_id], due=c.due, reviews=c.reviews)
            for c in self.store.due_cards(user_id, course, now=now, limit=limit * 2)
            if c.item_id in index
        ][:limit]

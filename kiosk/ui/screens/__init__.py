"""One module per screen or small group of screens; ``all_screens`` builds them all."""

from __future__ import annotations

from kiosk.ui.i18n import Lang
from kiosk.ui.screens.base import Screen

__all__ = ["Screen", "all_screens"]


def all_screens(lang: Lang, *, mirror: bool = True) -> list[Screen]:
    """Every screen of the station, Welcome first."""
    from kiosk.ui.screens.capture import CaptureScreen, ReviewScreen
    from kiosk.ui.screens.consent import ConsentScreen
    from kiosk.ui.screens.desk import TicketDeskScreen
    from kiosk.ui.screens.done import DoneScreen
    from kiosk.ui.screens.idle import AttractScreen, StillThereScreen
    from kiosk.ui.screens.operator import BatchScreen, MenuScreen, PinScreen, StatsScreen, StatusBoardScreen
    from kiosk.ui.screens.operator_records import BindScreen, CodelessScreen
    from kiosk.ui.screens.status import StatusScreen
    from kiosk.ui.screens.student import ConfirmScreen, FeeScreen, ScanScreen, VerifyScreen, WelcomeScreen

    return [
        WelcomeScreen(lang), ScanScreen(lang, mirror=mirror), VerifyScreen(lang), ConfirmScreen(lang),
        FeeScreen(lang), CaptureScreen(lang, mirror=mirror), ReviewScreen(lang), DoneScreen(lang),
        StatusScreen(lang, mirror=mirror), PinScreen(lang), MenuScreen(lang), CodelessScreen(lang),
        BindScreen(lang, mirror=mirror), StatusBoardScreen(lang), BatchScreen(lang), StatsScreen(lang),
        AttractScreen(lang), ConsentScreen(lang), StillThereScreen(lang),
        TicketDeskScreen(lang, mirror=mirror),
    ]

"""Operator mode: PIN, menu, station status, batch setup, today's statistics."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton

from kiosk import flow
from kiosk.text import table
from kiosk.ui import theme
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.keyed import KeypadScreen
from kiosk.ui.widgets.charpad import FEATURE, CharPad
from kiosk.ui.widgets.keypad import SUBMIT

_MENU_KEYS = {
    flow.MENU_CODELESS: "ui.operator.codeless",
    flow.MENU_BIND: "ui.operator.bind",
    flow.MENU_STATUS: "ui.operator.station",
    flow.MENU_BATCH: "ui.operator.batch",
    flow.MENU_STATS: "ui.operator.stats",
    flow.MENU_QUIT: "ui.operator.leave",
    flow.MENU_TICKETS: "staff.menu.tickets",
    flow.MENU_HEADWEAR: "staff.headwear.grant",
}


def _label(name: str, *prefixes: str) -> str:
    """The first strings-table key ``prefix.name`` that exists (else the last one)."""
    keys = [f"{prefix}.{name}" for prefix in prefixes]
    return next((key for key in keys if key in table()), keys[-1])


class PinScreen(KeypadScreen):
    """The operator PIN on a digits keypad (the digits are never shown)."""

    name = "pin"
    heading_key = "ui.pin.heading"
    sub_key = "ui.pin.sub"
    pin = True
    max_len = flow.PIN_MAX

    def show_state(self, state: flow.State) -> None:
        """Dots for what was typed; tries left after a wrong PIN; the demo PIN warning (amber, not green)."""
        super().show_state(state)
        if state.ctx.demo_pin and not state.error:
            self._set_banner("warning", "flow.operator.demo_pin", {})


class MenuScreen(Screen):
    """The operator menu."""

    name = "menu"
    heading_key = "ui.operator.heading"

    def build(self) -> None:
        """The open call for help first, then one big button per menu item."""
        self.help_done = self.button("staff.alert.acknowledge", flow.MenuChosen(item=flow.MENU_HELP_DONE),
                                     primary=True)
        self.help_done.setMinimumHeight(110)
        self.help_done.hide()
        grid = QGridLayout()
        grid.setSpacing(20)
        self.items: dict[str, QPushButton] = {}
        for i, item in enumerate(flow.MENU_ITEMS):
            button = self.button(_MENU_KEYS[item], flow.MenuChosen(item=item), primary=item != flow.MENU_QUIT)
            button.setMinimumHeight(110)
            grid.addWidget(button, i // 2, i % 2)
            self.items[item] = button
        # the menu sits right under the heading (staff read it top down); the space left goes below
        self.first.addWidget(self.help_done)
        self.first.addLayout(grid)
        self.first.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.operator.done", flow.BackTapped()))

    def show_state(self, state: flow.State) -> None:
        """A notice from the last action; the call for help to acknowledge; leaving needs a second tap."""
        super().show_state(state)
        assert isinstance(state, flow.OperatorMenu)
        self.help_done.setVisible(state.ctx.staff_alert is not None)
        self.help_done.setEnabled(not state.busy)
        leave = self.items[flow.MENU_QUIT]
        self.lang.bind(leave, leave.setText, "staff.menu.confirm_leave" if state.confirm_quit else "ui.operator.leave")
        headwear = self.items[flow.MENU_HEADWEAR]
        self.lang.bind(headwear, headwear.setText,
                       "staff.headwear.withdraw" if state.ctx.headwear_leave else "staff.headwear.grant")
        if state.error:
            return
        if state.notice == "flow.operator.confirm_quit":
            self._set_banner("warning", state.notice, {})
        elif state.notice:
            self.set_info(state.notice)
        elif state.ctx.demo_pin:
            self._set_banner("warning", "flow.operator.demo_pin", {})
        else:
            self.set_info(None)


class _TableScreen(Screen):
    """A card of name/value rows."""

    def build(self) -> None:
        """The card and back."""
        self.card = QFrame()
        self.card.setObjectName("card")
        self.grid = QGridLayout(self.card)
        self.grid.setContentsMargins(32, 24, 32, 24)
        self.grid.setVerticalSpacing(16)
        self.rows: list[QLabel] = []
        self.first.addWidget(self.card)
        self.first.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))

    def set_rows(self, rows: list[tuple[str, str, bool | None]]) -> None:
        """Rows of (name key, value, ok?)."""
        for label in self.rows:
            self.lang.unbind(label)
            label.deleteLater()
        self.rows = []
        for i, (key, value, ok) in enumerate(rows):
            name = self.label(key) if key in table() else QLabel(key.rsplit(".", 1)[-1])
            text = value
            if ok is not None:
                # good or bad said in words and a mark, not by colour alone
                word = self.lang.t("ui.station.ok" if ok else "ui.station.bad")
                verdict = ("✓ " if ok else "✗ ") + word
                text = verdict if value in ("", word) else f"{verdict} · {value}"
            shown = QLabel(text)
            shown.setWordWrap(True)
            shown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)  # type: ignore[arg-type]
            if ok is not None:
                shown.setStyleSheet(f"color: {theme.ACCENT if ok else theme.DANGER}; font-weight: bold;")
            self.grid.addWidget(name, i, 0)
            self.grid.addWidget(shown, i, 1)
            self.rows += [name, shown]


class StatusBoardScreen(_TableScreen):
    """Camera, scanner, disk, queue, last sync, server, token."""

    name = "station"
    heading_key = "ui.station.heading"

    def build(self) -> None:
        """The table, back and refresh."""
        super().build()
        self.buttons_row.addWidget(self.button("ui.station.refresh", flow.SubmitTapped(), primary=True))

    def show_state(self, state: flow.State) -> None:
        """One row per health item."""
        super().show_state(state)
        if state.busy and not state.error:
            self.set_info("ui.app.busy")
        elif not state.error:
            self.set_info(None)
        items = getattr(state, "items", ())
        rows = []
        for item in items:
            note_key = getattr(item, "note_key", None)
            note = self.lang.t(note_key) if note_key else ""
            detail = " ".join(p for p in (item.detail, note) if p)
            detail = detail or self.lang.t("ui.station.ok" if item.ok else "ui.station.bad")
            rows.append((_label(item.name, "flow.health", "ui.station"), detail, item.ok))
        self.set_rows(rows)


class StatsScreen(_TableScreen):
    """Today's figures."""

    name = "stats"
    heading_key = "ui.stats.heading"

    def build(self) -> None:
        """The table, back and refresh."""
        super().build()
        self.buttons_row.addWidget(self.button("ui.station.refresh", flow.SubmitTapped(), primary=True))

    def show_state(self, state: flow.State) -> None:
        """One row per figure."""
        super().show_state(state)
        items = getattr(state, "items", ())
        self.set_rows([(_label(name, "flow.stats", "ui.stats"), str(value), None) for name, value in items])


class BatchScreen(Screen):
    """Type the feature code; the batch is fetched (or read from the cache)."""

    keeps_banner_space = True

    name = "batch"
    heading_key = "ui.batch.heading"

    def build(self) -> None:
        """Feature-code field, fetch and back."""
        self.current = self.sub  # "current batch: ..." under the heading, where it takes no extra row
        # the pad shows the entry and takes a physical keyboard's keys too (it has the focus)
        self.pad = CharPad(self.lang, FEATURE, columns=8, max_len=8, submit_key="ui.batch.fetch")
        self.pad.pressed.connect(self._pad)
        self.first.addWidget(self.pad, 1)  # its OK key says "fetch the batch"; the heading says what to type
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))

    def _pad(self, key: str) -> None:
        if key == SUBMIT:
            self.send(flow.SubmitTapped())
        else:
            self.send(flow.FieldEdited(field="feature_code", value=self.pad.value))

    def show_state(self, state: flow.State) -> None:
        """What was typed, the current batch, the result."""
        super().show_state(state)
        assert isinstance(state, flow.BatchSetup)
        self.pad.set_value(state.typed)
        self.pad.ok_button.setEnabled(bool(state.typed) and not state.busy)
        batch = state.loaded or state.ctx.batch
        if batch is not None:
            self.lang.bind(self.current, self.current.setText, "ui.batch.current", code=batch.feature_code)
            self.current.show()
        if state.busy and not state.error:
            self.set_info("ui.app.busy")
        elif state.loaded is not None and state.offline and not state.error:
            self._set_banner("warning", "flow.operator.batch_offline", {})
        elif state.loaded is not None and not state.error:
            self.set_info("ui.batch.fetched", code=state.loaded.feature_code)
        elif not state.error:
            self.set_info(None)

    def activated(self) -> None:
        """The physical keyboard types into the pad."""
        self.pad.setFocus()

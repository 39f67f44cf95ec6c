"""Operator mode: PIN, menu, station status, batch setup, today's statistics."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QGridLayout, QLabel, QLineEdit

from kiosk import flow
from kiosk.text import table
from kiosk.ui import theme
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.keyed import KeypadScreen

_MENU_KEYS = {
    flow.MENU_CODELESS: "ui.operator.codeless",
    flow.MENU_BIND: "ui.operator.bind",
    flow.MENU_STATUS: "ui.operator.station",
    flow.MENU_BATCH: "ui.operator.batch",
    flow.MENU_STATS: "ui.operator.stats",
    flow.MENU_QUIT: "ui.operator.leave",
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
        """Dots for what was typed; tries left after a wrong PIN; the demo PIN warning."""
        super().show_state(state)
        if state.ctx.demo_pin and not state.error:
            self.set_info("flow.operator.demo_pin")


class MenuScreen(Screen):
    """The operator menu."""

    name = "menu"
    heading_key = "ui.operator.heading"

    def build(self) -> None:
        """One big button per menu item."""
        grid = QGridLayout()
        grid.setSpacing(20)
        for i, item in enumerate(flow.MENU_ITEMS):
            button = self.button(_MENU_KEYS[item], flow.MenuChosen(item=item), primary=item != flow.MENU_QUIT)
            button.setMinimumHeight(110)
            grid.addWidget(button, i // 2, i % 2)
        self.first.addStretch(1)
        self.first.addLayout(grid)
        self.first.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.operator.done", flow.BackTapped()))

    def show_state(self, state: flow.State) -> None:
        """A notice from the last action (e.g. batch loaded)."""
        super().show_state(state)
        notice = getattr(state, "notice", None)
        if not state.error:
            self.set_info(notice or ("flow.operator.demo_pin" if state.ctx.demo_pin else None))


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

    name = "batch"
    heading_key = "ui.batch.heading"

    def build(self) -> None:
        """Feature-code field, fetch and back."""
        self.first.addWidget(self.label("ui.batch.feature_code"))
        self.code = QLineEdit()
        self.code.setMaxLength(8)
        self.code.textEdited.connect(lambda text: self.send(flow.FieldEdited(field="feature_code", value=text)))
        self.code.returnPressed.connect(lambda: self.send(flow.SubmitTapped()))
        self.first.addWidget(self.code)
        self.current = self.label()
        self.first.addWidget(self.current)
        self.first.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))
        self.buttons_row.addWidget(self.button("ui.batch.fetch", flow.SubmitTapped(), primary=True))

    def show_state(self, state: flow.State) -> None:
        """What was typed, the current batch, the result."""
        super().show_state(state)
        assert isinstance(state, flow.BatchSetup)
        if self.code.text() != state.typed:
            self.code.setText(state.typed)
        batch = state.loaded or state.ctx.batch
        if batch is not None:
            self.lang.bind(self.current, self.current.setText, "ui.batch.current", code=batch.feature_code)
        if state.busy and not state.error:
            self.set_info("ui.app.busy")
        elif state.loaded is not None and state.offline and not state.error:
            self.set_info("flow.operator.batch_offline")
        elif state.loaded is not None and not state.error:
            self.set_info("ui.batch.fetched", code=state.loaded.feature_code)
        elif not state.error:
            self.set_info(None)

    def activated(self) -> None:
        """The physical keyboard types into the field."""
        self.code.setFocus()

"""Properties of the flow over random event sequences: it never raises, and walking away always forgets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import flow
from tests.flow_fakes import SETTINGS, welcome
from tests.test_flow import SIMPLE_EVENTS

EVENTS = st.sampled_from([e for e in SIMPLE_EVENTS if not isinstance(e, flow.Tick)]
                         + [flow.MenuChosen(item) for item in flow.MENU_ITEMS])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(EVENTS, st.floats(0, 30).map(flow.Tick)), max_size=40))
def test_any_sequence_then_walking_away_ends_on_a_clean_welcome(events: list[flow.Event]) -> None:
    state: flow.State = welcome()
    now = 0.0
    for event in events:
        step = event
        if isinstance(event, flow.Tick):
            now += event.now  # ticks only move forward
            step = flow.Tick(now)
        state, effects = flow.step(state, step)
        assert isinstance(state, flow.State) and all(isinstance(e, flow.Effect) for e in effects)
    # nobody touches the screen any more; a save in progress finishes first
    if isinstance(state, flow.Saving) and state.busy:
        state, _ = flow.step(state, flow.SaveFailed("flow.error.not_saved"))
    # the longest wait: the camera hold, then "still there?", then the attract screen
    limit = max(SETTINGS.idle_timeout_s, SETTINGS.done_timeout_s, SETTINGS.camera_hold_s, SETTINGS.still_there_s,
                SETTINGS.attract_after_s)
    for k in range(1, 6):
        state, _ = flow.step(state, flow.Tick(now + k * (limit + 1)))
    assert state == flow.Attract(ctx=state.ctx, since=state.since)  # nothing of the student is left

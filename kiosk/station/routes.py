"""The one table from each effect the flow can ask for to its handler and its failure event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk import flow
from kiosk.flow import Effect, Event
from kiosk.station import staff_effects, student_effects

if TYPE_CHECKING:
    from kiosk.station import Station


@dataclass(frozen=True)
class EffectRoute:
    """How the station carries out one kind of effect, and what it answers when that fails.

    ``failure`` makes the event that frees a busy screen after a crash or a
    ``KioskError``; it is None only for effects nothing waits on (the screen
    is not busy while they run).
    """

    handler: Callable[[Station, Any], list[Event]]
    failure: Callable[[str], Event] | None

    def failed(self, key: str) -> list[Event]:
        """The events to answer with after the handler failed with ``key``."""
        return [] if self.failure is None else [self.failure(key)]


#: every effect the flow can ask for: its handler and its failure event (see EffectRoute)
ROUTES: dict[type[Effect], EffectRoute] = {
    flow.ParseCode: EffectRoute(student_effects.parse_code, flow.CodeRejected),
    flow.CheckLastFour: EffectRoute(student_effects.check_last_four, flow.LastFourUnchecked),
    flow.LookupStatus: EffectRoute(student_effects.lookup_status,
                                   lambda key: flow.StatusUnavailable("flow.error.lookup_failed")),
    flow.LookupReceipt: EffectRoute(student_effects.lookup_receipt, None),  # Done shows "later" meanwhile
    flow.PrintSlip: EffectRoute(student_effects.print_slip_again, None),  # Done is not busy meanwhile
    flow.TakePhoto: EffectRoute(student_effects.take_photo, flow.PhotoFailed),
    flow.SaveRecord: EffectRoute(student_effects.save_record, lambda key: flow.SaveFailed("flow.error.not_saved")),
    flow.CheckPin: EffectRoute(staff_effects.check_pin, lambda key: flow.PinRejected(0)),
    flow.CheckCodeless: EffectRoute(staff_effects.check_codeless, flow.CodelessUnchecked),
    flow.FindTicket: EffectRoute(staff_effects.find_ticket, flow.TicketRejected),
    flow.BindCode: EffectRoute(staff_effects.bind_code, flow.BindFailed),
    flow.FetchBatch: EffectRoute(staff_effects.fetch_batch, lambda key: flow.BatchFailed("flow.error.batch_unknown")),
    flow.GatherHealth: EffectRoute(staff_effects.gather_health, lambda key: flow.HealthReported(())),
    flow.LoadStats: EffectRoute(staff_effects.load_stats, lambda key: flow.StatsLoaded(())),
    flow.StartCamera: EffectRoute(student_effects.start_camera, None),
    flow.StopCamera: EffectRoute(student_effects.stop_camera, None),
    flow.CallStaff: EffectRoute(staff_effects.call_staff, None),
    flow.CountRetake: EffectRoute(student_effects.count_retake, None),  # the retake is spent whether or not it is kept
    flow.WipeSession: EffectRoute(student_effects.wipe_session, None),
    flow.Quit: EffectRoute(student_effects.leave_kiosk, None),
    flow.AcknowledgeHelp: EffectRoute(staff_effects.acknowledge_help, flow.HelpUnacknowledged),
    flow.SaveContact: EffectRoute(staff_effects.save_contact,
                                   lambda key: flow.ContactRefused("flow.error.contact_failed")),
    flow.FindRecords: EffectRoute(staff_effects.find_records, flow.RecordsUnavailable),
    flow.UnlockCode: EffectRoute(staff_effects.unlock_code, flow.LastFourUnchecked),
    flow.GrantHeadwear: EffectRoute(staff_effects.grant_headwear, None),
}

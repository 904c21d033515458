"""The main job: an airport day on real photos, from enrolment to boarding.

Each person with two or more photos becomes a citizen enrolled from the first
photo and booked on one of the day's flights; their other photos are their faces
at check-in, security and boarding. People with one photo are not enrolled and
try the gates as impostors. Some passengers also try the wrong flight's gate, and
some try to board twice. A passenger referred to staff is cleared by staff after
a document check and goes on, as at a real airport.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import DomainError, FaceEncoder
from gate_service.bookings import NewFlight, book, schedule_flight
from gate_service.models import Booking, Flight
from gate_service.touchpoints import (
    Decision,
    GateAnswer,
    GateContext,
    GateRequest,
    Touchpoint,
    present,
    staff_clear,
)
from gatesim.db import transaction
from gatesim.photos import Photo, load_photos
from gatesim.runtime import Runtime, build_runtime
from gatesim.settings import Settings
from identity_mock.models import FaceTemplate
from identity_mock.service import NewCitizen, enrol_face, register_citizen

FLIGHTS = [
    ("VN213", "HAN", time(9, 0), "12"),
    ("VJ135", "DAD", time(11, 30), "14"),
    ("QH1521", "PQC", time(14, 0), "21"),
]
FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Đặng"]
MIDDLE_NAMES = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Quốc"]
GIVEN_NAMES = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Khánh", "Linh", "Nam"]
CHECKED_BAGGAGE_EVERY = 5
WRONG_GATE_EVERY = 3
BOARD_TWICE_EVERY = 4
JOURNEY = (Touchpoint.CHECK_IN, Touchpoint.SECURITY, Touchpoint.BOARDING)


@dataclass
class Attempt:
    """One presentation of a face at a touchpoint, and what came of it."""

    person: str
    photo: str
    touchpoint: str
    kind: str
    """journey, wrong_gate, board_twice or impostor."""
    decision: str
    reason_code: str
    distance: float | None
    latency_ms: float
    wrong_person: bool


@dataclass
class Passenger:
    """An enrolled passenger's day."""

    person: str
    flight_code: str
    checked_baggage: bool
    enrolled: bool
    steps: list[Attempt] = field(default_factory=list)
    boarded_by_face: bool = False
    referred: bool = False


@dataclass
class DemoReport:
    """Everything the demo measured; `summary` holds the headline figures."""

    passengers: list[Passenger]
    impostor_attempts: list[Attempt]
    decisions: list[Attempt]

    def summary(self) -> dict[str, object]:
        """The headline figures, as printed and written to JSON."""
        face_decisions = [d for d in self.decisions if d.decision != "error"]
        latencies = sorted(d.latency_ms for d in face_decisions)
        wrong = [d for d in self.decisions if d.wrong_person]
        return {
            "passengers": len(self.passengers),
            "enrolled": sum(p.enrolled for p in self.passengers),
            "boarded": sum(p.boarded_by_face for p in self.passengers),
            "referred": sum(p.referred for p in self.passengers),
            "impostor_attempts": len(self.impostor_attempts),
            "impostors_stopped": sum(
                a.decision != Decision.OPEN for a in self.impostor_attempts
            ),
            "wrong_gate_attempts": _count(self.decisions, "wrong_gate"),
            "wrong_gate_opened": _count(self.decisions, "wrong_gate", "open"),
            "board_twice_attempts": _count(self.decisions, "board_twice"),
            "board_twice_opened": _count(self.decisions, "board_twice", "open"),
            "wrong_person_accepts": len(wrong),
            "wrong_person_accepts_by_touchpoint": dict(
                Counter(d.touchpoint for d in wrong)
            ),
            "decisions_by_touchpoint": _by_touchpoint(self.decisions),
            "decision_ms_median": round(statistics.median(latencies), 1),
            "decision_ms_p95": round(_percentile(latencies, 95), 1),
        }

    def to_json(self) -> dict[str, object]:
        """Summary, passengers and every decision, as plain JSON values."""
        return {
            **self.summary(),
            "passenger_journeys": [asdict(p) for p in self.passengers],
            "decisions": [asdict(d) for d in self.decisions],
        }


def run_demo(
    folder: Path,
    settings: Settings,
    *,
    encoder: FaceEncoder | None = None,
    seed: int = 7,
    echo: bool = True,
) -> DemoReport:
    """Build an airport day from the photos in `folder` and walk it through."""
    photos = load_photos(folder)
    with tempfile.TemporaryDirectory(prefix="gatesim-demo-") as scratch:
        if settings.database_url == Settings.model_fields["database_url"].default:
            url = f"sqlite:///{Path(scratch) / 'demo.db'}"
            settings = settings.model_copy(update={"database_url": url})
        runtime = build_runtime(settings, encoder)
        try:
            return _Day(runtime, photos, Random(seed), echo).run()
        finally:
            runtime.engine.dispose()


class _Day:
    """One simulated airport day."""

    def __init__(
        self,
        runtime: Runtime,
        photos: dict[str, list[Photo]],
        rng: Random,
        echo: bool,
    ) -> None:
        self.runtime = runtime
        self.photos = photos
        self.rng = rng
        self.echo = echo
        self.today = runtime.gate.zone_offset(runtime.gate.now()).date()
        self.morning = datetime.combine(
            self.today, time(6, 0), tzinfo=runtime.settings.zone
        )
        self.gate: GateContext = replace(runtime.gate, now=lambda: self.morning)
        self.citizen_of: dict[str, int] = {}
        self.report = DemoReport([], [], [])

    def run(self) -> DemoReport:
        flights = self._schedule_flights()
        travellers = [p for p, items in self.photos.items() if len(items) >= 2]
        impostors = [p for p, items in self.photos.items() if len(items) == 1]

        for index, person in enumerate(travellers):
            flight_code = flights[index % len(flights)]
            passenger = self._enrol_and_book(person, flight_code, index)
            self.report.passengers.append(passenger)
        for index, passenger in enumerate(self.report.passengers):
            self._journey(passenger, flights, index)
            self._print_journey(passenger)
        for person in impostors:
            self._impostor(person, self.rng.choice(flights))
        self._print_impostors()
        return self.report

    def _schedule_flights(self) -> list[str]:
        codes = []
        with transaction(self.runtime.sessions) as session:
            for code, destination, departs, gate in FLIGHTS:
                departure_at = datetime.combine(
                    self.today, departs, tzinfo=self.runtime.settings.zone
                )
                schedule_flight(
                    session,
                    NewFlight(
                        code, self.gate.airport_code, destination, departure_at, gate
                    ),
                    zone=self.runtime.settings.zone,
                )
                codes.append(code)
        return codes

    def _enrol_and_book(self, person: str, flight_code: str, index: int) -> Passenger:
        checked_baggage = index % CHECKED_BAGGAGE_EVERY == CHECKED_BAGGAGE_EVERY - 1
        passenger = Passenger(person, flight_code, checked_baggage, enrolled=False)
        with transaction(self.runtime.sessions) as session:
            citizen = register_citizen(session, self._new_citizen(index))
            self.citizen_of[person] = citizen.id
            flight_id = _flight_id(session, flight_code)
            book(
                session,
                citizen_id=citizen.id,
                flight_id=flight_id,
                checked_baggage=checked_baggage,
            )
        try:
            with transaction(self.runtime.sessions) as session:
                outcome = enrol_face(
                    session,
                    self.citizen_of[person],
                    self.photos[person][0].path.read_bytes(),
                    encoder=self.runtime.encoder,
                    limits=self.gate.limits,
                    policy=self.runtime.quality,
                    duplicate_threshold=self.gate.rule.match_threshold,
                    cipher=self.runtime.cipher,
                )
            passenger.enrolled = isinstance(outcome, FaceTemplate)
            passenger.referred |= not passenger.enrolled
        except DomainError:
            passenger.referred = True
        return passenger

    def _new_citizen(self, index: int) -> NewCitizen:
        name = " ".join(
            [
                self.rng.choice(FAMILY_NAMES),
                self.rng.choice(MIDDLE_NAMES),
                self.rng.choice(GIVEN_NAMES),
            ]
        )
        national_id = f"079{self.rng.randrange(10**8, 10**9)}{index:03d}"[:12]
        birthday = date(1960, 1, 1) + timedelta(days=self.rng.randrange(0, 16000))
        return NewCitizen(national_id, name, birthday)

    def _journey(self, passenger: Passenger, flights: list[str], index: int) -> None:
        probes = _cycle(self.photos[passenger.person][1:])
        citizen_id = self.citizen_of[passenger.person]

        for touchpoint in JOURNEY:
            if touchpoint is Touchpoint.BOARDING and index % WRONG_GATE_EVERY == 0:
                other = next(code for code in flights if code != passenger.flight_code)
                attempt = self._attempt(
                    passenger.person, next(probes), touchpoint, "wrong_gate", other
                )
                passenger.steps.append(attempt)
            attempt = self._attempt(
                passenger.person,
                next(probes),
                touchpoint,
                "journey",
                passenger.flight_code,
            )
            passenger.steps.append(attempt)
            if attempt.decision == Decision.OPEN:
                passenger.boarded_by_face |= touchpoint is Touchpoint.BOARDING
                continue
            passenger.referred = True
            self._staff_clears(citizen_id, touchpoint)

        if index % BOARD_TWICE_EVERY == 0:
            attempt = self._attempt(
                passenger.person,
                next(probes),
                Touchpoint.BOARDING,
                "board_twice",
                passenger.flight_code,
            )
            passenger.steps.append(attempt)

    def _impostor(self, person: str, flight_code: str) -> None:
        photo = self.photos[person][0]
        for touchpoint in JOURNEY:
            attempt = self._attempt(person, photo, touchpoint, "impostor", flight_code)
            self.report.impostor_attempts.append(attempt)

    def _attempt(
        self,
        person: str,
        photo: Photo,
        touchpoint: Touchpoint,
        kind: str,
        flight_code: str,
    ) -> Attempt:
        request = GateRequest(
            touchpoint=touchpoint,
            device_id=f"{touchpoint.value}-01",
            image_bytes=photo.path.read_bytes(),
            flight_code=flight_code if touchpoint is Touchpoint.BOARDING else None,
        )
        try:
            answer = present(self.gate, request)
        except DomainError as error:
            answer = GateAnswer(touchpoint, Decision.REFER, error.code, error.message)

        true_id = self.citizen_of.get(person)
        wrong = answer.decision == Decision.OPEN and answer.passenger_id != true_id
        attempt = Attempt(
            person=person,
            photo=str(photo.path.name),
            touchpoint=touchpoint.value,
            kind=kind,
            decision=answer.decision.value,
            reason_code=answer.reason_code,
            distance=None if answer.distance is None else round(answer.distance, 4),
            latency_ms=round(answer.latency_ms, 1),
            wrong_person=wrong,
        )
        self.report.decisions.append(attempt)
        return attempt

    def _staff_clears(self, citizen_id: int, touchpoint: Touchpoint) -> None:
        with transaction(self.runtime.sessions) as session:
            reference = session.scalar(
                select(Booking.reference).where(Booking.citizen_id == citizen_id)
            )
        assert reference is not None
        staff_clear(self.gate, touchpoint, reference, f"{touchpoint.value}-staff")

    def _print_journey(self, passenger: Passenger) -> None:
        if not self.echo:
            return
        steps = "  ".join(_describe(step) for step in passenger.steps)
        enrolled = "" if passenger.enrolled else " (not enrolled)"
        bags = " +bag" if passenger.checked_baggage else ""
        flight = f"{passenger.flight_code:<7}{bags:5}{enrolled}"
        print(f"{passenger.person:>5} {flight} {steps}")

    def _print_impostors(self) -> None:
        if not self.echo:
            return
        for person in sorted({a.person for a in self.report.impostor_attempts}):
            steps = "  ".join(
                _describe(a)
                for a in self.report.impostor_attempts
                if a.person == person
            )
            print(f"{person:>5} impostor     {steps}")


def write_json(report: DemoReport, path: Path) -> None:
    """Write the report as JSON."""
    path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False))


def print_summary(report: DemoReport) -> None:
    """Print the headline figures."""
    summary = report.summary()
    print()
    print("Summary")
    for key, value in summary.items():
        print(f"  {key:36} {value}")


def _describe(attempt: Attempt) -> str:
    distance = "-" if attempt.distance is None else f"{attempt.distance:.2f}"
    marker = {"wrong_gate": "@wrong-gate ", "board_twice": "@again "}.get(
        attempt.kind, ""
    )
    flag = " WRONG-PERSON" if attempt.wrong_person else ""
    outcome = f"{attempt.decision}({attempt.reason_code},{distance})"
    return f"{marker}{attempt.touchpoint}:{outcome}{flag}"


def _flight_id(session: Session, code: str) -> int:
    flight_id = session.scalar(select(Flight.id).where(Flight.code == code))
    assert flight_id is not None
    return flight_id


def _count(decisions: list[Attempt], kind: str, decision: str | None = None) -> int:
    return sum(d.kind == kind and decision in (None, d.decision) for d in decisions)


def _cycle(photos: list[Photo]) -> Iterator[Photo]:
    while True:
        yield from photos


def _by_touchpoint(decisions: list[Attempt]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for attempt in decisions:
        row = table.setdefault(attempt.touchpoint, {})
        row[attempt.decision] = row.get(attempt.decision, 0) + 1
    return table


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return 0.0
    rank = (len(values) - 1) * percent / 100.0
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)

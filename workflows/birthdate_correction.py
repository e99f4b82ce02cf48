"""Birthdate correction awaiting staff approval (DESIGN §3.7, FAQ 6).

One workflow per request, id `birthdate-correction/<request-id>`:

1. The person whose birthdate check failed filed the request (the API wrote
   it in PostgreSQL). The school's staff are told; the person gets an
   acknowledgement.
2. Staff of the pupil's school, or académie support, decide. The staff API
   checks who decides and their scope and writes the decision in PostgreSQL;
   the update `decide_and_wait` carries its id only (and the scope the API
   checked, which its validator compares with the request's, refusing too a
   request decided already), an activity reads it back, checks it again and
   applies it, and the update answers what became of it (`DecisionAnswer`:
   applied, and for an approval which blocked processes resumed; or refused).
   The signal `decide` of before (id only, no answer) still works, so that
   its histories replay. A decision that PostgreSQL does not hold
   for this request (made up, sent from the Temporal Web UI...), applied
   already, or whose author no longer covers the pupil's school, is refused:
   noted in the timeline, nothing changed, the request still waits:
   - approve (with the corrected date): the record is corrected (audited),
     every blocked process (activation, registration) gets the signal
     `birthdate_unblocked`, reads the approval back, starts its birthdate
     step afresh and answers `unblock_confirmed` (the approval waits for it,
     CORRECTION_UNBLOCK_CONFIRM_WAIT at most, before it is noted), the
     person is told;
   - reject (with a reason): the person is told the reason, the blocked
     process stays blocked;
   - ask for information: the person answers through the same request, and
     the review starts again.
3. Without a decision, staff are reminded after 2 days, the request is
   escalated to académie support after 5 days, and after 30 days it is
   closed and the person told.

The person's answers and the requests that join are read back the same way
(`activities.correction_decisions`): the workflow trusts nothing a signal
says about who acted.

The step is the search attribute `EduProcessStep` (awaiting_review,
awaiting_information, escalated, approved, rejected, expired), with the
school in `EduSchoolUai`: requests waiting on staff are
`temporal workflow list --query "WorkflowType='BirthdateCorrection' AND EduProcessStep IN ('awaiting_review','escalated')"`.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from educonnect import policies
from educonnect.french_dates import utc_date_time
from educonnect.models.activation import BirthdateUnblocked
from educonnect.models.corrections import (
    DECISION_REFUSAL_OUTCOMES,
    DECISION_REJECTED,
    MESSAGE_REFUSED,
    OPEN_STEPS,
    STEP_LABELS,
    AnswerToCheck,
    AppliedDecision,
    ApplyCorrection,
    CloseRequest,
    CorrectionInput,
    CorrectionResult,
    CorrectionStatus,
    CorrectionStep,
    DecisionAnswer,
    DecisionKind,
    DecisionMade,
    DecisionOutcome,
    DecisionToApply,
    InformationReceived,
    MessageRefusal,
    ParticipantJoined,
    ParticipantToCheck,
    RefusedDecision,
    RequesterNotice,
    RequesterNoticeKind,
    StaffDecision,
    StaffNotice,
    StaffNoticeKind,
    StaffRef,
    StepRecord,
    TimelineEvent,
    UnblockConfirmed,
    filed_label,
    filer,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP, SCHOOL_UAI
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.correction_link import UNBLOCK_CONFIRMED_SIGNAL, correction_workflow_id
from workflows.steps.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.correction_decisions import CorrectionDecisionActivities
    from activities.corrections import CorrectionActivities
    from activities.staff_notifications import StaffNotificationActivities

# The signal every blocked process (activation, SMS registration...) implements.
UNBLOCK_SIGNAL = "birthdate_unblocked"
# Its answer, UNBLOCK_CONFIRMED_SIGNAL (`workflows.steps.correction_link`): the
# process read the approval back and resumed (`workflows.steps.birthdate_step`).
# The update a staff decision comes by; its answer is what became of it.
DECISION_UPDATE = "decide_and_wait"


def workflow_id(request_id) -> str:
    return correction_workflow_id(request_id)


def summary(uai: str, academie: str) -> str:
    """The French summary the Web UI shows for each request."""
    return f"Correction de date de naissance — établissement {uai} (académie de {academie})"


Event = StaffDecision | InformationReceived | ParticipantJoined

APPLY_STAFF_DECISION = CorrectionDecisionActivities.apply_staff_decision.__name__

# The French summaries of the activities and timers on the Web UI's timeline.
REMINDER_SUMMARY = f"Rappel au personnel à J+{policies.CORRECTION_REMINDER_AFTER.days}"
ESCALATION_SUMMARY = (
    f"Transmission à l'assistance académique à J+{policies.CORRECTION_ESCALATION_AFTER.days}"
)
CLOSE_SUMMARY = f"Clôture sans décision à J+{policies.CORRECTION_CLOSE_AFTER.days}"
UNBLOCK_CONFIRM_SUMMARY = "Attente de la reprise des démarches débloquées"
REQUESTER_NOTICE_SUMMARIES = {
    RequesterNoticeKind.RECEIVED: "Avis au demandeur : demande reçue",
    RequesterNoticeKind.INFORMATION_REQUESTED: "Avis au demandeur : précisions demandées",
    RequesterNoticeKind.APPROVED: "Avis au demandeur : correction approuvée",
    RequesterNoticeKind.REJECTED: "Avis au demandeur : demande refusée",
    RequesterNoticeKind.EXPIRED: "Avis au demandeur : demande clôturée sans décision",
}
STAFF_NOTICE_SUMMARIES = {
    StaffNoticeKind.NEW: "Avis au personnel : nouvelle demande",
    StaffNoticeKind.REMINDER: "Rappel au personnel : demande sans décision",
    StaffNoticeKind.ESCALATION: "Avis à l'assistance académique : demande transmise",
    StaffNoticeKind.INFORMATION_RECEIVED: "Avis au personnel : précisions reçues",
}

# Messages handled since this patch are read back from PostgreSQL. One marker
# per message handled (`.../1`, `.../2`...), not one per run: `patched()`
# answers once per id and run, so a request that handled a message on the code
# of before and is still open reads back every message it gets from now on.
READ_BACK_PATCH = "read-back-messages"
# Since this patch an approval waits (CORRECTION_UNBLOCK_CONFIRM_WAIT at most)
# for the processes it unblocks to confirm, before it is noted and told: they
# read the approval back first, and whoever sees the approval sees them resumed.
UNBLOCK_CONFIRM_PATCH = "wait-for-unblock-confirmations"
# Since this patch staff decisions come by the update `decide_and_wait`, whose
# answer is the outcome (the staff API polled the status query after a signal):
# its marker is in the histories of runs that heard a decision by update.
DECISION_UPDATE_PATCH = "decisions-by-update"

_REFUSED_DECISION_LABELS = {
    MessageRefusal.UNKNOWN: "Décision refusée : aucun membre du personnel ne l'a enregistrée pour cette demande",
    MessageRefusal.ALREADY_USED: "Décision refusée : elle a déjà été appliquée",
    MessageRefusal.OUT_OF_SCOPE: "Décision refusée : son auteur n'est plus habilité pour cet élève",
    MessageRefusal.CLOSED: "Décision ignorée : la demande était déjà traitée",
}
_REFUSED_ANSWER_LABEL = (
    "Réponse ignorée : aucune réponse du demandeur à la dernière question ne porte cet identifiant"
)
_REFUSED_PARTICIPANT_LABEL = (
    "Demande jointe ignorée : aucun demandeur de cette demande ne porte cet identifiant"
)


@workflow.defn(name="BirthdateCorrection")
class BirthdateCorrectionWorkflow:
    @workflow.init
    def __init__(self, params: CorrectionInput) -> None:
        self._params = params
        self._step = CorrectionStep.AWAITING_REVIEW
        self._filed_at = workflow.now()
        self._closes_at = self._filed_at + policies.CORRECTION_CLOSE_AFTER
        self._review_since = self._filed_at  # start of the current review round
        self._review_rounds = 1
        self._reminded = False  # in the current round
        self._escalated = False
        self._closing = False  # a final decision is being applied
        self._questions = 0
        self._inbox: list[Event] = []
        self._seen_decisions: set[UUID] = set()
        self._messages_handled = 0  # numbers the read-back patch markers
        self._seen_answers: set[UUID] = set()
        self._seen_participants: set[UUID] = set()
        self._timeline: list[TimelineEvent] = []
        self._decided_by: StaffRef | None = None
        self._corrected: date | None = None
        self._resumed: set[str] = set()  # processes that confirmed their unblock
        self._signalled: set[str] = set()  # processes an approval unblocked

    # --- the process ------------------------------------------------------------

    @workflow.run
    async def run(self, params: CorrectionInput) -> CorrectionResult:
        self._enter(CorrectionStep.AWAITING_REVIEW)
        self._note("filed", filed_label(params.filed_by_pupil))
        await self._notify_requesters(RequesterNoticeKind.RECEIVED, "received")
        await self._notify_staff(StaffNoticeKind.NEW, "staff-new")

        while self._step in OPEN_STEPS:
            deadline = self._next_deadline()
            await wait_until(lambda: bool(self._inbox), deadline, self._deadline_summary(deadline))
            while self._inbox and self._step in OPEN_STEPS:
                await self._handle(self._inbox.pop(0))
            if self._step not in OPEN_STEPS:
                break
            now = workflow.now()
            if now >= self._closes_at:
                await self._expire()
            elif self._step == CorrectionStep.AWAITING_REVIEW:
                if not self._escalated and now >= self._escalation_due():
                    await self._escalate()
                elif not self._reminded and now >= self._reminder_due():
                    await self._remind()

        for late in self._inbox:  # arrived while the final decision was applied
            if isinstance(late, StaffDecision):
                label = "Décision ignorée : la demande était déjà traitée"
                self._note_decision(
                    late.decision_id, late.staff, DecisionOutcome.IGNORED_CLOSED, label
                )
        self._inbox.clear()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return CorrectionResult(
            request_id=params.request_id, step=self._step, decided_by=self._decided_by
        )

    # --- events -------------------------------------------------------------------

    @workflow.signal
    def decide(self, decision: StaffDecision) -> None:
        """A staff member approved, rejected or asked for information (the
        decision's id: what was decided, and by whom, is read back)."""
        if decision.decision_id in self._seen_decisions:  # the API retried the signal
            return
        self._seen_decisions.add(decision.decision_id)
        if self._step not in OPEN_STEPS or self._closing:
            label = "Décision ignorée : la demande est déjà traitée"
            self._note_decision(
                decision.decision_id, decision.staff, DecisionOutcome.IGNORED_CLOSED, label
            )
            return
        self._inbox.append(decision)

    @workflow.update(name=DECISION_UPDATE)
    async def decide_and_wait(self, decision: DecisionMade) -> DecisionAnswer:
        """A staff member approved, rejected or asked for information (the
        decision's id: what was decided, and by whom, is read back); the answer
        is what became of it, once handled (an approval: once the blocked
        processes confirmed they resumed, or their wait ran out)."""
        workflow.patched(DECISION_UPDATE_PATCH)
        self._seen_decisions.add(decision.decision_id)
        self._inbox.append(StaffDecision(decision_id=decision.decision_id))
        await workflow.wait_condition(lambda: self._outcome(decision.decision_id) is not None)
        outcome = self._outcome(decision.decision_id)
        assert outcome is not None
        return DecisionAnswer(
            decision_id=decision.decision_id,
            outcome=outcome,
            step=self._step,
            resumed=sorted(self._signalled & self._resumed),
            not_resumed=sorted(self._signalled - self._resumed),
        )

    @decide_and_wait.validator
    def _check_decision(self, decision: DecisionMade) -> None:
        """Refused before anything is recorded: a decision heard already, a
        request decided already (or being closed), a scope that does not cover
        the pupil's school."""
        refusal = None
        if decision.decision_id in self._seen_decisions:
            refusal = MessageRefusal.ALREADY_USED
        elif self._step not in OPEN_STEPS or self._closing:
            refusal = MessageRefusal.CLOSED
        elif not decision.scope.covers(self._params.uai, self._params.academie):
            refusal = MessageRefusal.OUT_OF_SCOPE
        if refusal is not None:
            raise ApplicationError(
                f"decision refused: {refusal.value}",
                refusal.value,
                type=DECISION_REJECTED,
                non_retryable=True,
            )

    def _outcome(self, decision_id: UUID) -> DecisionOutcome | None:
        return next(
            (e.outcome for e in self._timeline if e.decision_id == decision_id and e.outcome),
            None,
        )

    @workflow.signal
    def information_received(self, event: InformationReceived) -> None:
        """The person answered (the text waits in PostgreSQL)."""
        self._inbox.append(event)

    @workflow.signal
    def participant_joined(self, event: ParticipantJoined) -> None:
        """A duplicate request for the same child joined this one."""
        self._inbox.append(event)

    @workflow.signal(name=UNBLOCK_CONFIRMED_SIGNAL)
    def unblock_confirmed(self, event: UnblockConfirmed) -> None:
        """A blocked process resumed (a claim: it only ends the approval's wait early)."""
        self._resumed.add(event.process_id)

    @workflow.query
    def status(self) -> CorrectionStatus:
        in_review = self._step == CorrectionStep.AWAITING_REVIEW
        return CorrectionStatus(
            request_id=self._params.request_id,
            step=self._step,
            step_label=STEP_LABELS[self._step],
            escalated=self._escalated,
            reminded=self._reminded,
            filed_at=self._filed_at,
            reminder_due_at=self._reminder_due() if in_review and not self._reminded else None,
            escalation_due_at=self._escalation_due() if in_review and not self._escalated else None,
            closes_at=self._closes_at,
            decided_by=self._decided_by,
            corrected_birthdate=self._corrected,
            timeline=list(self._timeline),
        )

    async def _handle(self, event: Event) -> None:
        read_back = self._reads_back()
        if isinstance(event, StaffDecision):
            await (self._decide_read_back(event) if read_back else self._decide(event))
        elif isinstance(event, InformationReceived):
            if read_back and not await self._answer_is_known(event):
                return
            await self._answered(event)
        else:
            if read_back and not await self._participant_is_known(event):
                return
            self._note("joined", "Une autre demande pour le même enfant a rejoint celle-ci")

    def _reads_back(self) -> bool:
        """Whether the message handled now is read back from PostgreSQL (always,
        but in the histories of before)."""
        self._messages_handled += 1
        return workflow.patched(f"{READ_BACK_PATCH}/{self._messages_handled}")

    # --- decisions, answers and requesters read back from PostgreSQL ---------------------

    async def _decide_read_back(self, signal: StaffDecision) -> None:
        if signal.staff is not None and not signal.staff.covers(
            self._params.uai, self._params.academie
        ):
            await self._refuse_out_of_scope(
                signal
            )  # a signal of the old shape: refused unread, as before
            return
        try:
            # By name, with this module's result type: the activity's own annotation is
            # the class outside the sandbox, which this workflow's models refuse.
            decision = await workflow.execute_activity(
                APPLY_STAFF_DECISION,
                DecisionToApply(request_id=self._params.request_id, decision_id=signal.decision_id),
                result_type=AppliedDecision,
                summary="Vérification et enregistrement de la décision du personnel",
                **ACTIVITY_OPTIONS,
            )
        except ActivityError as err:
            reason = _refusal_reason(err)
            workflow.logger.warning("decision %s refused: %s", signal.decision_id, reason.value)
            outcome, label = DECISION_REFUSAL_OUTCOMES[reason], _REFUSED_DECISION_LABELS[reason]
            self._note_decision(signal.decision_id, None, outcome, label)
            return
        if decision.kind == DecisionKind.APPROVE:
            await self._approved(decision)
        elif decision.kind == DecisionKind.REJECT:
            await self._rejected(decision)
        else:
            await self._information_asked(decision)

    async def _approved(self, decision: AppliedDecision) -> None:
        """The record is corrected and the request closed (by the activity)."""
        self._closing = True
        await self._record_corrected(
            decision.decision_id, decision.staff, decision.corrected_birthdate
        )

    async def _record_corrected(
        self, decision_id: UUID, staff: StaffRef | None, corrected: date | None
    ) -> None:
        """The record was corrected: the blocked processes continue before anyone is told they can."""
        self._decided_by, self._corrected = staff, corrected
        await self._unblock()
        self._enter(CorrectionStep.APPROVED)
        self._note_decision(
            decision_id,
            staff,
            DecisionOutcome.APPLIED,
            "Acceptée : date de naissance corrigée dans le dossier de l'élève",
        )
        await self._notify_requesters(RequesterNoticeKind.APPROVED, "approved")

    async def _rejected(self, decision: AppliedDecision) -> None:
        """The request is closed (by the activity)."""
        self._closing = True
        self._decided_by = decision.staff
        self._enter(CorrectionStep.REJECTED)
        label = "Refusée, avec un motif transmis au demandeur"
        self._note_decision(decision.decision_id, decision.staff, DecisionOutcome.APPLIED, label)
        await self._notify_requesters(RequesterNoticeKind.REJECTED, "rejected", decision.message_id)

    async def _information_asked(self, decision: AppliedDecision) -> None:
        """The request waits on the person (its row says so already)."""
        self._questions += 1
        self._enter(CorrectionStep.AWAITING_INFORMATION)
        self._note_decision(
            decision.decision_id,
            decision.staff,
            DecisionOutcome.APPLIED,
            "Informations complémentaires demandées au demandeur",
        )
        await self._notify_requesters(
            RequesterNoticeKind.INFORMATION_REQUESTED,
            f"information-{self._questions}",
            decision.message_id,
        )

    async def _answer_is_known(self, event: InformationReceived) -> bool:
        if event.message_id in self._seen_answers:  # the same answer again: no news
            return False
        self._seen_answers.add(event.message_id)
        check = AnswerToCheck(request_id=self._params.request_id, message_id=event.message_id)
        if refused := await self._refused_by(
            CorrectionDecisionActivities.check_answer, check, "Vérification de la réponse reçue"
        ):
            workflow.logger.warning("answer %s refused: %s", event.message_id, refused.value)
            self._note("answer_refused", _REFUSED_ANSWER_LABEL)
            return False
        return True

    async def _participant_is_known(self, event: ParticipantJoined) -> bool:
        if event.participant_id in self._seen_participants:
            return False
        self._seen_participants.add(event.participant_id)
        check = ParticipantToCheck(
            request_id=self._params.request_id, participant_id=event.participant_id
        )
        if refused := await self._refused_by(
            CorrectionDecisionActivities.check_participant,
            check,
            "Vérification du responsable qui se joint à la demande",
        ):
            workflow.logger.warning(
                "participant %s refused: %s", event.participant_id, refused.value
            )
            self._note("join_refused", _REFUSED_PARTICIPANT_LABEL)
            return False
        return True

    async def _refused_by(self, check, argument, summary: str) -> MessageRefusal | None:
        """Run a read-back check: None when it holds, else why it was refused."""
        try:
            await workflow.execute_activity_method(
                check, argument, summary=summary, **ACTIVITY_OPTIONS
            )
        except ActivityError as err:
            return _refusal_reason(err)
        return None

    # --- decisions as the signals of before carried them (their histories replay) -----------

    async def _refuse_out_of_scope(self, decision: StaffDecision) -> None:
        """Refused unread; noted and audited naming nobody (the signal's author is a claim)."""
        label = "Décision refusée : élève hors du périmètre de son auteur"
        self._note_decision(decision.decision_id, None, DecisionOutcome.REFUSED_SCOPE, label)
        await workflow.execute_activity_method(
            CorrectionActivities.audit_refused_decision,
            RefusedDecision(
                request_id=self._params.request_id, decision=decision, reason="staff_out_of_scope"
            ),
            summary="Décision refusée : trace dans le journal",
            **ACTIVITY_OPTIONS,
        )

    async def _decide(self, decision: StaffDecision) -> None:
        assert decision.staff is not None and decision.kind is not None
        if not decision.staff.covers(self._params.uai, self._params.academie):
            await self._refuse_out_of_scope(decision)
            return
        if decision.kind == DecisionKind.APPROVE and decision.corrected_birthdate is not None:
            await self._approve(decision)
        elif decision.kind == DecisionKind.REJECT and decision.message_id is not None:
            await self._reject(decision)
        elif decision.kind == DecisionKind.ASK_INFORMATION and decision.message_id is not None:
            await self._ask_information(decision)
        else:
            label = "Décision incomplète ignorée (date ou message manquant)"
            self._note_decision(
                decision.decision_id, decision.staff, DecisionOutcome.INVALID, label
            )

    async def _approve(self, decision: StaffDecision) -> None:
        assert decision.corrected_birthdate is not None and decision.staff is not None
        self._closing = True
        applied = await workflow.execute_activity_method(
            CorrectionActivities.apply_birthdate_correction,
            ApplyCorrection(
                request_id=self._params.request_id,
                pupil_id=self._params.pupil_id,
                decision_id=decision.decision_id,
                staff=decision.staff,
                corrected_birthdate=decision.corrected_birthdate,
            ),
            summary="Correction de la date de naissance dans la fiche de l'élève",
            **ACTIVITY_OPTIONS,
        )
        await self._record_corrected(decision.decision_id, decision.staff, applied.new_birthdate)

    async def _reject(self, decision: StaffDecision) -> None:
        self._closing = True
        await workflow.execute_activity_method(
            CorrectionActivities.close_correction_request,
            CloseRequest(
                request_id=self._params.request_id,
                step=CorrectionStep.REJECTED,
                decision_id=decision.decision_id,
                staff=decision.staff,
                message_id=decision.message_id,
            ),
            summary="Clôture de la demande refusée",
            **ACTIVITY_OPTIONS,
        )
        self._decided_by = decision.staff
        self._enter(CorrectionStep.REJECTED)
        label = "Refusée, avec un motif transmis au demandeur"
        self._note_decision(decision.decision_id, decision.staff, DecisionOutcome.APPLIED, label)
        await self._notify_requesters(RequesterNoticeKind.REJECTED, "rejected", decision.message_id)

    async def _ask_information(self, decision: StaffDecision) -> None:
        self._questions += 1
        await self._move(CorrectionStep.AWAITING_INFORMATION)
        self._note_decision(
            decision.decision_id,
            decision.staff,
            DecisionOutcome.APPLIED,
            "Informations complémentaires demandées au demandeur",
        )
        await self._notify_requesters(
            RequesterNoticeKind.INFORMATION_REQUESTED,
            f"information-{self._questions}",
            decision.message_id,
        )

    async def _answered(self, event: InformationReceived) -> None:
        if self._step != CorrectionStep.AWAITING_INFORMATION:
            self._note("message", "Message complémentaire du demandeur")
            return
        # A new review round: the reminder and escalation clocks start again.
        self._review_rounds += 1
        self._review_since = workflow.now()
        self._reminded = False
        await self._move(
            CorrectionStep.ESCALATED if self._escalated else CorrectionStep.AWAITING_REVIEW
        )
        self._note("answered", "Le demandeur a répondu à la demande d'informations")
        await self._notify_staff(
            StaffNoticeKind.INFORMATION_RECEIVED, f"answer-{self._review_rounds}"
        )

    # --- timers -----------------------------------------------------------------------

    def _reminder_due(self) -> datetime:
        return self._review_since + policies.CORRECTION_REMINDER_AFTER

    def _escalation_due(self) -> datetime:
        return self._review_since + policies.CORRECTION_ESCALATION_AFTER

    def _next_deadline(self) -> datetime:
        deadlines = [self._closes_at]
        if self._step == CorrectionStep.AWAITING_REVIEW:
            if not self._reminded:
                deadlines.append(self._reminder_due())
            if not self._escalated:
                deadlines.append(self._escalation_due())
        return min(deadlines)

    def _deadline_summary(self, deadline: datetime) -> str:
        """What the timer up to `deadline` (from `_next_deadline`) means, in French."""
        if deadline == self._closes_at:
            return CLOSE_SUMMARY
        if not self._escalated and deadline == self._escalation_due():
            return ESCALATION_SUMMARY
        return REMINDER_SUMMARY

    async def _remind(self) -> None:
        self._reminded = True
        self._note(
            "reminder_sent", "Rappel envoyé au personnel de l'établissement (2 jours sans décision)"
        )
        self._set_details()
        await self._notify_staff(StaffNoticeKind.REMINDER, f"reminder-{self._review_rounds}")

    async def _escalate(self) -> None:
        self._escalated = True
        self._reminded = True  # no school reminder once académie support has it
        await self._move(CorrectionStep.ESCALATED)
        self._note("escalated", "Transmise à l'assistance académique (5 jours sans décision)")
        await self._notify_staff(StaffNoticeKind.ESCALATION, "escalation")

    async def _expire(self) -> None:
        self._closing = True
        await workflow.execute_activity_method(
            CorrectionActivities.close_correction_request,
            CloseRequest(request_id=self._params.request_id, step=CorrectionStep.EXPIRED),
            summary="Clôture de la demande sans décision",
            **ACTIVITY_OPTIONS,
        )
        self._enter(CorrectionStep.EXPIRED)
        self._note("expired", "Clôturée sans décision après 30 jours ; le demandeur est prévenu")
        await self._notify_requesters(RequesterNoticeKind.EXPIRED, "expired")

    # --- helpers ------------------------------------------------------------------------

    async def _unblock(self) -> None:
        processes = await workflow.execute_activity_method(
            CorrectionActivities.blocked_processes,
            self._params.request_id,
            summary="Recherche des démarches bloquées par la date de naissance",
            **ACTIVITY_OPTIONS,
        )
        signalled = set()
        for process_id in processes:
            handle = workflow.get_external_workflow_handle(process_id)
            try:
                await handle.signal(
                    UNBLOCK_SIGNAL, BirthdateUnblocked(correction_id=str(self._params.request_id))
                )
                self._note(
                    "unblocked",
                    f"Processus bloqué relancé à l'étape de la date de naissance : {process_id}",
                )
                signalled.add(process_id)
                self._signalled.add(process_id)
            except FailureError:
                self._note(
                    "unblock_failed", f"Processus bloqué introuvable ou déjà terminé : {process_id}"
                )
        if signalled and workflow.patched(UNBLOCK_CONFIRM_PATCH):
            # A process that was not blocked (any more) confirms nothing: the wait ends at its deadline.
            deadline = workflow.now() + policies.CORRECTION_UNBLOCK_CONFIRM_WAIT
            await wait_until(lambda: signalled <= self._resumed, deadline, UNBLOCK_CONFIRM_SUMMARY)

    async def _notify_requesters(
        self, kind: RequesterNoticeKind, step: str, message_id: UUID | None = None
    ) -> None:
        await workflow.execute_activity_method(
            CorrectionActivities.notify_requesters,
            RequesterNotice(
                request_id=self._params.request_id, kind=kind, step=step, message_id=message_id
            ),
            summary=REQUESTER_NOTICE_SUMMARIES[kind],
            **ACTIVITY_OPTIONS,
        )

    async def _notify_staff(self, kind: StaffNoticeKind, step: str) -> None:
        await workflow.execute_activity_method(
            StaffNotificationActivities.notify_staff,
            StaffNotice(request_id=self._params.request_id, kind=kind, step=step),
            summary=STAFF_NOTICE_SUMMARIES[kind],
            **ACTIVITY_OPTIONS,
        )

    async def _move(self, step: CorrectionStep) -> None:
        """Enter an open step and mirror it in the request's row."""
        self._enter(step)
        await workflow.execute_activity_method(
            CorrectionActivities.record_correction_step,
            StepRecord(request_id=self._params.request_id, step=step, escalated=self._escalated),
            summary=f"Étape enregistrée : {STEP_LABELS[step]}",
            **ACTIVITY_OPTIONS,
        )

    def _note(self, kind: str, label: str) -> None:
        self._timeline.append(TimelineEvent(at=workflow.now(), kind=kind, label=label))

    def _note_decision(
        self, decision_id: UUID, staff: StaffRef | None, outcome: DecisionOutcome, label: str
    ) -> None:
        """A decision in the timeline; its author only once read back (or from a
        signal of before): a refused decision names nobody."""
        self._timeline.append(
            TimelineEvent(
                at=workflow.now(),
                kind="decision",
                label=f"{label} — {staff.label}" if staff is not None else label,
                staff=staff,
                decision_id=decision_id,
                outcome=outcome,
            )
        )

    def _enter(self, step: CorrectionStep) -> None:
        self._step = step
        attributes: list[SearchAttributeUpdate] = [
            PROCESS_STEP.value_set(step.value),
            SCHOOL_UAI.value_set([self._params.uai]),
        ]
        if self._params.account_id is not None:
            attributes.append(ACCOUNT_ID.value_set(str(self._params.account_id)))
        workflow.upsert_search_attributes(attributes)
        self._set_details()

    def _set_details(self) -> None:
        p = self._params
        details = (
            f"**{STEP_LABELS[self._step]}**\n\n"
            f"Établissement : {p.uai} (académie de {p.academie})\n\n"
            f"Déposée par {filer(p.filed_by_pupil)} le {utc_date_time(self._filed_at)}"
        )
        if self._step in OPEN_STEPS:
            if self._step == CorrectionStep.AWAITING_REVIEW and not self._reminded:
                details += f" ; rappel au personnel le {utc_date_time(self._reminder_due())}"
            if self._step == CorrectionStep.AWAITING_REVIEW and not self._escalated:
                details += f" ; transmission à l'assistance académique le {utc_date_time(self._escalation_due())}"
            details += f" ; clôture sans décision le {utc_date_time(self._closes_at)}"
        elif self._decided_by is not None:
            details += f"\n\nDécision de {self._decided_by.label}"
        workflow.set_current_details(details)


def _refusal_reason(err: ActivityError) -> MessageRefusal:
    """Why a read-back activity refused a message; any other failure goes on up."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == MESSAGE_REFUSED and cause.details:
        return MessageRefusal(cause.details[0])
    raise err

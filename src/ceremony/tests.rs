//! The ceremony's rules, by example and by property over random command sequences.

use super::details::*;
use super::*;
use crate::evidence::EventType;
use crate::signing::FieldKind;
use proptest::prelude::*;

fn sha(n: u64) -> Sha256 {
    Sha256::digest(&n.to_be_bytes())
}

fn sent_details(recipients: usize) -> DocumentSent {
    DocumentSent { layout_sha256: sha(0), order: SigningOrder::Sequential, recipients, fields: 1, expires_at: None }
}

fn signed_details() -> Signed {
    Signed { recipient: String::new(), position: 0, fields: Vec::new(), images: SignedImages::default() }
}

fn completed_details() -> Completed {
    Completed { signers: 1, original_sha256: sha(1), original_size: 1, signed_size: 2, seal_certificate_sha256: sha(2) }
}

fn send(n: usize, order: SigningOrder, otp: bool, expires_at: Option<Timestamp>) -> Command {
    send_reminding(n, order, otp, expires_at, ReminderPolicy::OFF)
}

fn send_reminding(
    n: usize,
    order: SigningOrder,
    otp: bool,
    expires_at: Option<Timestamp>,
    reminders: ReminderPolicy,
) -> Command {
    Command::Send {
        participants: (0..n)
            .map(|i| NewParticipant { id: format!("r{}", i + 1), role: ParticipantRole::Signer, otp_required: otp })
            .collect(),
        order,
        expires_at,
        reminders,
        details: sent_details(n),
        scheduled_for: None,
    }
}

fn schedule_at(at: Timestamp) -> Command {
    Command::Schedule {
        details: Scheduled {
            send_at: at.as_micros(),
            time_zone: "Europe/Paris".into(),
            layout_sha256: sha(0),
            recipients: 1,
            fields: 1,
            replaces: None,
        },
    }
}

/// The send the schedule for `at` makes.
fn scheduled_send(n: usize, at: Timestamp) -> Command {
    match send(n, SigningOrder::Parallel, false, None) {
        Command::Send { participants, order, expires_at, reminders, details, .. } => {
            Command::Send { participants, order, expires_at, reminders, details, scheduled_for: Some(at) }
        }
        _ => unreachable!("send builds a send"),
    }
}

#[test]
fn people_in_copy_get_no_link_are_in_nobodys_way_and_completion_waits_only_for_signers() {
    let mut send = send(3, SigningOrder::Sequential, false, None);
    if let Command::Send { participants, .. } = &mut send {
        participants[0].role = ParticipantRole::Cc;
    }
    // r1 in copy, then r2 and r3 sign in order: r2's link goes first.
    let (c, t) = apply(&Ceremony::draft(), send);
    assert_eq!(t.follow_ups, vec![FollowUp::IssueLink { recipient: 1 }]);
    assert_eq!(
        decide(&c, Command::IssueLink { recipient: 0, link: sha(9), by_sender: true }, T0).map(|_| ()),
        Err(Refusal::NothingToDo)
    );
    let (c, _) = apply(&c, Command::IssueLink { recipient: 1, link: sha(10), by_sender: false });
    let link = sha(10);
    let (c, _) = apply(&c, Command::View { recipient: 1, link });
    let consent = Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: false };
    let (c, _) = apply(&c, Command::Consent { recipient: 1, link, details: consent.clone() });
    // r3 may not sign before r2: the refusal names r2's position among all recipients.
    assert_eq!(c.may_act(2), Err(Refusal::NotYourTurn { waiting_for: 2 }));
    assert_eq!(c.may_act(0), Err(Refusal::NothingToDo));
    let (c, t) = apply(&c, Command::Sign { recipient: 1, link, code_verified: false, details: signed_details() });
    assert_eq!(t.follow_ups, vec![FollowUp::IssueLink { recipient: 2 }]);
    let (c, _) = apply(&c, Command::IssueLink { recipient: 2, link: sha(11), by_sender: false });
    let link = sha(11);
    let (c, _) = apply(&c, Command::Consent { recipient: 2, link, details: consent });
    let (c, t) = apply(&c, Command::Sign { recipient: 2, link, code_verified: false, details: signed_details() });
    assert_eq!(t.follow_ups, vec![FollowUp::Complete], "the copy does not hold completion up");
    assert!(c.everyone_acted());
    // Nobody but people in copy: nothing to send.
    let mut only_cc = super::tests::send(1, SigningOrder::Parallel, false, None);
    if let Command::Send { participants, .. } = &mut only_cc {
        participants[0].role = ParticipantRole::Cc;
    }
    assert_eq!(decide(&Ceremony::draft(), only_cc, T0).map(|_| ()), Err(Refusal::NoRecipients));
}

#[test]
fn an_approver_approves_in_turn_and_never_signs_and_a_signer_never_approves() {
    let mut send = send(2, SigningOrder::Sequential, false, None);
    if let Command::Send { participants, .. } = &mut send {
        participants[0].role = ParticipantRole::Approver;
    }
    let (c, t) = apply(&Ceremony::draft(), send);
    assert_eq!(t.follow_ups, vec![FollowUp::IssueLink { recipient: 0 }], "the approver goes first");
    let (c, _) = apply(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false });
    let link = sha(10);
    let consent = Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: false };
    assert_eq!(
        decide(&c, Command::Approve { recipient: 0, link, code_verified: false }, T0).map(|_| ()),
        Err(Refusal::ConsentFirst)
    );
    let (c, _) = apply(&c, Command::Consent { recipient: 0, link, details: consent.clone() });
    assert_eq!(
        decide(&c, Command::Sign { recipient: 0, link, code_verified: false, details: signed_details() }, T0)
            .map(|_| ()),
        Err(Refusal::WrongAction("approve"))
    );
    let (c, t) = apply(&c, Command::Approve { recipient: 0, link, code_verified: false });
    assert_eq!(t.event.event_type(), EventType::RecipientApproved);
    assert_eq!(t.event.details(), serde_json::json!({ "recipient": "r1", "position": 1 }));
    assert_eq!(t.follow_ups, vec![FollowUp::IssueLink { recipient: 1 }], "then the signer's turn");
    let (c, _) = apply(&c, Command::IssueLink { recipient: 1, link: sha(11), by_sender: false });
    let link = sha(11);
    let (c, _) = apply(&c, Command::Consent { recipient: 1, link, details: consent });
    assert_eq!(
        decide(&c, Command::Approve { recipient: 1, link, code_verified: false }, T0).map(|_| ()),
        Err(Refusal::WrongAction("sign"))
    );
    let (_, t) = apply(&c, Command::Sign { recipient: 1, link, code_verified: false, details: signed_details() });
    assert_eq!(t.follow_ups, vec![FollowUp::Complete]);
}

#[test]
fn acknowledgers_confirm_in_parallel_cannot_decline_and_complete_the_document() {
    let mut send = send(3, SigningOrder::Parallel, false, None);
    if let Command::Send { participants, .. } = &mut send {
        for p in participants.iter_mut() {
            p.role = ParticipantRole::Acknowledger;
        }
    }
    let (mut c, t) = apply(&Ceremony::draft(), send);
    assert_eq!(t.follow_ups.len(), 3, "everyone at once");
    let consent = Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: false };
    for i in 0..3u64 {
        let link = sha(20 + i);
        let index = usize::try_from(i).expect("small");
        c = apply(&c, Command::IssueLink { recipient: index, link, by_sender: false }).0;
        c = apply(&c, Command::Consent { recipient: index, link, details: consent.clone() }).0;
    }
    let link = sha(20);
    assert_eq!(
        decide(&c, Command::Decline { recipient: 0, link, code_verified: false, reason: "no".into() }, T0).map(|_| ()),
        Err(Refusal::WrongAction("acknowledge"))
    );
    assert_eq!(
        decide(&c, Command::Approve { recipient: 0, link, code_verified: false }, T0).map(|_| ()),
        Err(Refusal::WrongAction("acknowledge"))
    );
    let mut last = None;
    for i in 0..3u64 {
        let index = usize::try_from(i).expect("small");
        let (next, t) = apply(&c, Command::Acknowledge { recipient: index, link: sha(20 + i), code_verified: false });
        assert_eq!(t.event.event_type(), EventType::RecipientAcknowledged);
        c = next;
        last = Some(t);
    }
    assert_eq!(last.expect("three").follow_ups, vec![FollowUp::Complete]);
}

#[test]
fn a_scheduled_draft_is_locked_and_sent_once_at_the_time_still_scheduled() {
    let draft = Ceremony::draft();
    assert_eq!(draft.editable(), Ok(()));
    // Not in the past, not more than a year ahead.
    assert_eq!(decide(&draft, schedule_at(T0), T0).map(|_| ()), Err(Refusal::ScheduleInThePast));
    assert_eq!(decide(&draft, schedule_at(days(367)), T0).map(|_| ()), Err(Refusal::ScheduleTooFar));
    let t = decide(&draft, schedule_at(days(2)), T0).expect("scheduled");
    assert_eq!(t.follow_ups, vec![FollowUp::SendAt(days(2))]);
    assert_eq!(t.event.event_type(), EventType::DocumentScheduled);
    assert_eq!(t.event.details()["replaces"], serde_json::Value::Null);
    let c = t.next;
    assert_eq!(c.editable(), Err(Refusal::Scheduled));
    // Moved to day 3: the event names the time it replaces, and day 2's job finds nothing to do.
    let t = decide(&c, schedule_at(days(3)), T0).expect("moved");
    assert_eq!(t.event.details()["replaces"], serde_json::json!(days(2).as_micros()));
    let c = t.next;
    assert_eq!(decide(&c, scheduled_send(1, days(2)), days(2)).map(|_| ()), Err(Refusal::NotScheduled));
    // Not before its time, even if the job ran early.
    assert_eq!(decide(&c, scheduled_send(1, days(3)), days(2)).map(|_| ()), Err(Refusal::NotScheduled));
    let sent = decide(&c, scheduled_send(1, days(3)), days(3)).expect("sent by the schedule").next;
    assert_eq!((sent.status, sent.scheduled_at), (DocumentStatus::Sent, None));
    // Once: a second job for the same time finds a sent document.
    assert_eq!(decide(&sent, scheduled_send(1, days(3)), days(3)).map(|_| ()), Err(Refusal::NotADraft));
    // Cancelled: unlocked, and the job for that time does nothing.
    let t = decide(&c, Command::CancelSchedule, T0).expect("cancelled");
    assert_eq!(t.event.details(), serde_json::json!({ "send_at": days(3).as_micros() }));
    assert_eq!(t.next.editable(), Ok(()));
    assert_eq!(decide(&t.next, scheduled_send(1, days(3)), days(3)).map(|_| ()), Err(Refusal::NotScheduled));
    assert_eq!(decide(&t.next, Command::CancelSchedule, T0).map(|_| ()), Err(Refusal::NotScheduled));
    // The sender may still send at once: that ends the schedule.
    let now = decide(&c, send(1, SigningOrder::Parallel, false, None), T0).expect("sent now").next;
    assert_eq!((now.status, now.scheduled_at), (DocumentStatus::Sent, None));
    assert_eq!(decide(&now, Command::CancelSchedule, T0).map(|_| ()), Err(Refusal::NotADraft));
}

const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

fn days(n: u64) -> Timestamp {
    T0.saturating_add(DAY * u32::try_from(n).expect("small"))
}

const T0: Timestamp = Timestamp::from_micros(1_000_000);

fn apply(c: &Ceremony, command: Command) -> (Ceremony, Transition) {
    let t = decide(c, command, T0).expect("the command applies");
    (t.next.clone(), t)
}

#[test]
fn sending_issues_the_first_link_in_sequence_and_every_link_in_parallel() {
    let (_, t) = apply(&Ceremony::draft(), send(3, SigningOrder::Sequential, false, None));
    assert_eq!(t.follow_ups, vec![FollowUp::IssueLink { recipient: 0 }]);
    assert_eq!(t.event.event_type(), EventType::DocumentSent);
    let (_, t) = apply(
        &Ceremony::draft(),
        send(3, SigningOrder::Parallel, false, Some(T0.saturating_add(std::time::Duration::from_secs(60)))),
    );
    assert_eq!(
        t.follow_ups,
        vec![
            FollowUp::IssueLink { recipient: 0 },
            FollowUp::IssueLink { recipient: 1 },
            FollowUp::IssueLink { recipient: 2 },
            FollowUp::ExpireAt(T0.saturating_add(std::time::Duration::from_secs(60)))
        ]
    );
}

#[test]
fn a_document_is_sent_once_and_needs_a_signer_and_a_future_deadline() {
    let (sent, _) = apply(&Ceremony::draft(), send(1, SigningOrder::Sequential, false, None));
    assert_eq!(
        decide(&sent, send(1, SigningOrder::Sequential, false, None), T0).expect_err("refused"),
        Refusal::NotADraft
    );
    assert_eq!(
        decide(&Ceremony::draft(), send(0, SigningOrder::Sequential, false, None), T0).expect_err("refused"),
        Refusal::NoRecipients
    );
    assert_eq!(
        decide(&Ceremony::draft(), send(1, SigningOrder::Sequential, false, Some(T0)), T0).expect_err("refused"),
        Refusal::DeadlineInThePast
    );
}

#[test]
fn a_sequential_ceremony_walks_from_the_first_signer_to_completion() {
    let (c, _) = apply(&Ceremony::draft(), send(2, SigningOrder::Sequential, false, None));
    let (c, t) = apply(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false });
    assert_eq!(
        t.event,
        CeremonyEvent::LinkIssued(LinkIssued { recipient: "r1".into(), position: 1, replaces_link: false })
    );
    assert_eq!(t.follow_ups, vec![FollowUp::MailLink { recipient: 0 }]);
    // Not r2's turn: no link for them yet, and r2 has no link to act with.
    assert_eq!(
        decide(&c, Command::IssueLink { recipient: 1, link: sha(11), by_sender: false }, T0).expect_err("refused"),
        Refusal::NotDue
    );
    let sign = |link| Command::Sign { recipient: 0, link, code_verified: false, details: signed_details() };
    assert_eq!(decide(&c, sign(sha(10)), T0).expect_err("refused"), Refusal::ConsentFirst);
    let consent = Command::Consent {
        recipient: 0,
        link: sha(10),
        details: Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: false },
    };
    let (c, t) = apply(&c, consent.clone());
    assert_eq!(t.event.recipient(), Some("r1"));
    assert_eq!(decide(&c, consent, T0).expect_err("refused"), Refusal::AlreadyRecorded);
    assert_eq!(decide(&c, sign(sha(99)), T0).expect_err("refused"), Refusal::LinkReplaced);
    let (c, t) = apply(&c, sign(sha(10)));
    assert_eq!(t.follow_ups, vec![FollowUp::IssueLink { recipient: 1 }]);
    match &t.event {
        CeremonyEvent::Signed(d) => assert_eq!((d.recipient.as_str(), d.position), ("r1", 1)),
        other => panic!("{other:?}"),
    }
    let (c, _) = apply(&c, Command::IssueLink { recipient: 1, link: sha(11), by_sender: false });
    let (c, _) = apply(
        &c,
        Command::Consent {
            recipient: 1,
            link: sha(11),
            details: Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: true },
        },
    );
    let (c, t) =
        apply(&c, Command::Sign { recipient: 1, link: sha(11), code_verified: false, details: signed_details() });
    assert_eq!(t.follow_ups, vec![FollowUp::Complete]);
    assert_eq!(c.status, DocumentStatus::Sent, "completion is its own step, with the signed file");
    let (c, t) = apply(&c, Command::Complete { details: completed_details() });
    assert_eq!((c.status, t.follow_ups), (DocumentStatus::Completed, vec![FollowUp::SealAndDeliver]));
}

#[test]
fn codes_are_required_when_asked_for_and_wrong_ones_are_recorded() {
    let (c, _) = apply(&Ceremony::draft(), send(1, SigningOrder::Sequential, true, None));
    let (c, _) = apply(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false });
    let (c, _) = apply(
        &c,
        Command::Consent {
            recipient: 0,
            link: sha(10),
            details: Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: false },
        },
    );
    let (_, t) = apply(&c, Command::CodeWrong { recipient: 0, link: sha(10), remaining: 2 });
    assert_eq!(t.event.event_type(), EventType::RecipientOtpFailed);
    assert_eq!(t.event.details(), serde_json::json!({ "recipient": "r1", "channel": "email", "remaining": 2 }));
    let sign = Command::Sign { recipient: 0, link: sha(10), code_verified: false, details: signed_details() };
    assert_eq!(decide(&c, sign, T0).expect_err("refused"), Refusal::CodeRequired);
    let decline = Command::Decline { recipient: 0, link: sha(10), code_verified: false, reason: "no".into() };
    assert_eq!(decide(&c, decline, T0).expect_err("refused"), Refusal::CodeRequired);
    let (c, _) = apply(&Ceremony::draft(), send(1, SigningOrder::Sequential, false, None));
    let (c, _) = apply(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false });
    assert_eq!(
        decide(&c, Command::CodeSent { recipient: 0, link: sha(10) }, T0).expect_err("refused"),
        Refusal::NoCodes
    );
}

#[test]
fn a_resend_replaces_the_link_and_the_old_one_stops_working() {
    let (c, _) = apply(&Ceremony::draft(), send(1, SigningOrder::Sequential, false, None));
    let (c, _) = apply(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false });
    assert_eq!(
        decide(&c, Command::IssueLink { recipient: 0, link: sha(11), by_sender: false }, T0).expect_err("refused"),
        Refusal::AlreadyRecorded
    );
    let (c, t) = apply(&c, Command::IssueLink { recipient: 0, link: sha(11), by_sender: true });
    assert_eq!(t.follow_ups, vec![FollowUp::MailLink { recipient: 0 }]);
    assert_eq!(t.event.details(), serde_json::json!({ "recipient": "r1", "position": 1, "replaces_link": true }));
    assert_eq!(
        decide(&c, Command::View { recipient: 0, link: sha(10) }, T0).expect_err("refused"),
        Refusal::LinkReplaced
    );
    apply(&c, Command::View { recipient: 0, link: sha(11) });
}

#[test]
fn a_decline_ends_it_for_everyone_and_tells_the_owner() {
    let (c, _) = apply(&Ceremony::draft(), send(2, SigningOrder::Parallel, false, None));
    let (c, _) = apply(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false });
    let (c, _) = apply(&c, Command::IssueLink { recipient: 1, link: sha(11), by_sender: false });
    let (c, t) =
        apply(&c, Command::Decline { recipient: 1, link: sha(11), code_verified: false, reason: "wrong price".into() });
    assert_eq!(c.status, DocumentStatus::Declined);
    assert_eq!(t.follow_ups, vec![FollowUp::NotifyOwnerDeclined { recipient: 1 }]);
    assert_eq!(t.event.details(), serde_json::json!({ "recipient": "r2", "position": 2, "reason": "wrong price" }));
    let sign = Command::Sign { recipient: 0, link: sha(10), code_verified: false, details: signed_details() };
    assert_eq!(decide(&c, sign, T0).expect_err("refused"), Refusal::NotInFlight(DocumentStatus::Declined));
}

#[test]
fn voiding_tells_everyone_who_had_a_link_but_not_who_declined() {
    let (c, _) = apply(&Ceremony::draft(), send(3, SigningOrder::Sequential, false, None));
    let (c, _) = apply(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false });
    let (c, t) = apply(&c, Command::Void { reason: "typo".into() });
    assert_eq!(c.status, DocumentStatus::Voided);
    assert_eq!(t.follow_ups, vec![FollowUp::NotifyVoided { recipient: 0 }]);
    assert_eq!(
        decide(&c, Command::Void { reason: "again".into() }, T0).expect_err("refused"),
        Refusal::NotInFlight(DocumentStatus::Voided)
    );
}

#[test]
fn expiry_applies_only_once_the_deadline_passed() {
    let deadline = T0.saturating_add(std::time::Duration::from_secs(3600));
    let (c, _) = apply(&Ceremony::draft(), send(2, SigningOrder::Parallel, false, Some(deadline)));
    assert_eq!(decide(&c, Command::Expire, T0).expect_err("refused"), Refusal::NotExpiredYet);
    let t = decide(&c, Command::Expire, deadline).expect("expires");
    assert_eq!(t.next.status, DocumentStatus::Expired);
    assert_eq!(t.event.details(), serde_json::json!({ "deadline": deadline.as_micros(), "unsigned": 2 }));
    let (never, _) = apply(&Ceremony::draft(), send(1, SigningOrder::Parallel, false, None));
    assert_eq!(
        decide(&never, Command::Expire, Timestamp::from_micros(i64::MAX)).expect_err("refused"),
        Refusal::NotExpiredYet
    );
}

#[test]
fn details_serialise_in_the_documented_form() {
    let signed = CeremonyEvent::Signed(Signed {
        recipient: "r1".into(),
        position: 1,
        fields: vec![
            SignedField { id: "f1".into(), kind: FieldKind::Signature, page: 1, value: FieldValue::Applied },
            SignedField {
                id: "f2".into(),
                kind: FieldKind::Checkbox,
                page: 2,
                value: FieldValue::Checked { value: true },
            },
            SignedField {
                id: "f3".into(),
                kind: FieldKind::DateSigned,
                page: 2,
                value: FieldValue::Date { value: "2026-12-06".into() },
            },
            SignedField { id: "f4".into(), kind: FieldKind::Text, page: 3, value: FieldValue::Text { chars: 5 } },
        ],
        images: SignedImages {
            signature: Some(SignedImage { sha256: sha(5), method: InkMethod::Typed, bytes: 100 }),
            initials: None,
        },
    });
    assert_eq!(
        signed.details(),
        serde_json::json!({
            "recipient": "r1", "position": 1,
            "fields": [
                { "id": "f1", "kind": "signature", "page": 1, "value": { "type": "applied" } },
                { "id": "f2", "kind": "checkbox", "page": 2, "value": { "type": "checked", "value": true } },
                { "id": "f3", "kind": "date_signed", "page": 2, "value": { "type": "date", "value": "2026-12-06" } },
                { "id": "f4", "kind": "text", "page": 3, "value": { "type": "text", "chars": 5 } },
            ],
            "images": { "signature": { "sha256": sha(5).to_hex(), "method": "typed", "bytes": 100 } },
        })
    );
    let sent = CeremonyEvent::DocumentSent(sent_details(2));
    assert_eq!(
        sent.details(),
        serde_json::json!({ "layout_sha256": sha(0).to_hex(), "order": "sequential", "recipients": 2, "fields": 1 })
    );
}

// ---- properties over random command sequences ------------------------------------------------

/// A command shape with its arguments left to the current state (which recipient, which link).

#[test]
fn reminders_follow_the_policy_from_each_link_and_stop_at_the_maximum() {
    let policy = ReminderPolicy { first_after: DAY * 2, every: DAY * 3, max: 2 };
    let c = decide(&Ceremony::draft(), send_reminding(2, SigningOrder::Sequential, false, None, policy), T0)
        .expect("sent")
        .next;
    assert_eq!(c.next_reminder_at(), None, "nobody holds a link yet");
    let t = decide(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false }, T0).expect("issued");
    assert!(t.follow_ups.contains(&FollowUp::RemindAt(days(2))), "{:?}", t.follow_ups);
    let c = t.next;
    assert_eq!(c.reminders_due(days(1)), Vec::<usize>::new());
    let remind = |link| Command::Remind { recipient: 0, link };
    assert_eq!(decide(&c, remind(sha(11)), days(1)).expect_err("early"), Refusal::NoReminderDue);
    assert_eq!(c.reminders_due(days(2)), vec![0]);
    let t = decide(&c, remind(sha(11)), days(2)).expect("reminded");
    assert_eq!(t.event.event_type(), EventType::RecipientReminded);
    assert_eq!(
        t.event.details(),
        serde_json::json!({ "recipient": "r1", "position": 1, "number": 1, "of": 2 }),
        "EVIDENCE.md's form"
    );
    assert_eq!(t.follow_ups, vec![FollowUp::MailReminder { recipient: 0 }, FollowUp::RemindAt(days(5))]);
    let c = t.next;
    // The old link died with the reminder; the same reminder twice is refused.
    assert_eq!(
        decide(&c, Command::View { recipient: 0, link: sha(10) }, days(2)).expect_err("old"),
        Refusal::LinkReplaced
    );
    assert_eq!(decide(&c, remind(sha(12)), days(2)).expect_err("again"), Refusal::NoReminderDue);
    let t = decide(&c, remind(sha(12)), days(5)).expect("second");
    assert_eq!(t.follow_ups, vec![FollowUp::MailReminder { recipient: 0 }], "the last one");
    let c = t.next;
    assert_eq!(c.next_reminder_at(), None);
    assert_eq!(decide(&c, remind(sha(13)), days(100)).expect_err("max"), Refusal::NoReminderDue);
    // The second signer's count starts when their turn comes.
    let c = decide(
        &c,
        Command::Consent {
            recipient: 0,
            link: sha(12),
            details: Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: false },
        },
        days(6),
    )
    .expect("consent")
    .next;
    let c = decide(
        &c,
        Command::Sign { recipient: 0, link: sha(12), code_verified: false, details: signed_details() },
        days(6),
    )
    .expect("signed")
    .next;
    assert_eq!(c.reminders_due(days(100)), Vec::<usize>::new(), "the signer is done, the next has no link yet");
    let t = decide(&c, Command::IssueLink { recipient: 1, link: sha(20), by_sender: false }, days(6)).expect("issued");
    assert!(t.follow_ups.contains(&FollowUp::RemindAt(days(8))));
}

#[test]
fn a_stall_is_recorded_once_per_threshold_counted_from_the_latest_progress() {
    let thresholds = [DAY * 3, DAY * 7];
    let c = decide(&Ceremony::draft(), send(2, SigningOrder::Parallel, false, None), T0).expect("sent").next;
    let c = decide(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false }, T0).expect("link").next;
    let c = decide(&c, Command::IssueLink { recipient: 1, link: sha(11), by_sender: false }, T0).expect("link").next;
    assert_eq!(c.stall_due(&thresholds, days(2)), None);
    assert_eq!(c.stall_due(&thresholds, days(3)), Some((0, DAY * 3)));
    let stall = |threshold, after| Command::Stall { threshold, after };
    assert_eq!(decide(&c, stall(0, DAY * 3), days(2)).expect_err("early"), Refusal::NoStallDue);
    let t = decide(&c, stall(0, DAY * 3), days(3)).expect("stalled");
    assert_eq!(t.follow_ups, vec![FollowUp::NotifyOwnerStalled { days: 3 }]);
    assert_eq!(
        t.event.details(),
        serde_json::json!({ "days": 3, "since": T0.as_micros(), "waiting_for": ["r1", "r2"] }),
        "EVIDENCE.md's form"
    );
    let c = t.next;
    assert_eq!(decide(&c, stall(0, DAY * 3), days(4)).expect_err("once"), Refusal::NoStallDue);
    // Bob looks at it on day 5: the seven days count from then.
    let c = decide(&c, Command::View { recipient: 0, link: sha(10) }, days(5)).expect("viewed").next;
    assert_eq!(c.stall_due(&thresholds, days(11)), None);
    assert_eq!(c.stall_due(&thresholds, days(12)), Some((1, DAY * 7)));
    let c = decide(&c, stall(1, DAY * 7), days(12)).expect("stalled again").next;
    assert_eq!(c.stall_due(&thresholds, days(400)), None, "every threshold recorded");
    let c = decide(&c, Command::Void { reason: "x".into() }, days(13)).expect("void").next;
    assert_eq!(decide(&c, stall(2, DAY), days(40)).expect_err("over"), Refusal::NotInFlight(DocumentStatus::Voided));
}

#[test]
fn no_reminder_when_off_finished_or_at_the_deadline() {
    let off = decide(&Ceremony::draft(), send(1, SigningOrder::Parallel, false, None), T0).expect("sent").next;
    let off =
        decide(&off, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false }, T0).expect("link").next;
    assert_eq!(off.next_reminder_at(), None);
    assert_eq!(
        decide(&off, Command::Remind { recipient: 0, link: sha(11) }, days(30)).expect_err("off"),
        Refusal::NoReminderDue
    );
    // A reminder that would land at or after the deadline is not sent: its link would be dead.
    let policy = ReminderPolicy { first_after: DAY * 3, every: DAY, max: 3 };
    let c = decide(&Ceremony::draft(), send_reminding(1, SigningOrder::Parallel, false, Some(days(3)), policy), T0)
        .expect("sent")
        .next;
    let c = decide(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false }, T0).expect("link").next;
    assert_eq!(c.next_reminder_at(), None);
    // Voided: nothing more.
    let policy = ReminderPolicy { first_after: DAY, every: DAY, max: 3 };
    let c = decide(&Ceremony::draft(), send_reminding(1, SigningOrder::Parallel, false, None, policy), T0)
        .expect("sent")
        .next;
    let c = decide(&c, Command::IssueLink { recipient: 0, link: sha(10), by_sender: false }, T0).expect("link").next;
    let c = decide(&c, Command::Void { reason: "x".into() }, T0).expect("void").next;
    assert_eq!(c.next_reminder_at(), None);
    // A policy that would remind in a loop is refused at sending.
    let bad = ReminderPolicy { first_after: std::time::Duration::ZERO, every: DAY, max: 1 };
    assert!(matches!(
        decide(&Ceremony::draft(), send_reminding(1, SigningOrder::Parallel, false, None, bad), T0),
        Err(Refusal::Reminders(_))
    ));
}

#[derive(Debug, Clone)]
enum Step {
    Send { n: usize, parallel: bool, otp: bool, deadline: Option<u32>, cc: u8, approvers: u8, acks: u8 },
    Approve { who: usize, code: bool },
    Acknowledge { who: usize, code: bool },
    IssueLink { who: usize, by_sender: bool },
    View { who: usize, stale: bool },
    Consent { who: usize, stale: bool },
    CodeSent { who: usize },
    CodeWrong { who: usize },
    CodeVerified { who: usize },
    Sign { who: usize, stale: bool, code: bool },
    Decline { who: usize, code: bool },
    Void,
    Expire,
    Complete,
    Wait { seconds: u32 },
    Remind { who: usize },
    Stall { threshold: u32 },
    Schedule { seconds: u32 },
    CancelSchedule,
    SendScheduled { n: usize },
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0usize..5;
    prop_oneof![
        (
            (0usize..5, any::<bool>(), any::<bool>(), proptest::option::of(1u32..10_000)),
            (any::<u8>(), any::<u8>(), any::<u8>())
        )
            .prop_map(|((n, parallel, otp, deadline), (cc, approvers, acks))| Step::Send {
                n,
                parallel,
                otp,
                deadline,
                cc,
                approvers,
                acks
            }),
        (who.clone(), any::<bool>()).prop_map(|(who, code)| Step::Approve { who, code }),
        (who.clone(), any::<bool>()).prop_map(|(who, code)| Step::Acknowledge { who, code }),
        (who.clone(), any::<bool>()).prop_map(|(who, by_sender)| Step::IssueLink { who, by_sender }),
        (who.clone(), any::<bool>()).prop_map(|(who, stale)| Step::View { who, stale }),
        (who.clone(), any::<bool>()).prop_map(|(who, stale)| Step::Consent { who, stale }),
        who.clone().prop_map(|who| Step::CodeSent { who }),
        who.clone().prop_map(|who| Step::CodeWrong { who }),
        who.clone().prop_map(|who| Step::CodeVerified { who }),
        (who.clone(), any::<bool>(), any::<bool>()).prop_map(|(who, stale, code)| Step::Sign { who, stale, code }),
        (who.clone(), any::<bool>()).prop_map(|(who, code)| Step::Decline { who, code }),
        Just(Step::Void),
        Just(Step::Expire),
        Just(Step::Complete),
        (1u32..5_000).prop_map(|seconds| Step::Wait { seconds }),
        who.clone().prop_map(|who| Step::Remind { who }),
        (0u32..3).prop_map(|threshold| Step::Stall { threshold }),
        (1u32..10_000).prop_map(|seconds| Step::Schedule { seconds }),
        Just(Step::CancelSchedule),
        (0usize..5).prop_map(|n| Step::SendScheduled { n }),
    ]
}

fn link_of(c: &Ceremony, who: usize, stale: bool) -> Sha256 {
    match c.participants.get(who).and_then(|p| p.link) {
        Some(link) if !stale => link,
        _ => sha(u64::MAX - who as u64),
    }
}

fn command(c: &Ceremony, s: &Step, fresh: &mut u64, now: Timestamp) -> Option<Command> {
    *fresh += 1;
    let later = |seconds: u32| now.saturating_add(std::time::Duration::from_secs(u64::from(seconds)));
    Some(match *s {
        Step::Approve { who, code } => {
            Command::Approve { recipient: who, link: link_of(c, who, false), code_verified: code }
        }
        Step::Acknowledge { who, code } => {
            Command::Acknowledge { recipient: who, link: link_of(c, who, false), code_verified: code }
        }
        Step::Send { n, parallel, otp, deadline, cc, approvers, acks } => {
            let mut command = send_reminding(
                n,
                if parallel { SigningOrder::Parallel } else { SigningOrder::Sequential },
                otp,
                deadline.map(later),
                // Short enough that random waits reach them.
                ReminderPolicy {
                    first_after: std::time::Duration::from_secs(600),
                    every: std::time::Duration::from_secs(900),
                    max: 2,
                },
            );
            // Some in copy (bit i of `cc`: recipient i), anywhere in the order.
            if let Command::Send { participants, .. } = &mut command {
                for (i, p) in participants.iter_mut().enumerate() {
                    if cc & (1 << i) != 0 {
                        p.role = ParticipantRole::Cc;
                    } else if approvers & (1 << i) != 0 {
                        p.role = ParticipantRole::Approver;
                    } else if acks & (1 << i) != 0 {
                        p.role = ParticipantRole::Acknowledger;
                    }
                }
            }
            command
        }
        Step::IssueLink { who, by_sender } => Command::IssueLink { recipient: who, link: sha(*fresh), by_sender },
        Step::View { who, stale } => Command::View { recipient: who, link: link_of(c, who, stale) },
        Step::Consent { who, stale } => Command::Consent {
            recipient: who,
            link: link_of(c, who, stale),
            details: Consented { recipient: String::new(), disclosure_sha256: sha(3), location_shared: false },
        },
        Step::CodeSent { who } => Command::CodeSent { recipient: who, link: link_of(c, who, false) },
        Step::CodeWrong { who } => Command::CodeWrong { recipient: who, link: link_of(c, who, false), remaining: 1 },
        Step::CodeVerified { who } => Command::CodeVerified { recipient: who, link: link_of(c, who, false) },
        Step::Sign { who, stale, code } => Command::Sign {
            recipient: who,
            link: link_of(c, who, stale),
            code_verified: code,
            details: signed_details(),
        },
        Step::Decline { who, code } => {
            Command::Decline { recipient: who, link: link_of(c, who, false), code_verified: code, reason: "r".into() }
        }
        Step::Void => Command::Void { reason: "v".into() },
        Step::Expire => Command::Expire,
        Step::Complete => Command::Complete { details: completed_details() },
        Step::Remind { who } => Command::Remind { recipient: who, link: sha(*fresh) },
        Step::Stall { threshold } => {
            Command::Stall { threshold, after: std::time::Duration::from_secs(u64::from(threshold + 1) * 1200) }
        }
        Step::Schedule { seconds } => schedule_at(later(seconds)),
        Step::CancelSchedule => Command::CancelSchedule,
        // The job for the time now scheduled (or for a time never scheduled).
        Step::SendScheduled { n } => scheduled_send(n, c.scheduled_at.unwrap_or(now)),
        Step::Wait { .. } => return None,
    })
}

/// What must hold of every reachable ceremony.
fn check_invariants(c: &Ceremony) -> Result<(), String> {
    use RecipientStatus as R;
    let declined = c.participants.iter().filter(|p| p.status == R::Declined).count();
    match c.status {
        DocumentStatus::Draft if !c.participants.is_empty() => return Err("a draft with recipients".into()),
        DocumentStatus::Declined if declined != 1 => return Err(format!("declined with {declined} decliners")),
        DocumentStatus::Sent | DocumentStatus::Voided | DocumentStatus::Expired | DocumentStatus::Completed
            if declined != 0 =>
        {
            return Err("a decliner in a document that was not declined".into());
        }
        DocumentStatus::Completed if !c.everyone_acted() => return Err("completed without every signature".into()),
        DocumentStatus::Deleted => return Err("deleted is not a ceremony state".into()),
        _ => {}
    }
    if c.scheduled_at.is_some() && c.status != DocumentStatus::Draft {
        return Err(format!("{:?} and still scheduled", c.status));
    }
    for p in &c.participants {
        // Someone in copy is never sent a link and never acts.
        if !p.role.must_act() && (p.status != R::Waiting || p.link.is_some() || p.viewed || p.reminders_sent > 0) {
            return Err(format!("{}: in copy, yet {:?} with link {:?}", p.id, p.status, p.link));
        }
        if (p.status == R::Waiting) != p.link.is_none() {
            return Err(format!("{}: {:?} with link {:?}", p.id, p.status, p.link));
        }
        if p.status == R::Viewed && !p.viewed {
            return Err(format!("{}: viewed status without a view", p.id));
        }
        // Each acts as their role asks: an approver never signs, a signer never approves.
        if p.status == R::Signed && !p.consented {
            return Err(format!("{}: signed without consent", p.id));
        }
        if p.reminders_sent > c.reminders.max {
            return Err(format!("{}: {} reminders of at most {}", p.id, p.reminders_sent, c.reminders.max));
        }
        if p.link.is_some() != p.link_issued_at.is_some() {
            return Err(format!("{}: a link without its time, or a time without a link", p.id));
        }
    }
    if c.order == SigningOrder::Sequential {
        // Among those who act, signatures are a prefix, and only the first one after them can
        // hold a link.
        let actors: Vec<_> = c.participants.iter().filter(|p| p.role.must_act()).collect();
        let signed = actors.iter().take_while(|p| p.status == R::Signed).count();
        if actors[signed..].iter().any(|p| p.status == R::Signed) {
            return Err("a sequential signature out of order".into());
        }
        if actors.iter().skip(signed + 1).any(|p| p.status != R::Waiting) {
            return Err("a sequential link issued out of turn".into());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_reaches_an_impossible_state(steps in proptest::collection::vec(step(), 1..60)) {
        let mut c = Ceremony::draft();
        let mut now = T0;
        let mut fresh = 100;
        for s in &steps {
            if let Step::Wait { seconds } = s {
                now = now.saturating_add(std::time::Duration::from_secs(u64::from(*seconds)));
                continue;
            }
            let Some(cmd) = command(&c, s, &mut fresh, now) else { continue };
            let was_finished = c.is_finished();
            match decide(&c, cmd.clone(), now) {
                Ok(t) => {
                    // A finished ceremony accepts nothing more.
                    prop_assert!(!was_finished, "{:?} accepted {:?}", c.status, cmd);
                    check_invariants(&t.next).map_err(|e| TestCaseError::fail(format!("{e} after {cmd:?}")))?;
                    // Exactly one event, of the command's kind, about the recipient it named.
                    let expected = match &cmd {
                        Command::Send { .. } => EventType::DocumentSent,
                        Command::IssueLink { .. } => EventType::RecipientLinkIssued,
                        Command::View { .. } => EventType::RecipientViewed,
                        Command::Consent { .. } => EventType::RecipientConsented,
                        Command::CodeSent { .. } => EventType::RecipientOtpSent,
                        Command::CodeWrong { .. } => EventType::RecipientOtpFailed,
                        Command::CodeVerified { .. } => EventType::RecipientOtpVerified,
                        Command::Sign { .. } => EventType::RecipientSigned,
                        Command::Approve { .. } => EventType::RecipientApproved,
                        Command::Acknowledge { .. } => EventType::RecipientAcknowledged,
                        Command::Decline { .. } => EventType::RecipientDeclined,
                        Command::Void { .. } => EventType::DocumentVoided,
                        Command::Expire => EventType::DocumentExpired,
                        Command::Complete { .. } => EventType::DocumentCompleted,
                        Command::Remind { .. } => EventType::RecipientReminded,
                        Command::Stall { .. } => EventType::DocumentStalled,
                        Command::Schedule { .. } => EventType::DocumentScheduled,
                        Command::CancelSchedule => EventType::DocumentScheduleCancelled,
                    };
                    // A scheduled send happens only at or after the time still scheduled.
                    if let Command::Send { scheduled_for: Some(at), .. } = &cmd {
                        prop_assert!(c.scheduled_at == Some(*at) && *at <= now);
                    }
                    prop_assert_eq!(t.event.event_type(), expected);
                    let named = match &cmd {
                        Command::IssueLink { recipient, .. } | Command::View { recipient, .. } | Command::Consent { recipient, .. }
                        | Command::CodeSent { recipient, .. } | Command::CodeWrong { recipient, .. } | Command::CodeVerified { recipient, .. }
                        | Command::Sign { recipient, .. } | Command::Decline { recipient, .. } | Command::Approve { recipient, .. }
                        | Command::Acknowledge { recipient, .. }
                        | Command::Remind { recipient, .. } => Some(c.participants[*recipient].id.as_str()),
                        _ => None,
                    };
                    prop_assert_eq!(t.event.recipient(), named);
                    // Every first link asked for goes to someone waiting whose turn it is.
                    for f in &t.follow_ups {
                        if let FollowUp::IssueLink { recipient } = f {
                            prop_assert!(t.next.due_for_link().contains(recipient));
                        }
                        // The reminder asked for is the earliest still to send (it may be
                        // overdue: another recipient's, whose job has not run yet).
                        if let FollowUp::RemindAt(at) = f {
                            prop_assert_eq!(Some(*at), t.next.next_reminder_at());
                        }
                    }
                    // The recipient just reminded is not due again at once.
                    if let Command::Remind { recipient, .. } = &cmd {
                        prop_assert!(t.next.reminder_at(*recipient).is_none_or(|at| at > now));
                    }
                    c = t.next;
                }
                Err(_) => check_invariants(&c).map_err(TestCaseError::fail)?,
            }
        }
    }

    #[test]
    fn a_finished_ceremony_accepts_nothing(steps in proptest::collection::vec(step(), 1..60), probes in proptest::collection::vec(step(), 1..20)) {
        let mut c = Ceremony::draft();
        let mut fresh = 100;
        let mut now = T0;
        for s in &steps {
            if let Some(cmd) = command(&c, s, &mut fresh, now) && let Ok(t) = decide(&c, cmd, now) {
                c = t.next;
            }
            now = now.saturating_add(std::time::Duration::from_secs(600));
        }
        if c.is_finished() {
            for p in &probes {
                if let Some(cmd) = command(&c, p, &mut fresh, Timestamp::from_micros(i64::MAX)) {
                    prop_assert!(decide(&c, cmd.clone(), Timestamp::from_micros(i64::MAX)).is_err(), "{:?} accepted {:?}", c.status, cmd);
                }
            }
        }
    }
}

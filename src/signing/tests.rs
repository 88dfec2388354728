use super::geometry::{PageGeometry, PdfRect};
use super::*;

fn id(s: &str) -> LocalId {
    LocalId::parse(s).expect("id")
}

fn pages() -> Vec<PageGeometry> {
    vec![PageGeometry { x0: 0.0, y0: 0.0, x1: 612.0, y1: 792.0, rotate: 0 }; 2]
}

fn recipient(rid: &str, name: &str, email: &str) -> DraftRecipient {
    DraftRecipient { id: id(rid), name: name.to_owned(), email: email.to_owned(), otp: false, role: Default::default() }
}

fn field(fid: &str, rid: &str, kind: FieldKind, page: u32) -> DraftField {
    let (width, height) = kind.default_size();
    DraftField {
        id: id(fid),
        recipient: id(rid),
        kind,
        page,
        rect: PdfRect { x: 72.0, y: 72.0, width, height },
        required: true,
        label: String::new(),
    }
}

fn two_signers() -> Draft {
    Draft {
        order: SigningOrder::Sequential,
        recipients: vec![recipient("a", "Ada", "ada@example.com"), recipient("b", "Bob", "Bob@Example.com")],
        fields: vec![field("f1", "a", FieldKind::Signature, 1), field("f2", "b", FieldKind::Signature, 2)],
        message: String::new(),
    }
}

fn targets(problems: &[DraftProblem]) -> Vec<&str> {
    problems.iter().map(|p| p.target.as_str()).collect()
}

#[test]
fn a_complete_draft_can_be_sent_and_emails_are_canonical() {
    let sendable = two_signers().check_for_send(&pages()).expect("sendable");
    assert_eq!(sendable.draft().recipients[1].email, "bob@example.com");
}

#[test]
fn half_typed_recipients_save_but_do_not_send() {
    let mut draft = two_signers();
    draft.recipients[1].email = "bob@".to_owned();
    draft.recipients[1].name = " ".to_owned();
    assert_eq!(draft.check_for_save(&pages()), Ok(()));
    let problems = draft.check_for_send(&pages()).expect_err("not sendable");
    assert_eq!(targets(&problems), vec!["recipient:b", "recipient:b"]);
    assert!(problems[1].message.contains("not an email address"), "{problems:?}");
}

#[test]
fn duplicate_recipients_are_refused_whatever_the_case() {
    let mut draft = two_signers();
    draft.recipients[1].email = "ADA@example.com".to_owned();
    let problems = draft.check_for_send(&pages()).expect_err("duplicate");
    assert_eq!(problems[0].message, "ada@example.com is already recipient 1");
}

#[test]
fn every_signer_needs_a_field_they_fill() {
    let mut draft = two_signers();
    draft.fields[1] = field("f2", "b", FieldKind::DateSigned, 2);
    let problems = draft.check_for_send(&pages()).expect_err("no field for bob");
    assert_eq!(problems[0].message, "place at least one field for Bob to fill");
    assert!(Draft::default().check_for_send(&pages()).is_err());
}

#[test]
fn fields_must_be_on_a_page_inside_it_and_big_enough() {
    let mut draft = two_signers();
    draft.fields.push(field("f3", "a", FieldKind::Text, 3));
    let mut outside = field("f4", "a", FieldKind::Text, 1);
    outside.rect.x = 600.0;
    draft.fields.push(outside);
    let mut tiny = field("f5", "a", FieldKind::Signature, 1);
    tiny.rect.width = 10.0;
    draft.fields.push(tiny);
    let mut nobody = field("f6", "z", FieldKind::Text, 1);
    nobody.rect.y = 300.0;
    draft.fields.push(nobody);
    draft.fields.push(field("f1", "a", FieldKind::Text, 1));
    let problems = draft.check_for_save(&pages()).expect_err("bad fields");
    assert_eq!(targets(&problems), vec!["field:f3", "field:f4", "field:f5", "field:f6", "field:f1"]);
}

#[test]
fn a_field_rotated_with_its_page_keeps_its_minimum() {
    let mut draft = two_signers();
    // 48 × 180 in user space is a 180 × 48 signature on a page shown at 90°.
    draft.fields[0].rect = PdfRect { x: 72.0, y: 72.0, width: 48.0, height: 180.0 };
    assert_eq!(draft.check_for_save(&pages()), Ok(()));
}

#[test]
fn the_layout_hash_covers_positions_order_and_people() {
    let base = two_signers();
    let h = base.layout_sha256();
    assert_eq!(h, two_signers().layout_sha256(), "deterministic");
    let mut moved = two_signers();
    moved.fields[0].rect.x += 0.5;
    let mut parallel = two_signers();
    parallel.order = SigningOrder::Parallel;
    let mut swapped = two_signers();
    swapped.recipients.swap(0, 1);
    let mut renamed = two_signers();
    renamed.recipients[0].name = "Ada L.".to_owned();
    let mut optional = two_signers();
    optional.fields[1].required = false;
    let mut copied = two_signers();
    copied.recipients[1].role = crate::ceremony::ParticipantRole::Cc;
    for other in [moved, parallel, swapped, renamed, optional, copied] {
        assert_ne!(other.layout_sha256(), h);
    }
}

#[test]
fn the_layout_hash_is_the_spec_s_bytes_with_a_role_only_for_a_copy() {
    use sha2::Digest as _;
    let draft = Draft {
        order: SigningOrder::Parallel,
        recipients: vec![
            recipient("a", "Ada", "ada@example.com"),
            DraftRecipient { role: crate::ceremony::ParticipantRole::Cc, ..recipient("c", "Cy", "cy@example.com") },
        ],
        fields: vec![field("f1", "a", FieldKind::Checkbox, 1)],
        message: "not hashed".to_owned(),
    };
    // EVIDENCE.md §4: SHA-256("attesta/v1/layout" || 0x00 || JCS(layout)), members sorted.
    let (w, h) = FieldKind::Checkbox.default_size();
    let jcs = format!(
        r#"{{"fields":[{{"height":{h},"id":"f1","kind":"checkbox","label":"","page":1,"recipient":"a","required":true,"width":{w},"x":72,"y":72}}],"order":"parallel","recipients":[{{"email":"ada@example.com","id":"a","name":"Ada","otp":false}},{{"email":"cy@example.com","id":"c","name":"Cy","otp":false,"role":"cc"}}]}}"#
    );
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"attesta/v1/layout\0");
    hasher.update(jcs.as_bytes());
    assert_eq!(draft.layout_sha256().to_hex(), hex::encode(hasher.finalize()), "{jcs}");
}

#[test]
fn ids_are_short_and_plain() {
    assert!(LocalId::parse("f-12_a").is_some());
    for bad in ["", "F1", "a b", "é", &"a".repeat(33)] {
        assert!(LocalId::parse(bad).is_none(), "{bad}");
    }
    assert!(serde_json::from_str::<LocalId>("\"UP\"").is_err());
}

#[test]
fn drafts_survive_json() {
    let draft = two_signers();
    let json = serde_json::to_string(&draft).expect("json");
    assert_eq!(serde_json::from_str::<Draft>(&json).expect("back"), draft);
}

#[test]
fn fields_that_cover_each_other_on_a_page_are_reported_once_per_pair() {
    let mut draft = two_signers();
    // A date placed on the same spot as Ada's signature, on page 1.
    draft.fields.push(field("f3", "b", FieldKind::DateSigned, 1));
    // The same spot on page 2 holds Bob's signature only: no overlap across pages.
    let pairs: Vec<_> = draft.overlapping_fields().into_iter().map(|(a, b)| (a.id.as_str(), b.id.as_str())).collect();
    assert_eq!(pairs, vec![("f1", "f3")]);
    let warnings = draft.overlap_warnings();
    assert_eq!(targets(&warnings), vec!["field:f3"]);
    assert_eq!(warnings[0].message, "“Date signed” for Bob overlaps “Signature” for Ada on page 1");
}

#[test]
fn fields_side_by_side_or_touching_do_not_overlap() {
    let mut draft = two_signers();
    let mut beside = field("f3", "b", FieldKind::DateSigned, 1);
    // Ada's signature spans x 72..252: a date starting where it ends only touches it.
    beside.rect.x = 252.0;
    draft.fields.push(beside);
    let mut sliver = field("f4", "b", FieldKind::Text, 2);
    // Within rounding of Bob's signature on page 2 (0.5 pt × 22 pt shared): not a real overlap.
    sliver.rect.x = 72.0 + 180.0 - 0.04;
    draft.fields.push(sliver);
    assert!(draft.overlapping_fields().is_empty(), "{:?}", draft.overlap_warnings());
}

#[test]
fn people_in_copy_fill_nothing_need_no_field_and_are_not_enough_alone() {
    use crate::ceremony::ParticipantRole;
    let mut draft = two_signers();
    draft.recipients.push(DraftRecipient { role: ParticipantRole::Cc, ..recipient("c", "Cy", "cy@example.com") });
    draft.check_for_send(&pages()).expect("a copy needs no field");
    // A field given to someone in copy is refused on saving, on that field.
    draft.fields.push(field("f3", "c", FieldKind::Text, 1));
    let problems = draft.check_for_save(&pages()).expect_err("a copy fills nothing");
    assert_eq!(targets(&problems), vec!["field:f3"]);
    // Only people in copy: nobody to send to.
    let only = Draft {
        recipients: vec![DraftRecipient { role: ParticipantRole::Cc, ..recipient("c", "Cy", "cy@example.com") }],
        fields: Vec::new(),
        ..two_signers()
    };
    let problems = only.check_for_send(&pages()).expect_err("nobody signs");
    assert!(problems.iter().any(|p| p.message.contains("at least one signer")), "{problems:?}");
}

#[test]
fn a_signers_role_is_not_written_so_older_layouts_keep_their_hash() {
    let json = serde_json::to_string(&two_signers()).expect("json");
    assert!(!json.contains("role"), "{json}");
    let mut draft = two_signers();
    draft.recipients[1].role = crate::ceremony::ParticipantRole::Cc;
    assert!(serde_json::to_string(&draft).expect("json").contains(r#""role":"cc""#));
}

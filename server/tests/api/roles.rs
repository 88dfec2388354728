//! Roles beside the signer (issue 17). Someone in copy (CC) is named on the document, gets no
//! link and is asked for nothing, is in nobody's way in a sequential order, and receives the
//! sealed document and its evidence when everyone who signs has signed.

use crate::signing::{Ceremony, Signer, mail_dir, mails, owner_with_document};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A sequential draft: Carol in copy first, then Bob, who signs.
async fn with_a_copy(c: &Ceremony, carol_field: bool) -> reqwest::Response {
    let mut fields = vec![json!({ "id": "s2", "recipient": "r2", "kind": "signature", "page": 1,
        "rect": { "x": 72.0, "y": 100.0, "width": 180.0, "height": 48.0 }, "required": true, "label": "" })];
    if carol_field {
        fields.push(json!({ "id": "t1", "recipient": "r1", "kind": "text", "page": 1,
            "rect": { "x": 72.0, "y": 300.0, "width": 180.0, "height": 24.0 }, "required": true, "label": "" }));
    }
    let draft = json!({
        "order": "sequential",
        "recipients": [
            { "id": "r1", "name": "Carol", "email": "carol@example.com", "otp": false, "role": "cc" },
            { "id": "r2", "name": "Bob", "email": "bob@example.com", "otp": false },
        ],
        "fields": fields,
        "message": "",
    });
    let revision = c.revision().await;
    c.call("/api/draft/save", json!({ "id": c.id, "revision": revision, "draft": draft })).await
}

#[tokio::test]
async fn someone_in_copy_gets_no_link_is_in_nobodys_way_and_receives_the_sealed_result() {
    let c = owner_with_document(mail_dir).await;
    // A field for someone in copy is refused, on that field.
    let refused = with_a_copy(&c, true).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.expect("body").contains("in copy"));
    assert_eq!(with_a_copy(&c, false).await.status(), StatusCode::OK);
    let revision = c.revision().await;
    c.ok("/api/draft/send", json!({ "id": c.id, "revision": revision })).await;

    // Bob, second in order, is first to get a link: the copy is in nobody's way.
    let link = c.link_for("bob@example.com").await.expect("Bob's link");
    assert!(c.mails_to("carol@example.com").is_empty(), "nothing for the copy yet");
    let status = c.status().await;
    assert_eq!(status["recipients"][0]["role"], "cc");
    assert_eq!(status["recipients"][0]["status_label"], "Gets a copy when complete");
    assert_eq!(status["recipients"][0]["can_resend"], false);
    let issued = c.app.records_of(&c.id, "recipient.link_issued").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["details"]["recipient"], "r2");

    let bob = Signer::new(&c.app, link);
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s2").await;
    let done = c.status_becomes("completed").await;
    assert_eq!(done["recipients"][0]["status_label"], "Sent a copy");
    c.app.run_due_jobs().await;
    let carol: Vec<_> = mails(&c.app).into_iter().filter(|m| m.to.contains("carol@example.com")).collect();
    assert_eq!(carol.len(), 1, "one mail for the copy: the result");
    assert!(carol[0].body.contains("(signed).pdf\""), "the sealed PDF is attached: {}", carol[0].body);
    assert!(carol[0].body.contains(&format!("attesta-evidence-{}.json\"", c.id)), "and the evidence");
    let completed = c.app.records_of(&c.id, "document.completed").await;
    assert_eq!(completed[0]["details"]["signers"], 1, "only Bob signs");

    // The REST API names the role.
    let key = crate::rest::key(&c.app, "robot", "read").await;
    let resource: Value = crate::rest::get_json(&c.app, &key, &format!("/api/v1/documents/{}", c.id)).await;
    assert_eq!(resource["recipients"][0]["role"], "cc", "{resource}");
    assert_eq!(resource["recipients"][1]["role"], "signer", "{resource}");
}

#[tokio::test]
async fn the_rest_api_sends_with_a_copy_in_one_call() {
    let app = crate::rest::app_with(|_| {}).await;
    let key = crate::rest::key(&app, "crm", "read,send").await;
    let document = json!({
        "title": "Offer letter", "markdown": "# Offer\n\nWelcome aboard.", "send": true,
        "signing_order": "sequential",
        "recipients": [
            { "name": "HR", "email": "hr@example.com", "role": "cc" },
            { "name": "Dana", "email": "dana@example.com" },
        ],
        "fields": [{ "recipient": "dana@example.com", "kind": "signature", "page": 1, "x": 72.0, "y": 600.0, "width": 180.0, "height": 48.0 }],
    });
    let r = reqwest::Client::new().post(app.url("/api/v1/documents")).bearer_auth(&key).json(&document).send().await;
    let r = r.expect("create");
    let status = r.status();
    let body: Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "sent");
    assert_eq!(body["recipients"][0]["role"], "cc");
    // A field for the copy is refused and leaves nothing behind.
    let mut bad = document.clone();
    bad["fields"][0]["recipient"] = json!("hr@example.com");
    let r = reqwest::Client::new().post(app.url("/api/v1/documents")).bearer_auth(&key).json(&bad).send().await;
    assert_eq!(r.expect("create").status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A sequential draft: Ann approves, then Bob signs, with Carol in copy.
async fn approval_chain(c: &Ceremony) {
    let draft = json!({
        "order": "sequential",
        "recipients": [
            { "id": "r1", "name": "Ann", "email": "ann@example.com", "otp": false, "role": "approver" },
            { "id": "r2", "name": "Bob", "email": "bob@example.com", "otp": false },
            { "id": "r3", "name": "Carol", "email": "carol@example.com", "otp": false, "role": "cc" },
        ],
        "fields": [{ "id": "s2", "recipient": "r2", "kind": "signature", "page": 1,
            "rect": { "x": 72.0, "y": 100.0, "width": 180.0, "height": 48.0 }, "required": true, "label": "" }],
        "message": "",
    });
    let revision = c.revision().await;
    c.ok("/api/draft/save", json!({ "id": c.id, "revision": revision, "draft": draft })).await;
    let revision = c.revision().await;
    c.ok("/api/draft/send", json!({ "id": c.id, "revision": revision })).await;
}

#[tokio::test]
async fn an_approver_approves_first_then_the_signer_signs_and_the_chain_says_so() {
    let c = owner_with_document(mail_dir).await;
    approval_chain(&c).await;
    let ann_link = c.link_for("ann@example.com").await.expect("Ann's link");
    let mail = c.mails_to("ann@example.com").into_iter().last().expect("the request");
    assert!(mail.body.contains("/approvals/"), "an approver's link leads to the approval page");
    assert!(mail.body.contains("asks you to review and approve"), "{}", mail.body);
    assert!(c.mails_to("bob@example.com").is_empty(), "Bob waits for the approval");
    let sent = c.app.records_of(&c.id, "recipient.email_sent").await;
    assert_eq!(sent[0]["details"]["template"], "approval_request");

    let ann = Signer::new(&c.app, ann_link);
    let view = ann.open().await;
    assert_eq!(view["role"], "approver");
    assert_eq!((view["position"].clone(), view["total"].clone()), (json!(1), json!(2)), "the copy is nobody's turn");
    ann.consent().await;
    // An approver adopts no signature and fills nothing.
    let signing = ann.submission(&c.sha256, json!({ "s2": { "type": "applied" } }));
    ann.expect("submit", signing, StatusCode::UNPROCESSABLE_ENTITY).await;
    // Approving names the file the browser showed: another file is refused.
    let wrong = ann.submission(&"0".repeat(64), json!({}));
    let mut wrong = wrong;
    wrong["submission"]["signature_png"] = Value::Null;
    ann.expect("submit", wrong, StatusCode::CONFLICT).await;
    let mut approval = ann.submission(&c.sha256, json!({}));
    approval["submission"]["signature_png"] = Value::Null;
    approval["submission"]["signature_method"] = Value::Null;
    ann.expect("submit", approval, StatusCode::OK).await;
    let approved = c.app.records_of(&c.id, "recipient.approved").await;
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["details"], json!({ "recipient": "r1", "position": 1 }));
    assert_eq!(approved[0]["client_file_sha256"], c.sha256.as_str());
    assert_eq!(approved[0]["actor"]["id"], "recipient:r1");

    // Then Bob's turn.
    let bob = Signer::new(&c.app, c.link_for("bob@example.com").await.expect("Bob's link after the approval"));
    bob.open().await;
    bob.consent().await;
    bob.sign(&c.sha256, "s2").await;
    let done = c.status_becomes("completed").await;
    assert_eq!(done["recipients"][0]["status_label"], "Approved");
    assert_eq!(done["signed"], 2, "{done}");
    let completed = c.app.records_of(&c.id, "document.completed").await;
    assert_eq!(completed[0]["details"]["signers"], 1, "only Bob signed");
    let key = crate::rest::key(&c.app, "robot", "read").await;
    let resource: Value = crate::rest::get_json(&c.app, &key, &format!("/api/v1/documents/{}", c.id)).await;
    assert_eq!(resource["recipients"][0]["role"], "approver");
    assert_eq!(resource["recipients"][0]["status"], "approved");
    // The approval page itself loads directly.
    let page = c.app.get(&format!("/approvals/{}", "x".repeat(43))).await;
    assert!(page.status().is_success() || page.status() == StatusCode::GONE, "{}", page.status());
}

#[tokio::test]
async fn an_approvers_decline_ends_the_document_for_everyone() {
    let c = owner_with_document(mail_dir).await;
    approval_chain(&c).await;
    let ann = Signer::new(&c.app, c.link_for("ann@example.com").await.expect("Ann's link"));
    ann.open().await;
    ann.expect("decline", json!({ "reason": "Budget not approved" }), StatusCode::OK).await;
    c.status_becomes("declined").await;
    let declined = c.app.records_of(&c.id, "recipient.declined").await;
    assert_eq!(declined[0]["details"]["reason"], "Budget not approved");
    assert!(c.mails_to("bob@example.com").is_empty(), "Bob was never asked");
}

#[tokio::test]
async fn a_policy_is_acknowledged_by_everyone_at_once_without_a_decline_and_then_completes() {
    let c = owner_with_document(mail_dir).await;
    let people = ["ivy", "jon", "kim"];
    let recipients: Vec<Value> = people
        .iter()
        .enumerate()
        .map(|(i, p)| json!({ "id": format!("r{}", i + 1), "name": p, "email": format!("{p}@example.com"), "otp": false, "role": "acknowledger" }))
        .collect();
    let draft = json!({ "order": "parallel", "recipients": recipients, "fields": [], "message": "Please read the new policy." });
    let revision = c.revision().await;
    c.ok("/api/draft/save", json!({ "id": c.id, "revision": revision, "draft": draft })).await;
    let revision = c.revision().await;
    c.ok("/api/draft/send", json!({ "id": c.id, "revision": revision })).await;
    let mut links = Vec::new();
    for p in people {
        let link = c.link_for(&format!("{p}@example.com")).await.expect("a link for everyone at once");
        let mail = c.mails_to(&format!("{p}@example.com")).into_iter().last().expect("mail");
        assert!(mail.body.contains("/documents/acknowledge/"), "{}", mail.body);
        assert!(mail.body.contains("read and acknowledge"), "{}", mail.body);
        links.push(link);
    }
    let sent = c.app.records_of(&c.id, "recipient.email_sent").await;
    assert!(sent.iter().all(|e| e["details"]["template"] == "acknowledgement_request"));
    let approval = |s: &Signer| {
        let mut body = s.submission(&c.sha256, json!({}));
        body["submission"]["signature_png"] = Value::Null;
        body["submission"]["signature_method"] = Value::Null;
        body
    };
    for (i, link) in links.into_iter().enumerate() {
        let who = Signer::new(&c.app, link);
        let view = who.open().await;
        assert_eq!(view["role"], "acknowledger");
        who.consent().await;
        if i == 0 {
            // Reading is attested, not agreed to: no decline.
            who.expect("decline", json!({ "reason": "no" }), StatusCode::CONFLICT).await;
        }
        who.expect("submit", approval(&who), StatusCode::OK).await;
        if i < 2 {
            assert_eq!(c.status().await["status"], "sent", "waiting for the others");
        }
    }
    let acknowledged = c.app.records_of(&c.id, "recipient.acknowledged").await;
    assert_eq!(acknowledged.len(), 3);
    assert_eq!(acknowledged[0]["details"], json!({ "recipient": "r1", "position": 1 }));
    assert_eq!(acknowledged[0]["client_file_sha256"], c.sha256.as_str());
    let done = c.status_becomes("completed").await;
    assert_eq!(done["recipients"][2]["status_label"], "Acknowledged");
    let completed = c.app.records_of(&c.id, "document.completed").await;
    assert_eq!(completed[0]["details"]["signers"], 0, "nobody signed: everyone acknowledged");
}

#[tokio::test]
async fn waiting_for_me_lists_what_the_viewer_must_act_on_and_waiting_for_others_the_rest() {
    let c = owner_with_document(mail_dir).await;
    // The owner signs this one herself, beside Bob.
    c.send("parallel", &[("Ada", "Ada@Example.com", false), ("Bob", "bob@example.com", false)], vec![]).await;
    let bytes = crate::helpers::pdf(1, "Other");
    let other = c.app.upload_ok("other.pdf", bytes).await;
    let d = Ceremony { app: c.app, id: other, sha256: String::new() };
    d.send("parallel", &[("Bob", "bob@example.com", false)], vec![]).await;
    let c = Ceremony { app: d.app, id: c.id, sha256: c.sha256 };
    let listed = |page: String, id: &str| page.contains(&format!("/documents/{id}"));
    let mine = list_page(&c, "waiting_for_me").await;
    assert!(listed(mine.clone(), &c.id) && !listed(mine, &d.id), "only the one she must sign");
    let others = list_page(&c, "waiting_for_others").await;
    assert!(listed(others.clone(), &d.id) && !listed(others, &c.id));
    let key = crate::rest::key(&c.app, "robot", "read").await;
    let api = crate::rest::get_json(&c.app, &key, "/api/v1/documents?status=waiting_for_me").await;
    assert_eq!(api["total"], 1, "{api}");
    assert_eq!(api["data"][0]["id"], c.id.as_str());

    // Once she signed, it waits for Bob only.
    let ada = Signer::new(&c.app, c.link_for("ada@example.com").await.expect("her own link"));
    ada.open().await;
    ada.consent().await;
    ada.sign(&c.sha256, "s1").await;
    let mine = list_page(&c, "waiting_for_me").await;
    assert!(!listed(mine, &c.id));
    let others = list_page(&c, "waiting_for_others").await;
    assert!(listed(others.clone(), &c.id) && listed(others, &d.id));
}

/// The documents page filtered on a work list, as the owner sees it.
async fn list_page(c: &Ceremony, list: &str) -> String {
    c.app.get(&format!("/?status={list}")).await.text().await.expect("page")
}

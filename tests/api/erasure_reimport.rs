//! R14: an erased person's external id imported again — by `PUT /people/by-external-id`,
//! a CSV import or a SCIM `POST` — is a new person: a new id, no link to the erased one's
//! pairs, enrollments or words, able to sign in; the erased record stays (its pairs, counts
//! and tallies) under a pseudonym no longer derivable from the external id, so nothing
//! re-identifies it through the newcomer. An HRIS that keeps sending the person re-creates
//! them; that is the HRIS's list, not a refusal of ours (README, "Retention and erasure").

use mentorat_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

use crate::erasure::person_id;
use crate::working_life::{Pair, active_pair, as_};

/// Erase ME (a member of `pair`); returns ME's old id and the pseudonym answered.
async fn erase_me(app: &TestApp) -> (String, String) {
    let old = person_id(app, "ME").await;
    let erased = app
        .post_json(
            &format!("/api/v1/people/{old}/erasure"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    assert_eq!(app.get("/api/v1/me", Some(&as_("ME"))).await.status, 401);
    (old, erased.json()["pseudonym"].as_str().unwrap().to_owned())
}

/// After the re-import: ME is a new person, with nothing of the old one; the old one is
/// still erased, under a pseudonym that is no longer the one derived from "ME".
async fn a_new_person_with_no_link(app: &TestApp, pair: &Pair, old: &str, pseudonym: &str) {
    let new = person_id(app, "ME").await;
    assert_ne!(new, old, "a new person, not the erased one back");
    let me = app.get("/api/v1/me", Some(&as_("ME"))).await;
    assert_eq!(me.status, 200, "the newcomer signs in: {}", me.text);
    let me = me.json();
    assert_eq!(me["pairs"], json!([]), "{me}");
    assert_eq!(me["enrollments"], json!([]), "{me}");
    let pair_view = app
        .get(&format!("/api/v1/pairs/{}", pair.id), Some(&as_("ME")))
        .await;
    assert_eq!(pair_view.status, 404, "{}", pair_view.text);
    // The erased record: blank, inactive, still erased, the pair still theirs — under a
    // pseudonym that nobody can compute from "ME" any more.
    let record = app
        .get(&format!("/api/v1/people/{old}"), Some(&app.as_admin()))
        .await
        .json();
    let now = record["external_id"].as_str().unwrap();
    assert!(now.starts_with("erased-"), "{record}");
    assert_ne!(now, pseudonym, "unlinked from the external id: {record}");
    assert_eq!(record["given_name"], "", "{record}");
    assert_eq!(record["active"], false, "{record}");
    let view = app
        .get(
            &format!("/api/v1/pairs/{}", pair.id),
            Some(&app.as_coordinator()),
        )
        .await;
    assert!(view.text.contains(old), "{}", view.text);
    assert!(!view.text.contains(&new), "{}", view.text);
    // A second erasure of the old record is still harmless, and its answer names the
    // record's pseudonym, not the newcomer.
    let again = app
        .post_json(
            &format!("/api/v1/people/{old}/erasure"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await
        .json();
    assert_eq!(again["already_erased"], true, "{again}");
    assert_eq!(again["pseudonym"], now, "{again}");
    assert_eq!(app.get("/api/v1/me", Some(&as_("ME"))).await.status, 200);
}

#[tokio::test]
async fn an_erased_external_id_put_again_is_a_new_person() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let (old, pseudonym) = erase_me(&app).await;
    let put = app
        .put_json(
            "/api/v1/people/by-external-id/ME",
            Some(&app.as_hris()),
            &json!({"given_name": "PrénomME", "family_name": "NomME", "email": "me@chu.example"}),
        )
        .await;
    assert_eq!(put.status, 201, "created, not updated: {}", put.text);
    assert_ne!(put.json()["id"], old.as_str());
    a_new_person_with_no_link(&app, &pair, &old, &pseudonym).await;
}

#[tokio::test]
async fn an_erased_external_id_imported_again_by_csv_is_a_new_person() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let (old, pseudonym) = erase_me(&app).await;
    let csv = "external_id,given_name,family_name,email,department,job_title,site,manager_external_id,active\n\
               ME,PrénomME,NomME,me@chu.example,Cardiologie,,Nord,,true\n";
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/people/import"))
                .bearer_auth(app.as_hris())
                .header("content-type", "text/csv; charset=utf-8")
                .body(csv),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report: Value = reply.json();
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["updated"], 0, "{report}");
    a_new_person_with_no_link(&app, &pair, &old, &pseudonym).await;
}

async fn scim_post(app: &TestApp, body: &Value) -> mentorat_tests::Reply {
    app.send(
        app.client
            .post(app.url("/scim/v2/Users"))
            .bearer_auth(app.as_hris())
            .header("content-type", "application/scim+json")
            .body(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn an_erased_user_posted_again_by_scim_is_a_new_person() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    // ME provisioned through SCIM too (their externalId and e-mails kept by SCIM).
    let user = crate::scim::entra_user("SC1");
    let first = scim_post(&app, &user).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let sc1 = first.json()["id"].as_str().unwrap().to_owned();
    let erased = app
        .post_json(
            &format!("/api/v1/people/{sc1}/erasure"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    let pseudonym = erased.json()["pseudonym"].as_str().unwrap().to_owned();
    // What SCIM kept of them went with the identity.
    {
        use sea_orm::{ConnectionTrait, Statement};
        let conn = app.db.conn();
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT external_id, attributes FROM scim_users",
            ))
            .await
            .unwrap();
        for row in rows {
            let attributes: Option<String> = row.try_get("", "attributes").unwrap();
            let external: Option<String> = row.try_get("", "external_id").unwrap();
            assert!(
                !attributes.unwrap_or_default().contains("sc1@chu.example")
                    && external.as_deref() != Some("aad-SC1"),
                "SCIM keeps the erased person's identity"
            );
        }
    }
    let again = scim_post(&app, &user).await;
    assert_eq!(again.status, 201, "{}", again.text);
    let new = again.json()["id"].as_str().unwrap().to_owned();
    assert_ne!(new, sc1);
    let found = app
        .send(
            app.client
                .get(app.url("/scim/v2/Users?filter=userName%20eq%20%22SC1%22"))
                .bearer_auth(app.as_hris()),
        )
        .await
        .json();
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], new.as_str(), "{found}");
    let me = app.get("/api/v1/me", Some(&as_("SC1"))).await;
    assert_eq!(me.status, 200, "the newcomer signs in: {}", me.text);
    let record = app
        .get(&format!("/api/v1/people/{sc1}"), Some(&app.as_admin()))
        .await
        .json();
    assert!(
        record["external_id"]
            .as_str()
            .unwrap()
            .starts_with("erased-")
    );
    assert_ne!(record["external_id"], pseudonym.as_str(), "{record}");
    // The pair of others is untouched.
    let view = app
        .get(
            &format!("/api/v1/pairs/{}", pair.id),
            Some(&app.as_coordinator()),
        )
        .await;
    assert_eq!(view.status, 200);
}

//! The document is as strict as the validation behind it (issue 13, measured by schemathesis):
//! each value set, range and pattern the code enforces is in the served document, read from
//! the same constants, and the answers the document promises are the ones the server gives.

use mentorat_domain::{ErrorCode, feedback::FeedbackKind, webhook::EVENT_KINDS};
use mentorat_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

use crate::working_life::{active_pair, as_, schedule, started_hours_ago, video_at};

async fn served(app: &TestApp) -> Value {
    let reply = app.get("/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    reply.json()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

/// Follow a `$ref` to a component schema.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => schema(doc, r.rsplit('/').next().unwrap()),
        None => v,
    }
}

#[tokio::test]
async fn the_problem_code_is_an_enum_of_every_error_code() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let codes = strings(&schema(&doc, "Problem")["properties"]["code"]["enum"]);
    let all: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(codes, all);
    // What the server answers is in it.
    let reply = app.get("/api/v1/programs/not-a-uuid", None).await;
    let code = reply.json()["code"].as_str().unwrap().to_owned();
    assert!(codes.contains(&code), "{code}");
}

#[tokio::test]
async fn webhook_events_are_the_domain_event_list() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let kinds: Vec<String> = EVENT_KINDS.iter().map(|k| k.to_string()).collect();
    for (name, field) in [("NewWebhook", "events"), ("WebhookDto", "events")] {
        let items = &schema(&doc, name)["properties"][field]["items"];
        assert_eq!(strings(&items["enum"]), kinds, "{name}.{field}");
    }
    assert_eq!(
        strings(&schema(&doc, "DeliveryDto")["properties"]["kind"]["enum"]),
        kinds
    );
}

#[tokio::test]
async fn feedback_scores_are_the_kinds_dimensions_whole_numbers_1_to_5() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let variants = schema(&doc, "NewFeedback")["oneOf"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    for (variant, kind) in variants
        .iter()
        .zip([FeedbackKind::CheckIn, FeedbackKind::Final])
    {
        assert_eq!(
            strings(&variant["properties"]["kind"]["enum"]),
            [kind.as_str()]
        );
        let scores = &variant["properties"]["scores"];
        assert_eq!(scores["additionalProperties"], false);
        assert_eq!(strings(&scores["required"]), kind.dimensions());
        for dim in kind.dimensions() {
            let s = &scores["properties"][*dim];
            assert_eq!(s["type"], "integer", "{dim}");
            assert_eq!(s["minimum"], 1, "{dim}");
            assert_eq!(s["maximum"], 5, "{dim}");
        }
    }
    // And the server refuses what the schema refuses.
    let pair = active_pair(&app).await;
    let meeting = schedule(&app, &pair, "MR", video_at(2)).await.json();
    started_hours_ago(&app, meeting["id"].as_str().unwrap(), 1).await;
    let path = format!("/api/v1/pairs/{}/feedback", pair.id);
    app.post_json(
        &path,
        Some(&as_("ME")),
        &json!({"kind": "check_in", "meeting_id": meeting["id"], "scores": {"usefulness": 6, "atmosphere": 5}}),
    )
    .await
    .problem(422, "validation_failed");
}

#[tokio::test]
async fn external_ids_carry_the_domain_pattern_and_the_server_keeps_to_it() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let path = "/api/v1/people/by-external-id/{external_id}";
    let param = parameter(&doc, path, "put", "external_id");
    assert_eq!(param["schema"]["pattern"], "^[!-~]{1,64}$");
    assert_eq!(
        param["schema"]["pattern"],
        mentorat_api::vocabulary::EXTERNAL_ID_PATTERN
    );
    let manager = &schema(&doc, "PersonInput")["properties"]["manager_external_id"];
    assert!(manager["pattern"].as_str().unwrap().contains("[!-~]{1,64}"));
    // `²` is outside the pattern: refused; `E-1` inside it: kept.
    let body = json!({"given_name": "Zoé", "family_name": "Lefèvre", "email": "zoe@chu.example"});
    app.put_json(
        "/api/v1/people/by-external-id/%C2%B2",
        Some(&app.as_hris()),
        &body,
    )
    .await
    .problem(422, "validation_failed");
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/E-1",
            Some(&app.as_hris()),
            &body,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // A blank name is outside the schema (not blank once trimmed), and refused.
    let blank = json!({"given_name": " ", "family_name": "Lefèvre", "email": "zoe@chu.example"});
    app.put_json(
        "/api/v1/people/by-external-id/E-2",
        Some(&app.as_hris()),
        &blank,
    )
    .await
    .problem(422, "validation_failed");
    assert!(
        schema(&doc, "PersonInput")["properties"]["given_name"]["pattern"]
            .as_str()
            .is_some()
    );
}

#[tokio::test]
async fn the_report_documents_from_before_to_and_refuses_equal_dates() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let path = "/api/v1/programs/{id}/report";
    let from = parameter(&doc, path, "get", "from");
    assert!(
        from["description"]
            .as_str()
            .unwrap()
            .contains("`from < to`"),
        "{from}"
    );
    let group_by = resolve(&doc, &parameter(&doc, path, "get", "group_by")["schema"]);
    assert_eq!(strings(&group_by["enum"]), ["department", "site"]);
    let program = app.create_program("Rapport").await;
    let reply = app
        .get(
            &format!(
                "/api/v1/programs/{}/report?from=2020-01-01&to=2020-01-01",
                program["id"].as_str().unwrap()
            ),
            Some(&app.as_coordinator()),
        )
        .await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["pointer"], "/from");
}

#[tokio::test]
async fn the_pair_list_flag_is_an_enum_of_the_flags_it_filters_by() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let flag = resolve(
        &doc,
        &parameter(&doc, "/api/v1/pairs", "get", "flag")["schema"],
    );
    assert_eq!(strings(&flag["enum"]), ["hierarchy_conflict", "suspended"]);
    let status = resolve(
        &doc,
        &parameter(&doc, "/api/v1/pairs", "get", "status")["schema"],
    );
    assert!(status["enum"].is_array());
    // A flag outside the enum is a malformed query (400, documented), not a 422.
    let reply = app
        .get(
            "/api/v1/pairs?flag=objectives_missing",
            Some(&app.as_coordinator()),
        )
        .await;
    reply.problem(400, "bad_request");
    let reply = app
        .get("/api/v1/pairs?flag=suspended", Some(&app.as_coordinator()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_calendar_feed_operations_document_404_and_give_it_to_a_caller_who_is_no_person() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    for method in ["post", "delete"] {
        let responses = &doc["paths"]["/api/v1/me/calendar-feed"][method]["responses"];
        assert!(responses.get("404").is_some(), "{method} lacks 404");
    }
    // An admin's token names nobody the HRIS recorded.
    let reply = app
        .post_json(
            "/api/v1/me/calendar-feed",
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    reply.problem(404, "not_found");
    let reply = app
        .delete("/api/v1/me/calendar-feed", Some(&app.as_admin()))
        .await;
    reply.problem(404, "not_found");
}

#[tokio::test]
async fn people_import_allows_post_only() {
    let app = spawn_app().await;
    for method in [reqwest::Method::OPTIONS, reqwest::Method::GET] {
        let reply = app
            .send(
                app.client
                    .request(method.clone(), app.url("/api/v1/people/import"))
                    .bearer_auth(app.as_coordinator()),
            )
            .await;
        reply.problem(405, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some("POST"), "{method}");
    }
}

#[tokio::test]
async fn a_meeting_held_with_a_null_body_is_held_without_a_summary() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let meeting = schedule(&app, &pair, "MR", video_at(2)).await.json();
    let id = meeting["id"].as_str().unwrap();
    started_hours_ago(&app, id, 1).await;
    let reply = app
        .send(
            app.client
                .post(app.url(&format!("/api/v1/pairs/{}/meetings/{id}/held", pair.id)))
                .bearer_auth(as_("MR"))
                .header("content-type", "application/json")
                .body("null"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["status"], "held");
}

#[tokio::test]
async fn every_post_documents_400_for_a_malformed_idempotency_key() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(post) = item.get("post") {
            assert!(
                post["responses"].get("400").is_some(),
                "POST {path} lacks 400"
            );
        }
    }
    let pair = active_pair(&app).await;
    let reply = app
        .send(
            app.client
                .post(app.url(&format!("/api/v1/pairs/{}/accept", pair.id)))
                .bearer_auth(as_("MR"))
                .header("idempotency-key", "a key with spaces"),
        )
        .await;
    reply.problem(400, "invalid_idempotency_key");
}

#[tokio::test]
async fn an_enrollment_body_schema_follows_the_role() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let variants = schema(&doc, "NewEnrollment")["oneOf"].as_array().unwrap();
    let mentee = variants
        .iter()
        .find(|v| v["properties"]["role"]["enum"][0] == "mentee")
        .unwrap();
    assert_eq!(mentee["properties"]["capacity"]["type"], "null");
    let mentor = variants
        .iter()
        .find(|v| v["properties"]["role"]["enum"][0] == "mentor")
        .unwrap();
    assert_eq!(mentor["properties"]["capacity"]["maximum"], 50);
}

#[tokio::test]
async fn one_date_patched_before_the_other_is_a_conflict_with_the_program() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/api/v1/programs",
            Some(&app.as_coordinator()),
            &json!({"name": "Dates", "starts_on": "2027-01-04", "ends_on": "2027-12-17"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    app.patch_json(
        &format!("/api/v1/programs/{id}"),
        Some(&app.as_coordinator()),
        None,
        &json!({"ends_on": "2026-01-01"}),
    )
    .await
    .problem(409, "program_dates_conflict");
}

#[tokio::test]
async fn gets_with_an_etag_declare_if_none_match_and_their_304() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let mut tagged = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        if get["responses"]["200"]["headers"].get("ETag").is_none() {
            continue;
        }
        tagged += 1;
        let declared = get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "If-None-Match" && p["in"] == "header");
        assert!(declared, "GET {path} lacks If-None-Match");
        assert!(
            get["responses"]["304"]["headers"].get("ETag").is_some(),
            "GET {path}: 304 without ETag"
        );
    }
    assert!(tagged >= 7, "{tagged}");
    // And one of them answers as declared.
    let program = app.create_program("Étiquettes").await;
    let path = format!("/api/v1/programs/{}", program["id"].as_str().unwrap());
    let first = app.get(&path, Some(&app.as_coordinator())).await;
    let tag = first.header("etag").unwrap().to_owned();
    let again = app
        .send(
            app.client
                .get(app.url(&path))
                .bearer_auth(app.as_coordinator())
                .header("if-none-match", &tag),
        )
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(tag.as_str()));
}

#[test]
fn every_request_body_has_an_example() {
    let doc = serde_json::to_value(mentorat_api::openapi()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for (media, c) in content {
                let s = &c["schema"];
                let named = s["$ref"]
                    .as_str()
                    .or_else(|| s["items"]["$ref"].as_str())
                    .or_else(|| s["oneOf"][0]["$ref"].as_str())
                    .map(|r| &doc["components"]["schemas"][r.rsplit('/').next().unwrap()]);
                let has = c.get("example").is_some()
                    || s.get("example").is_some()
                    || named.is_some_and(|n| n.get("example").is_some());
                assert!(has, "{method} {path} ({media}) has no example");
            }
        }
    }
}

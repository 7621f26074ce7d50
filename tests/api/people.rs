//! People: the HRIS connector upserts and imports; coordinators read.

use mentorat_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

async fn import_json(app: &TestApp, rows: &Value) -> mentorat_tests::Reply {
    app.post_json("/api/v1/people/import", Some(&app.as_hris()), rows)
        .await
}

async fn import_csv(app: &TestApp, csv: &str) -> mentorat_tests::Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/people/import"))
            .bearer_auth(app.as_hris())
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_owned()),
    )
    .await
}

async fn person_by_external_id(app: &TestApp, external_id: &str) -> Value {
    let body = app
        .get(
            &format!("/api/v1/people?q={external_id}&limit=200"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_id"] == external_id)
        .cloned()
        .unwrap_or_else(|| panic!("{external_id} not found in {body}"))
}

fn row(external_id: &str, manager: Option<&str>) -> Value {
    json!({
        "external_id": external_id,
        "given_name": "Given",
        "family_name": external_id,
        "email": format!("{}@chu.example", external_id.to_lowercase()),
        "manager_external_id": manager,
    })
}

#[tokio::test]
async fn upserting_twice_creates_then_updates_the_same_person() {
    let app = spawn_app().await;
    let hris = app.as_hris();
    let path = "/api/v1/people/by-external-id/E100";
    let body =
        json!({"given_name": "Zoé", "family_name": "Lefèvre", "email": "Zoe.Lefevre@CHU.example"});
    let first = app.put_json(path, Some(&hris), &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let created = first.json();
    assert_eq!(created["email"], "zoe.lefevre@chu.example");
    assert_eq!(created["active"], true);
    assert_eq!(
        first.header("location").unwrap(),
        format!("/api/v1/people/{}", created["id"].as_str().unwrap())
    );

    let again = app.put_json(path, Some(&hris), &body).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["id"], created["id"]);
    assert_eq!(
        again.json()["revision"],
        1,
        "unchanged data is not a new revision"
    );

    let moved = app
        .put_json(path, Some(&hris), &json!({"given_name": "Zoé", "family_name": "Lefèvre", "email": "zoe@chu.example", "site": "Sud"}))
        .await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.json()["id"], created["id"]);
    assert_eq!(moved.json()["site"], "Sud");
    assert_eq!(moved.json()["revision"], 2);
    assert_eq!(moved.header("etag"), Some("\"r2\""));
}

#[tokio::test]
async fn hris_writes_people_and_nothing_else() {
    let app = spawn_app().await;
    let hris = app.as_hris();
    let person = app.upsert_person("E1", None).await;
    app.get("/api/v1/people", Some(&hris))
        .await
        .problem(403, "forbidden");
    app.get(
        &format!("/api/v1/people/{}", person["id"].as_str().unwrap()),
        Some(&hris),
    )
    .await
    .problem(403, "forbidden");
    app.get("/api/v1/programs", Some(&hris))
        .await
        .problem(403, "forbidden");
    app.post_json("/api/v1/programs", Some(&hris), &json!({"name": "x"}))
        .await
        .problem(403, "forbidden");
    for token in [app.as_participant(), app.as_analyst()] {
        app.put_json(
            "/api/v1/people/by-external-id/E2",
            Some(&token),
            &row("E2", None),
        )
        .await
        .problem(403, "forbidden");
        app.get("/api/v1/people", Some(&token))
            .await
            .problem(403, "forbidden");
    }
    // Coordinators and admins read and may write too.
    assert_eq!(
        app.get("/api/v1/people", Some(&app.as_coordinator()))
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/api/v1/people", Some(&app.as_admin()))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_bad_person_is_a_422_with_pointers() {
    let app = spawn_app().await;
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/E1",
            Some(&app.as_hris()),
            &json!({"given_name": "A", "family_name": "B", "email": "not-an-email"}),
        )
        .await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["pointer"], "/email");
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/E1",
            Some(&app.as_hris()),
            &json!({"given_name": "A", "family_name": "B", "email": "a@b.fr", "manager_external_id": "E1"}),
        )
        .await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["pointer"], "/manager_external_id");
}

#[tokio::test]
async fn an_import_in_reverse_manager_order_links_everyone() {
    let app = spawn_app().await;
    // Reports first, their managers after: E4 → E3 → E2 → E1.
    let rows = json!([
        row("E4", Some("E3")),
        row("E3", Some("E2")),
        row("E2", Some("E1")),
        row("E1", None)
    ]);
    let reply = import_json(&app, &rows).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report = reply.json();
    assert_eq!(
        report,
        json!({"created": 4, "updated": 0, "unchanged": 0, "errors": []})
    );
    assert_eq!(
        person_by_external_id(&app, "E4").await["manager_external_id"],
        "E3"
    );
    assert_eq!(
        person_by_external_id(&app, "E1").await["manager_external_id"],
        Value::Null
    );

    // A manager named before being imported at all, then imported later.
    let reply = import_json(&app, &json!([row("E10", Some("E11"))])).await;
    assert_eq!(reply.json()["created"], 1);
    let reply = import_json(&app, &json!([row("E11", None)])).await;
    assert_eq!(reply.json()["created"], 1);
    assert_eq!(
        person_by_external_id(&app, "E10").await["manager_external_id"],
        "E11"
    );
}

#[tokio::test]
async fn a_csv_import_keeps_quotes_and_accents() {
    let app = spawn_app().await;
    let csv = "external_id,given_name,family_name,email,department,job_title,site,manager_external_id,active\r\n\
               E1,Zoé,\"Lefèvre, née Martin\",zoe@chu.example,Cardiologie,\"Infirmière \"\"de nuit\"\"\",Hôpital Nord,,true\r\n\
               E2,Jean-François,Müller,jf@chu.example,Pédiatrie,Médecin,Hôpital Sud,E1,oui\r\n";
    let reply = import_csv(&app, csv).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["created"], 2);
    let zoe = person_by_external_id(&app, "E1").await;
    assert_eq!(zoe["given_name"], "Zoé");
    assert_eq!(zoe["family_name"], "Lefèvre, née Martin");
    assert_eq!(zoe["job_title"], "Infirmière \"de nuit\"");
    assert_eq!(zoe["site"], "Hôpital Nord");
    let jf = person_by_external_id(&app, "E2").await;
    assert_eq!(jf["manager_external_id"], "E1");
    assert_eq!(jf["department"], "Pédiatrie");
}

#[tokio::test]
async fn a_bad_row_among_good_ones_is_reported_and_the_rest_kept() {
    let app = spawn_app().await;
    let rows = json!([
        row("E1", None),
        {"external_id": "E2", "given_name": "A", "family_name": "B", "email": "broken"},
        {"external_id": "E3", "given_name": "  ", "family_name": "C", "email": "e3@chu.example"},
        row("E4", Some("E1")),
        row("E1", None),
    ]);
    let report = import_json(&app, &rows).await.json();
    assert_eq!(report["created"], 2);
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [(2, "invalid_row"), (3, "invalid_row"), (5, "duplicate_row")]
    );
    assert!(
        report["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("/email")
    );
}

/// A JSON element that is not a row of the documented schema makes the document invalid: 422
/// with a pointer to each bad element, nothing written (schemathesis, 2026-12-03: a body whose
/// `active` was an array was answered 200).
#[tokio::test]
async fn a_json_element_of_the_wrong_shape_refuses_the_whole_document() {
    let app = spawn_app().await;
    let rows = json!([
        row("E1", None),
        {"external_id": "E3", "given_name": 42, "family_name": "C", "email": "e3@chu.example"},
        {"external_id": "E4", "given_name": "D", "family_name": "D", "email": "e4@chu.example", "active": []},
        {"external_id": "E5", "given_name": "E"},
    ]);
    let reply = import_json(&app, &rows).await;
    assert_eq!(reply.status, 422, "{}", reply.json());
    let problem = reply.json();
    assert_eq!(problem["code"], "validation_failed");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/1/given_name", "/2/active", "/3/family_name"]);
    let listed = app.get("/api/v1/people", Some(&app.as_coordinator())).await;
    assert_eq!(listed.json()["items"], json!([]), "nothing was written");
}

#[tokio::test]
async fn re_importing_the_same_data_changes_nothing() {
    let app = spawn_app().await;
    let rows = json!([row("E1", None), row("E2", Some("E1"))]);
    import_json(&app, &rows).await;
    let report = import_json(&app, &rows).await.json();
    assert_eq!(
        report,
        json!({"created": 0, "updated": 0, "unchanged": 2, "errors": []})
    );
    let changed = json!([row("E1", None), {"external_id": "E2", "given_name": "Given", "family_name": "E2", "email": "e2@chu.example", "site": "Sud", "manager_external_id": "E1"}]);
    let report = import_json(&app, &changed).await.json();
    assert_eq!(
        report,
        json!({"created": 0, "updated": 1, "unchanged": 1, "errors": []})
    );
}

#[tokio::test]
async fn a_manager_cycle_is_refused_for_the_row_that_closes_it() {
    let app = spawn_app().await;
    let rows = json!([
        row("E1", Some("E2")),
        row("E2", Some("E3")),
        row("E3", Some("E1"))
    ]);
    let report = import_json(&app, &rows).await.json();
    assert_eq!(report["created"], 2);
    assert_eq!(report["errors"][0]["row"], 3);
    assert_eq!(report["errors"][0]["code"], "manager_cycle");

    // Across imports, and through the single upsert, too.
    let reply = app
        .put_json("/api/v1/people/by-external-id/E2", Some(&app.as_hris()), &json!({"given_name": "G", "family_name": "F", "email": "e2@chu.example", "manager_external_id": "E1"}))
        .await;
    reply.problem(422, "manager_cycle");
}

#[tokio::test]
async fn deactivation_keeps_the_person() {
    let app = spawn_app().await;
    let person = app.upsert_person("E1", None).await;
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/E1",
            Some(&app.as_hris()),
            &json!({"given_name": "Given E1", "family_name": "Family E1", "email": "e1@chu.example", "active": false}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let read = app
        .get(
            &format!("/api/v1/people/{}", person["id"].as_str().unwrap()),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(read["active"], false);
    assert_eq!(read["given_name"], "Given E1");
    let inactive = app
        .get("/api/v1/people?active=false", Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(inactive["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn people_are_filtered_searched_and_paginated() {
    let app = spawn_app().await;
    let mut rows = Vec::new();
    for n in 0..7 {
        rows.push(json!({
            "external_id": format!("E{n}"),
            "given_name": if n == 3 { "Zoé" } else { "Jean" },
            "family_name": "Martin",
            "email": format!("e{n}@chu.example"),
            "department": if n % 2 == 0 { "Cardiologie" } else { "Pédiatrie" },
            "site": "Nord",
        }));
    }
    import_json(&app, &Value::Array(rows)).await;
    let coordinator = app.as_coordinator();
    let cardio = app
        .get("/api/v1/people?department=Cardiologie", Some(&coordinator))
        .await
        .json();
    assert_eq!(cardio["items"].as_array().unwrap().len(), 4);
    let zoe = app
        .get("/api/v1/people?q=zo%C3%A9", Some(&coordinator))
        .await
        .json();
    assert_eq!(zoe["items"].as_array().unwrap().len(), 1);
    let by_id = app
        .get("/api/v1/people?q=e5%40", Some(&coordinator))
        .await
        .json();
    assert_eq!(by_id["items"][0]["external_id"], "E5");
    let page = app
        .get("/api/v1/people?limit=5", Some(&coordinator))
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/people?limit=5&cursor={cursor}"),
            Some(&coordinator),
        )
        .await
        .json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn an_import_is_json_or_csv_and_nothing_else() {
    let app = spawn_app().await;
    app.send(
        app.client
            .post(app.url("/api/v1/people/import"))
            .bearer_auth(app.as_hris())
            .header("content-type", "application/xml")
            .body("<people/>"),
    )
    .await
    .problem(415, "unsupported_media_type");
    import_json(&app, &json!({"external_id": "E1"}))
        .await
        .problem(422, "validation_failed");
    import_csv(&app, "id,name\n1,x\n")
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn a_large_csv_import_goes_through_in_chunks() {
    let app = spawn_app().await;
    // About 1.5 MiB: over the 1 MiB limit of ordinary bodies, within the import's.
    let mut csv = String::from(
        "external_id,given_name,family_name,email,department,job_title,site,manager_external_id,active\n",
    );
    for n in 0..15_000 {
        let manager = if n == 0 {
            String::new()
        } else {
            format!("P{}", (n - 1) / 10)
        };
        csv.push_str(&format!(
            "P{n},Prénom{n},Nom{n},p{n}@chu.example,Service {},Soignant,Site {},{manager},true\n",
            n % 40,
            n % 3
        ));
    }
    assert!(csv.len() > 1 << 20);
    let reply = import_csv(&app, &csv).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["created"], 15_000);
    let again = import_csv(&app, &csv).await.json();
    assert_eq!(again["unchanged"], 15_000);
}

//! SCIM 2.0 provisioning (`/scim/v2`, RFC 7643/7644) as Microsoft Entra ID and Okta use it:
//! a SCIM User is a person, and every rule of the people API holds through it (R1, R11,
//! deactivation instead of erasure).

use mentorat_tests::{Reply, TestApp, spawn_app, token};
use serde_json::{Value, json};

use crate::working_life::{active_pair, as_, coordinator_view};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn scim(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut request = app
        .client
        .request(method, app.url(&format!("/scim/v2{path}")))
        .header("accept", "application/scim+json");
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let reply = app.send(request).await;
    if reply.status != 204 {
        assert_eq!(
            reply.header("content-type"),
            Some("application/scim+json"),
            "{path}: {}",
            reply.text
        );
    }
    reply
}

async fn get(app: &TestApp, path: &str) -> Reply {
    scim(app, reqwest::Method::GET, path, Some(&app.as_hris()), None).await
}

async fn post(app: &TestApp, body: &Value) -> Reply {
    scim(
        app,
        reqwest::Method::POST,
        "/Users",
        Some(&app.as_hris()),
        Some(body),
    )
    .await
}

async fn put(app: &TestApp, id: &str, body: &Value) -> Reply {
    let path = format!("/Users/{id}");
    scim(
        app,
        reqwest::Method::PUT,
        &path,
        Some(&app.as_hris()),
        Some(body),
    )
    .await
}

async fn patch(app: &TestApp, id: &str, operations: Value) -> Reply {
    let path = format!("/Users/{id}");
    let body = json!({"schemas": [PATCH], "Operations": operations});
    scim(
        app,
        reqwest::Method::PATCH,
        &path,
        Some(&app.as_hris()),
        Some(&body),
    )
    .await
}

/// A SCIM error document with this status and `scimType`.
fn error(reply: &Reply, status: u16, scim_type: Option<&str>) -> Value {
    assert_eq!(reply.status, status, "{}", reply.text);
    let doc = reply.json();
    assert_eq!(
        doc["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(doc["status"], status.to_string());
    assert_eq!(doc["scimType"].as_str(), scim_type, "{doc}");
    assert!(doc["detail"].as_str().is_some_and(|d| !d.is_empty()));
    doc
}

/// A user as Entra ID's default mapping sends it.
pub(crate) fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": format!("aad-{user_name}"),
        "userName": user_name,
        "active": true,
        "displayName": "Zoé Lefèvre",
        "name": {"givenName": "Zoé", "familyName": "Lefèvre", "formatted": "Zoé Lefèvre"},
        "emails": [{"primary": true, "type": "work", "value": format!("{}@chu.example", user_name.to_lowercase())}],
        "title": "Infirmière",
        "addresses": [{"type": "work", "formatted": "Hôpital Nord"}],
        "preferredLanguage": "fr-FR",
        ENTERPRISE: {"department": "Cardiologie"}
    })
}

async fn create(app: &TestApp, user_name: &str) -> Value {
    let reply = post(app, &entra_user(user_name)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

async fn id_of(app: &TestApp, user_name: &str) -> String {
    let list = get(
        app,
        &format!("/Users?filter=userName%20eq%20%22{user_name}%22"),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.json()["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_service_provider_config_says_what_is_supported() {
    let app = spawn_app().await;
    let config = get(&app, "/ServiceProviderConfig").await;
    assert_eq!(config.status, 200);
    let config = config.json();
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["sort"]["supported"], false);
    assert_eq!(config["etag"]["supported"], false);
    assert_eq!(config["changePassword"]["supported"], false);
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["filter"]["maxResults"], 200);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let types = get(&app, "/ResourceTypes").await.json();
    assert_eq!(types["totalResults"], 1, "Users only, no Groups");
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    assert_eq!(
        types["Resources"][0]["schemaExtensions"][0]["schema"],
        ENTERPRISE
    );
    assert_eq!(get(&app, "/ResourceTypes/User").await.status, 200);
    error(&get(&app, "/ResourceTypes/Group").await, 404, None);

    let schemas = get(&app, "/Schemas").await.json();
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]
    );
    let user = get(&app, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(user.status, 200);
    let user_name = user.json()["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .cloned()
        .unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["mutability"], "immutable");
}

#[tokio::test]
async fn a_user_is_a_person_with_every_attribute_mapped() {
    let app = spawn_app().await;
    let manager = create(&app, "E001").await;
    let mut body = entra_user("E100");
    body[ENTERPRISE]["manager"] = json!({"value": manager["id"]});
    let reply = post(&app, &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let user = reply.json();
    let id = user["id"].as_str().unwrap();
    assert!(
        reply
            .header("location")
            .unwrap()
            .ends_with(&format!("/scim/v2/Users/{id}"))
    );
    assert_eq!(user["userName"], "E100");
    assert_eq!(user["externalId"], "aad-E100");
    assert_eq!(user["name"]["givenName"], "Zoé");
    assert_eq!(user["emails"][0]["value"], "e100@chu.example");
    assert_eq!(user["title"], "Infirmière");
    assert_eq!(user["active"], true);
    assert_eq!(user["addresses"][0]["formatted"], "Hôpital Nord");
    assert_eq!(user[ENTERPRISE]["department"], "Cardiologie");
    assert_eq!(user[ENTERPRISE]["manager"]["value"], manager["id"]);
    assert_eq!(user["meta"]["resourceType"], "User");
    assert!(user["meta"]["created"].is_string());
    assert!(user["meta"]["lastModified"].is_string());
    assert_eq!(user["meta"]["location"], reply.header("location").unwrap());
    // The same person through the people API.
    let person = app
        .get(&format!("/api/v1/people/{id}"), Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(person["external_id"], "E100");
    assert_eq!(person["job_title"], "Infirmière");
    assert_eq!(person["site"], "Hôpital Nord");
    assert_eq!(person["department"], "Cardiologie");
    assert_eq!(person["manager_external_id"], "E001");
    // Read back by id.
    let again = get(&app, &format!("/Users/{id}")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["userName"], "E100");
    error(
        &get(&app, "/Users/0193a000-0000-7000-8000-000000000000").await,
        404,
        None,
    );
    error(&get(&app, "/Users/not-a-uuid").await, 404, None);
}

#[tokio::test]
async fn lists_filter_on_user_name_and_external_id_and_page() {
    let app = spawn_app().await;
    for n in 1..=5 {
        create(&app, &format!("E{n}")).await;
    }
    let all = get(&app, "/Users").await.json();
    assert_eq!(all["totalResults"], 5);
    assert_eq!(all["itemsPerPage"], 5);
    assert_eq!(all["startIndex"], 1);
    assert_eq!(
        all["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let page = get(&app, "/Users?startIndex=2&count=2").await.json();
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(
        page["Resources"][0]["userName"],
        all["Resources"][1]["userName"]
    );
    let none = get(&app, "/Users?count=0").await.json();
    assert_eq!(
        (none["totalResults"].as_i64(), none["itemsPerPage"].as_i64()),
        (Some(5), Some(0))
    );

    let by_name = get(&app, "/Users?filter=userName%20eq%20%22E3%22")
        .await
        .json();
    assert_eq!(by_name["totalResults"], 1);
    assert_eq!(by_name["Resources"][0]["userName"], "E3");
    let by_external = get(&app, "/Users?filter=externalId%20eq%20%22aad-E4%22")
        .await
        .json();
    assert_eq!(by_external["totalResults"], 1);
    assert_eq!(by_external["Resources"][0]["userName"], "E4");
    let nobody = get(&app, "/Users?filter=userName%20eq%20%22E9%22")
        .await
        .json();
    assert_eq!(nobody["totalResults"], 0);
    assert_eq!(nobody["Resources"], json!([]));

    for bad in [
        "userName%20gt%20%22E%22",
        "title%20eq%20%22x%22",
        "userName%20eq%20E1",
        "emails%5Btype%20eq%20%22work%22%5D%20pr",
        "active%20eq%20%22yes%22",
    ] {
        error(
            &get(&app, &format!("/Users?filter={bad}")).await,
            400,
            Some("invalidFilter"),
        );
    }
    error(
        &get(&app, "/Users?count=many").await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn a_duplicate_user_name_is_a_uniqueness_conflict() {
    let app = spawn_app().await;
    create(&app, "E1").await;
    error(
        &post(&app, &entra_user("E1")).await,
        409,
        Some("uniqueness"),
    );
}

#[tokio::test]
async fn entra_patches_apply_as_entra_sends_them() {
    let app = spawn_app().await;
    let manager = create(&app, "E001").await;
    let user = create(&app, "E100").await;
    let id = user["id"].as_str().unwrap();
    let reply = patch(
        &app,
        id,
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "zoe.l@chu.example"},
            {"op": "Replace", "path": "name.givenName", "value": "Zoë"},
            {"op": "Add", "path": "title", "value": "Cadre de santé"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Pédiatrie"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": manager["id"]},
            {"op": "Replace", "path": "addresses[type eq \"work\"].formatted", "value": "Hôpital Sud"},
            {"op": "Replace", "value": {"active": "True", "name.familyName": "Martin", "nickName": "zoé"}},
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+33 1 23"},
        ]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let user = reply.json();
    assert_eq!(user["emails"][0]["value"], "zoe.l@chu.example");
    assert_eq!(user["name"]["givenName"], "Zoë");
    assert_eq!(user["name"]["familyName"], "Martin");
    assert_eq!(user["title"], "Cadre de santé");
    assert_eq!(user[ENTERPRISE]["department"], "Pédiatrie");
    assert_eq!(user[ENTERPRISE]["manager"]["value"], manager["id"]);
    assert_eq!(user["addresses"][0]["formatted"], "Hôpital Sud");
    assert_eq!(user["active"], true);
    assert!(user.get("phoneNumbers").is_none(), "not kept, ignored");
    // Entra ID removes a manager with a path and no value.
    let reply = patch(
        &app,
        id,
        json!([{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json()[ENTERPRISE].get("manager").is_none());
    let person = app
        .get(&format!("/api/v1/people/{id}"), Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(person["manager_external_id"], Value::Null);
    assert_eq!(person["email"], "zoe.l@chu.example");
}

#[tokio::test]
async fn bad_patches_are_scim_errors_that_change_nothing() {
    let app = spawn_app().await;
    let user = create(&app, "E100").await;
    let id = user["id"].as_str().unwrap();
    let cases = [
        (
            json!([{"op": "Replace", "path": "emails[type eq", "value": "x"}]),
            "invalidPath",
        ),
        (json!([{"op": "Remove"}]), "noTarget"),
        (
            json!([{"op": "Remove", "path": "emails[type eq \"home\"].value"}]),
            "noTarget",
        ),
        (
            json!([{"op": "Replace", "path": "userName", "value": "E200"}]),
            "mutability",
        ),
        (
            json!([{"op": "Replace", "path": "active", "value": "perhaps"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "not-an-email"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "Replace", "path": "title", "value": "T"}, {"op": "Replace", "path": "name.givenName", "value": ""}]),
            "invalidValue",
        ),
    ];
    for (operations, scim_type) in cases {
        let reply = patch(&app, id, operations.clone()).await;
        error(&reply, 400, Some(scim_type));
    }
    let unchanged = get(&app, &format!("/Users/{id}")).await.json();
    assert_eq!(unchanged["title"], "Infirmière", "nothing was kept");
    assert_eq!(unchanged["userName"], "E100");
    // A malformed body and an unknown user.
    let raw = app
        .send(
            app.client
                .patch(app.url(&format!("/scim/v2/Users/{id}")))
                .bearer_auth(app.as_hris())
                .header("content-type", "application/scim+json")
                .body("{not json"),
        )
        .await;
    error(&raw, 400, Some("invalidSyntax"));
    error(
        &patch(
            &app,
            "0193a000-0000-7000-8000-000000000000",
            json!([{"op": "Replace", "path": "title", "value": "T"}]),
        )
        .await,
        404,
        None,
    );
}

#[tokio::test]
async fn okta_replaces_users_whole_with_put() {
    let app = spawn_app().await;
    let user = create(&app, "E100").await;
    let id = user["id"].as_str().unwrap();
    // Okta's PUT: the whole resource, with `id`, without the enterprise extension or title.
    let okta = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": "E100",
        "name": {"givenName": "Zoé", "familyName": "Durand"},
        "emails": [{"primary": true, "value": "zoe.durand@chu.example", "type": "work"}],
        "displayName": "Zoé Durand",
        "locale": "fr-FR",
        "externalId": "00u1abcd",
        "groups": [],
        "active": true
    });
    let reply = put(&app, id, &okta).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let user = reply.json();
    assert_eq!(user["name"]["familyName"], "Durand");
    assert_eq!(user["externalId"], "00u1abcd");
    assert!(
        user.get("title").is_none(),
        "what a PUT leaves out is cleared"
    );
    assert!(user[ENTERPRISE].get("department").is_none());
    // userName is the HRIS id: it never changes.
    let mut renamed = okta.clone();
    renamed["userName"] = json!("E999");
    error(&put(&app, id, &renamed).await, 400, Some("mutability"));
    // Okta deactivates with a PUT (or a PATCH) of active false.
    let mut off = okta.clone();
    off["active"] = json!(false);
    let reply = put(&app, id, &off).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["active"], false);
    let okta_patch = patch(
        &app,
        id,
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await;
    assert_eq!(okta_patch.status, 200, "{}", okta_patch.text);
    assert_eq!(okta_patch.json()["active"], true);
    error(
        &put(&app, "0193a000-0000-7000-8000-000000000000", &okta).await,
        404,
        None,
    );
    let mut missing = okta.clone();
    missing.as_object_mut().unwrap().remove("emails");
    error(&put(&app, id, &missing).await, 400, Some("invalidValue"));
}

#[tokio::test]
async fn delete_deactivates_and_provisioning_again_reactivates() {
    let app = spawn_app().await;
    let user = create(&app, "E100").await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let gone = scim(
        &app,
        reqwest::Method::DELETE,
        &path,
        Some(&app.as_hris()),
        None,
    )
    .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    // Gone for SCIM (RFC 7644 §3.6): every operation on it is 404, lists leave it out.
    error(&get(&app, &path).await, 404, None);
    error(
        &patch(
            &app,
            id,
            json!([{"op": "Replace", "path": "title", "value": "T"}]),
        )
        .await,
        404,
        None,
    );
    error(&put(&app, id, &entra_user("E100")).await, 404, None);
    let again = scim(
        &app,
        reqwest::Method::DELETE,
        &path,
        Some(&app.as_hris()),
        None,
    )
    .await;
    error(&again, 404, None);
    assert_eq!(get(&app, "/Users").await.json()["totalResults"], 0);
    assert_eq!(
        get(&app, "/Users?filter=userName%20eq%20%22E100%22")
            .await
            .json()["totalResults"],
        0
    );
    // Deactivated (R11), never erased: the person and their record stay.
    let person = app
        .get(&format!("/api/v1/people/{id}"), Some(&app.as_coordinator()))
        .await;
    assert_eq!(person.status, 200, "{}", person.text);
    assert_eq!(person.json()["active"], false);
    assert_eq!(person.json()["given_name"], "Zoé");
    assert_eq!(app.get("/api/v1/me", Some(&as_("E100"))).await.status, 401);
    // Assigned again in the identity provider: a POST of the same userName reactivates.
    let again = post(&app, &entra_user("E100")).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json()["id"], user["id"], "the same person");
    assert_eq!(again.json()["active"], true);
    assert_ne!(app.get("/api/v1/me", Some(&as_("E100"))).await.status, 401);
    let unknown = scim(
        &app,
        reqwest::Method::DELETE,
        "/Users/0193a000-0000-7000-8000-000000000000",
        Some(&app.as_hris()),
        None,
    )
    .await;
    error(&unknown, 404, None);
}

#[tokio::test]
async fn a_manager_provisioned_later_is_linked_when_they_arrive() {
    let app = spawn_app().await;
    let mut report = entra_user("E200");
    // The identity provider names the manager before it has provisioned them.
    report[ENTERPRISE]["manager"] = json!({"value": "E001"});
    let report = post(&app, &report).await;
    assert_eq!(report.status, 201, "{}", report.text);
    let report_id = report.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(report.json()[ENTERPRISE]["manager"]["value"], "E001");
    let manager = create(&app, "E001").await;
    let read = get(&app, &format!("/Users/{report_id}")).await.json();
    assert_eq!(read[ENTERPRISE]["manager"]["value"], manager["id"]);
}

#[tokio::test]
async fn other_tokens_get_scim_401_and_403() {
    let app = spawn_app().await;
    error(
        &scim(&app, reqwest::Method::GET, "/Users", None, None).await,
        401,
        None,
    );
    error(
        &scim(
            &app,
            reqwest::Method::GET,
            "/Users",
            Some("not.a.jwt"),
            None,
        )
        .await,
        401,
        None,
    );
    for roles in [&["coordinator"][..], &["admin"], &[]] {
        let t = token("X001", roles);
        error(
            &scim(
                &app,
                reqwest::Method::GET,
                "/ServiceProviderConfig",
                Some(&t),
                None,
            )
            .await,
            403,
            None,
        );
        error(
            &scim(
                &app,
                reqwest::Method::POST,
                "/Users",
                Some(&t),
                Some(&entra_user("E1")),
            )
            .await,
            403,
            None,
        );
    }
}

/// R11 through SCIM: `active: "False"` (Entra ID's shape) locks the person out at once and
/// suspends their active pair.
#[tokio::test]
async fn deactivating_through_scim_suspends_pairs_and_refuses_tokens_at_once() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    assert_eq!(app.get("/api/v1/me", Some(&as_("MR"))).await.status, 200);
    let id = id_of(&app, "MR").await;
    let reply = patch(
        &app,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["active"], false);
    let refused = app.get("/api/v1/me", Some(&as_("MR"))).await;
    refused.problem(401, "unauthorized");
    let theirs = app
        .get(&format!("/api/v1/pairs/{}", pair.id), Some(&as_("ME")))
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(theirs.json()["status"], "suspended");
}

/// R1 through SCIM: the mentor becomes the mentee's manager by a PATCH of `manager`.
#[tokio::test]
async fn a_manager_patch_that_puts_the_mentor_above_the_mentee_flags_the_pair() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let mentor = id_of(&app, "MR").await;
    let mentee = id_of(&app, "ME").await;
    let reply = patch(
        &app,
        &mentee,
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": mentor}]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let seen = app
        .get(
            &format!("/api/v1/pairs/{}", pair.id),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(seen["flags"], json!(["hierarchy_conflict"]), "{seen}");
    // A manager link that closes a cycle is refused.
    let cycle = patch(
        &app,
        &mentor,
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": mentee}]),
    )
    .await;
    error(&cycle, 400, Some("invalidValue"));
}

/// PATCHes of different attributes of one user, at once: every one is kept (the person row
/// is locked from the read to the write). On PostgreSQL this failed before the lock: a
/// PATCH's write put back the other attributes as it had read them.
#[tokio::test]
async fn concurrent_patches_of_one_user_lose_no_update() {
    let app = spawn_app().await;
    for round in 0..4 {
        let user_name = format!("RACE-P{round}");
        let id = create(&app, &user_name).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let changes = [
            ("title", json!(format!("Titre {round}"))),
            (
                &*format!("{ENTERPRISE}:department"),
                json!(format!("Service {round}")),
            ),
            (
                "addresses[type eq \"work\"].formatted",
                json!(format!("Site {round}")),
            ),
            ("name.givenName", json!(format!("Prénom{round}"))),
            ("name.familyName", json!(format!("Nom{round}"))),
            ("externalId", json!(format!("ext-{round}"))),
            (
                "emails[type eq \"work\"].value",
                json!(format!("r{round}@chu.example")),
            ),
        ];
        let mut requests = Vec::new();
        // Each change sent twice: fourteen clients.
        for _ in 0..2 {
            for (path, value) in &changes {
                let body = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": path, "value": value}]});
                requests.push(
                    app.client
                        .patch(app.url(&format!("/scim/v2/Users/{id}")))
                        .bearer_auth(app.as_hris())
                        .header("content-type", "application/scim+json")
                        .body(body.to_string()),
                );
            }
        }
        let replies = crate::concurrency::all_at_once(&app, requests).await;
        for r in &replies {
            assert_eq!(r.status, 200, "{}", r.text);
        }
        let user = get(&app, &format!("/Users/{id}")).await.json();
        let seen = [
            user["title"].clone(),
            user[ENTERPRISE]["department"].clone(),
            user["addresses"][0]["formatted"].clone(),
            user["name"]["givenName"].clone(),
            user["name"]["familyName"].clone(),
            user["externalId"].clone(),
            user["emails"][0]["value"].clone(),
        ];
        for ((path, want), got) in changes.iter().zip(&seen) {
            assert_eq!(got, want, "round {round}: {path} lost ({user})");
        }
    }
}

/// Many POSTs of one `userName` at once: one `201`, the others `409 uniqueness`. On
/// PostgreSQL this failed before the fix: every POST answered `201`.
#[tokio::test]
async fn concurrent_posts_of_one_user_name_create_it_once() {
    let app = spawn_app().await;
    for round in 0..4 {
        let user_name = format!("RACE-C{round}");
        let requests: Vec<_> = (0..10)
            .map(|_| {
                app.client
                    .post(app.url("/scim/v2/Users"))
                    .bearer_auth(app.as_hris())
                    .header("content-type", "application/scim+json")
                    .body(entra_user(&user_name).to_string())
            })
            .collect();
        let replies = crate::concurrency::all_at_once(&app, requests).await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, 1, "round {round}: {created} answers 201");
        for r in replies.iter().filter(|r| r.status != 201) {
            error(r, 409, Some("uniqueness"));
        }
        let list = get(
            &app,
            &format!("/Users?filter=userName%20eq%20%22{user_name}%22"),
        )
        .await;
        assert_eq!(list.json()["totalResults"], 1);
    }
}

/// The names of the users a list answers, sorted.
fn user_names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn lists_filter_with_every_operator_over_user_name_external_id_active_and_emails() {
    let app = spawn_app().await;
    for name in ["NORD-1", "NORD-2", "SUD-1"] {
        create(&app, name).await;
    }
    let id = id_of(&app, "SUD-1").await;
    let off = patch(
        &app,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let cases = [
        (r#"userName sw "NORD""#, vec!["NORD-1", "NORD-2"]),
        (r#"userName ew "-1""#, vec!["NORD-1", "SUD-1"]),
        (r#"userName co "RD-""#, vec!["NORD-1", "NORD-2"]),
        (r#"userName ne "NORD-1""#, vec!["NORD-2", "SUD-1"]),
        (r#"externalId eq "aad-NORD-2""#, vec!["NORD-2"]),
        (r#"externalId pr"#, vec!["NORD-1", "NORD-2", "SUD-1"]),
        (r#"active eq false"#, vec!["SUD-1"]),
        (r#"active eq true and userName ew "1""#, vec!["NORD-1"]),
        (r#"emails co "sud-1@""#, vec!["SUD-1"]),
        (
            r#"emails.value ew "@CHU.example" and not (active eq true)"#,
            vec!["SUD-1"],
        ),
        (
            r#"userName eq "NORD-1" or (userName eq "SUD-1" and active eq false)"#,
            vec!["NORD-1", "SUD-1"],
        ),
    ];
    for (filter, want) in cases {
        let url = format!("/Users?filter={}", urlencode(filter));
        let list = get(&app, &url).await;
        assert_eq!(list.status, 200, "{filter}: {}", list.text);
        let list = list.json();
        assert_eq!(user_names(&list), want, "{filter}");
        assert_eq!(list["totalResults"], want.len(), "{filter}");
    }
    // Paging applies to what matched.
    let page = get(
        &app,
        &format!(
            "/Users?filter={}&count=1&startIndex=2",
            urlencode(r#"userName sw "NORD""#)
        ),
    )
    .await
    .json();
    assert_eq!(page["totalResults"], 2);
    assert_eq!(user_names(&page), vec!["NORD-2"]);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(app: &TestApp, path: &str, body: &Value) -> Reply {
    scim(
        app,
        reqwest::Method::POST,
        path,
        Some(&app.as_hris()),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn post_search_queries_users_with_a_search_request() {
    let app = spawn_app().await;
    for name in ["NORD-1", "NORD-2", "SUD-1"] {
        create(&app, name).await;
    }
    for path in ["/Users/.search", "/.search"] {
        let found = search(
            &app,
            path,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName sw \"NORD\"",
                "attributes": ["userName", "emails"],
                "startIndex": 1,
                "count": 10
            }),
        )
        .await;
        assert_eq!(found.status, 200, "{path}: {}", found.text);
        let found = found.json();
        assert_eq!(
            found["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(user_names(&found), vec!["NORD-1", "NORD-2"]);
        let first = &found["Resources"][0];
        assert!(
            first["emails"].is_array() && first.get("title").is_none(),
            "{first}"
        );
        let without = search(
            &app,
            path,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "excludedAttributes": ["title"],
            }),
        )
        .await
        .json();
        assert_eq!(without["totalResults"], 3);
        assert!(without["Resources"][0].get("title").is_none());
        assert!(without["Resources"][0].get("userName").is_some());
    }
    error(
        &search(&app, "/Users/.search", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "title eq \"x\""})).await,
        400,
        Some("invalidFilter"),
    );
    error(
        &search(&app, "/Users/.search", &json!({"filter": "userName pr"})).await,
        400,
        Some("invalidSyntax"),
    );
}

#[tokio::test]
async fn multi_valued_emails_and_addresses_are_kept_as_sent() {
    let app = spawn_app().await;
    let mut user = entra_user("E1");
    user["emails"] = json!([
        {"value": "zoe@home.example", "type": "home"},
        {"value": "zoe.lefevre@chu.example", "type": "work", "primary": true, "display": "Zoé (travail)"}
    ]);
    user["addresses"] = json!([
        {"type": "home", "formatted": "12 rue des Lilas", "locality": "Lille"},
        {"type": "work", "formatted": "Hôpital Nord"}
    ]);
    let created = post(&app, &user).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["emails"], user["emails"]);
    assert_eq!(created["addresses"], user["addresses"]);
    let id = created["id"].as_str().unwrap().to_owned();
    // The person's email and site are the primary email and the work address.
    let person = app
        .get(&format!("/api/v1/people/{id}"), Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(person["email"], "zoe.lefevre@chu.example");
    assert_eq!(person["site"], "Hôpital Nord");
    // Add appends; the new primary becomes the person's email.
    let added = patch(&app, &id, json!([{"op": "add", "path": "emails", "value": [{"value": "z@other.example", "type": "other", "primary": true}]}])).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let emails = added.json()["emails"].clone();
    assert_eq!(emails.as_array().unwrap().len(), 3);
    assert_eq!(emails[1]["primary"], false);
    let person = app
        .get(&format!("/api/v1/people/{id}"), Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(person["email"], "z@other.example");
    // Entra's filtered path changes the work value only.
    let changed = patch(&app, &id, json!([{"op": "Replace", "path": "addresses[type eq \"work\"].formatted", "value": "Hôpital Sud"}])).await.json();
    assert_eq!(changed["addresses"][0]["formatted"], "12 rue des Lilas");
    assert_eq!(changed["addresses"][1]["formatted"], "Hôpital Sud");
    // The people API changes the email: SCIM shows it in the value it came from.
    let ext = app
        .put_json(
            "/api/v1/people/by-external-id/E1",
            Some(&app.as_hris()),
            &json!({"given_name": "Zoé", "family_name": "Lefèvre", "email": "moved@chu.example", "site": "Hôpital Sud"}),
        )
        .await;
    assert!(ext.status == 200 || ext.status == 201, "{}", ext.text);
    let shown = get(&app, &format!("/Users/{id}")).await.json();
    assert_eq!(shown["emails"][2]["value"], "moved@chu.example");
    assert_eq!(shown["emails"][0]["value"], "zoe@home.example");
}

#[tokio::test]
async fn removing_active_unassigns_it_and_the_person_stays_or_becomes_active() {
    let app = spawn_app().await;
    let id = create(&app, "E1").await["id"].as_str().unwrap().to_owned();
    let off = patch(
        &app,
        &id,
        json!([{"op": "Replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(off.json()["active"], false);
    let removed = patch(&app, &id, json!([{"op": "Remove", "path": "active"}])).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert!(removed.json().get("active").is_none(), "{}", removed.text);
    assert!(
        get(&app, &format!("/Users/{id}"))
            .await
            .json()
            .get("active")
            .is_none()
    );
    let person = app
        .get(&format!("/api/v1/people/{id}"), Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(person["active"], true);
    // Assigned again, it shows again.
    let on = patch(
        &app,
        &id,
        json!([{"op": "Add", "path": "active", "value": "True"}]),
    )
    .await;
    assert_eq!(on.json()["active"], true);
}

/// Issue 14 (speed): a `POST /Users` of a new user who names a manager is a bounded number of
/// statements — the request's own, read off the service's `mentorat_http_request_db_statements`
/// (10.0 a POST in the benchmark of 2026-12-03; the person is now written with `RETURNING`
/// and what SCIM keeps of them is not read back).
#[tokio::test]
async fn a_new_user_is_provisioned_in_a_bounded_number_of_statements() {
    let app = mentorat_tests::spawn_app().await;
    let manager = create(&app, "BOSS").await;
    let sum_count = |text: &str| {
        let read = |series: &str| {
            let prefix = format!(
                "mentorat_http_request_db_statements_{series}{{method=\"POST\",route=\"/scim/v2/Users\"}} "
            );
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .map_or(0.0, |v| v.trim().parse::<f64>().unwrap())
        };
        (read("sum"), read("count"))
    };
    let (sum0, count0) = sum_count(&app.get("/metrics", None).await.text);
    for n in 0..3 {
        let mut user = entra_user(&format!("REPORT{n}"));
        user[ENTERPRISE]["manager"] = json!({"value": manager["id"]});
        let reply = post(&app, &user).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(reply.json()["userName"], format!("REPORT{n}"));
        assert_eq!(reply.json()[ENTERPRISE]["manager"]["value"], manager["id"]);
    }
    let (sum1, count1) = sum_count(&app.get("/metrics", None).await.text);
    assert_eq!(count1 - count0, 3.0);
    let per_post = (sum1 - sum0) / 3.0;
    println!("statements per POST /Users: {per_post}");
    assert!(per_post <= 8.0, "a POST /Users took {per_post} statements");
}

/// Every value of `emails` is an address and every sub-attribute a string (`primary` a
/// boolean): what the OpenAPI document's User schema says, so that the fuzzer's schema-invalid
/// users are refused, not half-kept.
#[tokio::test]
async fn every_multi_valued_value_is_checked_not_only_the_one_kept_on_the_person() {
    let app = spawn_app().await;
    let mut bad_second_email = entra_user("E1");
    bad_second_email["emails"] = json!([
        {"value": "zoe.lefevre@chu.example", "type": "work", "primary": true},
        {"value": "not an address", "type": "home"}
    ]);
    error(
        &post(&app, &bad_second_email).await,
        400,
        Some("invalidValue"),
    );
    let mut number = entra_user("E1");
    number["addresses"] =
        json!([{"type": "work", "formatted": "Hôpital Nord", "postalCode": 59000}]);
    error(&post(&app, &number).await, 400, Some("invalidValue"));
    let mut primary = entra_user("E1");
    primary["emails"][0]["primary"] = json!("maybe");
    error(&post(&app, &primary).await, 400, Some("invalidValue"));
    let mut long_home = entra_user("E1");
    long_home["addresses"] = json!([
        {"type": "work", "formatted": "Hôpital Nord", "primary": true},
        {"type": "home", "formatted": "x".repeat(101)}
    ]);
    error(&post(&app, &long_home).await, 400, Some("invalidValue"));
    let mut spaced = entra_user("E1");
    spaced["userName"] = json!(" E1");
    error(&post(&app, &spaced).await, 400, Some("invalidValue"));
    let mut schemas = entra_user("E1");
    schemas["schemas"] = json!("urn:ietf:params:scim:schemas:core:2.0:User");
    error(&post(&app, &schemas).await, 400, Some("invalidSyntax"));
    // Nothing was written; the same user, well formed, is created.
    let mut fine = entra_user("E1");
    fine[ENTERPRISE]["costCenter value"] = json!("ignored, as RFC 7644 §3.3 allows");
    fine["name"]["honorific Prefix"] = json!("ignored too");
    assert_eq!(post(&app, &fine).await.status, 201);
}

/// A PatchOp or a SearchRequest names its message's URN and nothing else.
#[tokio::test]
async fn a_patch_op_names_only_its_urn() {
    let app = spawn_app().await;
    let id = create(&app, "E1").await["id"].as_str().unwrap().to_owned();
    let reply = scim(
        &app,
        reqwest::Method::PATCH,
        &format!("/Users/{id}"),
        Some(&app.as_hris()),
        Some(&json!({"schemas": [PATCH, "urn:other"], "Operations": []})),
    )
    .await;
    error(&reply, 400, Some("invalidSyntax"));
}

/// Every failure under `/scim/v2` is a SCIM error document, also those a layer below the
/// handlers answers (a method the path does not take).
#[tokio::test]
async fn a_refusal_below_the_scim_handlers_is_a_scim_error_document() {
    let app = spawn_app().await;
    let reply = scim(
        &app,
        reqwest::Method::DELETE,
        "/Users",
        Some(&app.as_hris()),
        None,
    )
    .await;
    error(&reply, 405, None);
    assert!(reply.header("allow").is_some_and(|a| a.contains("POST")));
}

/// Issue 14: the SCIM operations are in the document under the `SCIM` tag with exact schemas:
/// their bodies in both media types, their answers, and every error a SCIM error document.
#[test]
fn scim_operations_are_documented_with_exact_schemas() {
    let doc = serde_json::to_value(mentorat_api::openapi()).unwrap();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/scim/v2") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            seen += 1;
            assert_eq!(op["tags"], json!(["SCIM"]), "{method} {path}");
            assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
            if let Some(body) = op.get("requestBody") {
                for media in ["application/scim+json", "application/json"] {
                    let schema = &body["content"][media]["schema"]["$ref"];
                    assert!(
                        schema
                            .as_str()
                            .is_some_and(|s| s.starts_with("#/components/schemas/Scim")),
                        "{method} {path} {media}: {body}"
                    );
                }
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                let content = &response["content"];
                if status == "204" {
                    continue;
                }
                let schema = content["application/scim+json"]["schema"]["$ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} {status}: {response}"));
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        schema, "#/components/schemas/ScimError",
                        "{method} {path} {status}"
                    );
                } else {
                    assert!(
                        schema.starts_with("#/components/schemas/Scim"),
                        "{method} {path}"
                    );
                }
            }
            for status in ["401", "403", "429", "500", "503"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert_eq!(seen, 13);
    let error = &doc["components"]["schemas"]["ScimError"];
    assert_eq!(error["properties"]["status"]["type"], "string");
    assert!(
        error["properties"]["scimType"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("uniqueness"))
    );
}

/// R1 over time: a newcomer whom someone already names as manager is the missing link of a
/// chain, so their arrival re-checks the active pairs; a newcomer nobody names cannot
/// change any pair member's chain, and the re-check is skipped
/// (`a_new_user_is_provisioned_in_a_bounded_number_of_statements`).
#[tokio::test]
async fn a_newcomer_who_is_the_missing_link_of_a_chain_flags_the_pair() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let mentor = id_of(&app, "MR").await;
    let mentee = id_of(&app, "ME").await;
    // The mentee's manager is named before they are provisioned: no link yet.
    let reply = patch(
        &app,
        &mentee,
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "MID"}]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let flags =
        async |app: &TestApp| -> Value { coordinator_view(app, &pair).await["flags"].clone() };
    assert_eq!(flags(&app).await, json!([]));
    // A newcomer nobody names, managed by the mentor: no chain of a pair member changes.
    let mut aside = entra_user("ASIDE");
    aside[ENTERPRISE]["manager"] = json!({"value": mentor});
    assert_eq!(post(&app, &aside).await.status, 201);
    assert_eq!(flags(&app).await, json!([]));
    // MID arrives, managed by the mentor: the mentor is now in the mentee's chain.
    let mut mid = entra_user("MID");
    mid[ENTERPRISE]["manager"] = json!({"value": mentor});
    assert_eq!(post(&app, &mid).await.status, 201);
    assert_eq!(flags(&app).await, json!(["hierarchy_conflict"]));
}

/// An erased person (R14) is nobody's SCIM user any more: their row stays only as a
/// pseudonym, so reading, replacing, patching or deleting it is `404` (a blank email would
/// otherwise make a PATCH a `400` about the email), and no list shows it.
#[tokio::test]
async fn an_erased_person_is_no_scim_user() {
    let app = spawn_app().await;
    let id = create(&app, "ERASED1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_json(
        &format!("/api/v1/people/{id}/erasure"),
        Some(&app.as_admin()),
        &json!({}),
    )
    .await
    .ok();
    let path = format!("/Users/{id}");
    error(&get(&app, &path).await, 404, None);
    error(&patch(&app, &id, json!([])).await, 404, None);
    error(
        &patch(
            &app,
            &id,
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await,
        404,
        None,
    );
    error(&put(&app, &id, &entra_user("ERASED1")).await, 404, None);
    let delete = scim(
        &app,
        reqwest::Method::DELETE,
        &path,
        Some(&app.as_hris()),
        None,
    )
    .await;
    error(&delete, 404, None);
    let all = get(&app, "/Users").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert!(
        !all.text.contains(&id),
        "the erased person is listed: {}",
        all.text
    );
    let by_id = get(&app, &format!("/Users?filter=id%20eq%20%22{id}%22")).await;
    assert_eq!(by_id.json()["totalResults"], 0, "{}", by_id.text);
}

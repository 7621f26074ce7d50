use mentorat_tests::spawn_app;
use serde_json::Value;

fn committed() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.json is committed");
    serde_json::from_str(&text).expect("openapi/openapi.json is JSON")
}

/// The committed document is what the code generates. When this fails, regenerate it:
/// `cargo run -p mentorat -- openapi --output openapi/openapi.json`.
#[test]
fn committed_openapi_document_matches_the_code() {
    let generated = serde_json::to_value(mentorat_api::openapi()).unwrap();
    assert!(
        generated == committed(),
        "openapi/openapi.json is stale: run `cargo run -p mentorat -- openapi --output openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let app = spawn_app().await;
    let reply = app.get("/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), committed());
}

#[test]
fn the_document_is_openapi_3_1_with_bearer_auth_and_problems_everywhere() {
    let doc = serde_json::to_value(mentorat_api::openapi()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/programs"));
    assert!(paths.contains_key("/api/v1/programs/{id}"));
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                for status in ["401", "403", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
    // #[validate] bounds reach the schema.
    let create = &doc["components"]["schemas"]["CreateProgram"]["properties"];
    assert_eq!(create["cadence_days"]["minimum"], 1);
    assert_eq!(create["cadence_days"]["maximum"], 365);
    assert_eq!(create["name"]["maxLength"], 200);
}

/// What every OpenAPI validator and client generator checks first (issue 13): every response
/// has a description, every `$ref` names something the document holds, every operation says
/// whether it takes a token (`security: []` on the open ones), and there is a server. CI
/// runs `openapi-spec-validator` on the committed file too.
#[test]
fn the_document_is_complete_for_validators_and_generators() {
    let doc = serde_json::to_value(mentorat_api::openapi()).unwrap();
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        out.extend(v.as_str());
                    } else {
                        refs(v, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').expect("local references only");
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["security"].is_array(),
                "{method} {path} does not say whether it takes a token"
            );
            let summary = op["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.contains('`'),
                "{method} {path}: a summary is plain text, shown raw: {summary}"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                if response.get("$ref").is_none() {
                    let description = response["description"].as_str().unwrap_or_default();
                    assert!(
                        !description.trim().is_empty(),
                        "{method} {path} {status} has no description"
                    );
                }
            }
        }
    }
    assert!(!doc["servers"].as_array().unwrap().is_empty());
    // The headers clients rely on are in the contract: Idempotency-Key on every POST (it was
    // on 1 of 20), Retry-After on 503, Link on the pages of lists.
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(post) = item.get("post") {
            let declared = post["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
            });
            assert!(declared, "POST {path} does not declare Idempotency-Key");
        }
    }
    assert!(doc["components"]["responses"]["Unavailable"]["headers"]["Retry-After"].is_object());
    assert!(
        doc["paths"]["/api/v1/pairs"]["get"]["responses"]["200"]["headers"]["Link"].is_object()
    );
    assert_eq!(
        doc["paths"]["/healthz"]["get"]["security"],
        serde_json::json!([])
    );
}

/// A generated client can make the conditional requests the API honours without a cast:
/// every GET that may answer `304` declares `If-None-Match` (openapi-typescript typed the header
/// `never` on all seven), and no header parameter is nullable (a header is absent or a string;
/// `If-Match` was typed `string | null`).
#[test]
fn conditional_request_headers_are_declared_as_strings() {
    let doc = committed();
    let mut conditional_gets = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in parameters.iter().filter(|p| p["in"] == "header") {
                assert_eq!(
                    p["schema"]["type"], "string",
                    "{method} {path}: header {} is not a plain string",
                    p["name"]
                );
                assert_ne!(
                    p["required"], true,
                    "{method} {path}: header {} required",
                    p["name"]
                );
            }
            if method == "get" && op["responses"].get("304").is_some() {
                conditional_gets += 1;
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == "If-None-Match" && p["in"] == "header"),
                    "GET {path} answers 304 but does not declare If-None-Match"
                );
            }
        }
    }
    assert!(conditional_gets >= 7, "{conditional_gets} GETs answer 304");
}

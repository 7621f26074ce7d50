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
            // SCIM reads its bodies whatever their media type and refuses with `400`
            // (RFC 7644 §3.12): no 415, no 422.
            let body_statuses: &[&str] = if path.starts_with("/scim/") {
                &["400", "413"]
            } else {
                &["400", "413", "415", "422"]
            };
            if op.get("requestBody").is_some() {
                for status in body_statuses {
                    assert!(
                        responses.contains_key(*status),
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
    assert!(
        doc["paths"]["/api/v1/pairs"]["get"]["responses"]["503"]["headers"]["Retry-After"]
            .is_object()
    );
    assert!(
        doc["paths"]["/scim/v2/Users"]["post"]["responses"]["503"]["headers"]["Retry-After"]
            .is_object()
    );
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

/// Issue 13: every operation's problem responses list the `code`s they can carry there, from
/// the one `ErrorCode` type — the rules of the operation's own use case, and none of another
/// operation's.
#[test]
fn each_operation_lists_its_own_problem_codes() {
    let doc = serde_json::to_value(mentorat_api::openapi()).unwrap();
    let codes = |path: &str, method: &str, status: &str| -> Vec<String> {
        let mut schema = &doc["paths"][path][method]["responses"][status]["content"]["application/problem+json"]
            ["schema"];
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            schema = &doc["components"]["schemas"][name];
        }
        schema["allOf"][1]["properties"]["code"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} {status} lists no codes: {schema}"))
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    let propose = codes("/api/v1/programs/{id}/pairs", "post", "422");
    for rule in ["role_mismatch", "hierarchical_pair", "validation_failed"] {
        assert!(propose.contains(&rule.to_owned()), "{propose:?}");
    }
    assert!(
        !propose.contains(&"private_location".to_owned()),
        "{propose:?}"
    );
    let schedule = codes("/api/v1/pairs/{id}/meetings", "post", "422");
    assert!(schedule.contains(&"private_location".to_owned()));
    assert!(!schedule.contains(&"role_mismatch".to_owned()));
    assert_eq!(
        codes("/api/v1/programs/{id}", "patch", "412"),
        ["precondition_failed"]
    );
    let conflicts = codes("/api/v1/programs/{id}/enrollments", "post", "409");
    assert!(conflicts.contains(&"already_enrolled".to_owned()));
    assert!(!conflicts.contains(&"meeting_overlap".to_owned()));
    // Every code of every operation is a code of `ErrorCode`, under the status it is
    // answered with; every operation id the refusal table names is an operation.
    let all: Vec<&str> = mentorat_domain::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ids.push(op["operationId"].as_str().unwrap().to_owned());
            if path.starts_with("/scim/") {
                continue;
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                for code in codes(path, method, status) {
                    let code = mentorat_domain::ErrorCode::parse(&code)
                        .unwrap_or_else(|| panic!("{code} is no ErrorCode"));
                    assert!(all.contains(&code.as_str()));
                    assert_eq!(
                        mentorat_api::refusals::status_of(code).as_str(),
                        status,
                        "{method} {path}: {response}"
                    );
                }
            }
        }
    }
    for named in mentorat_api::refusals::NAMED {
        assert!(ids.iter().any(|id| id == named), "{named} is no operation");
    }
}

/// Issue 13: `traceparent` and `X-Request-Id`, sent on every answer, are documented on every
/// answer.
#[test]
fn every_response_documents_the_trace_headers() {
    let doc = serde_json::to_value(mentorat_api::openapi()).unwrap();
    let components = &doc["components"]["responses"];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(r) => &components[r.rsplit('/').next().unwrap()],
                    None => response,
                };
                for header in ["traceparent", "X-Request-Id"] {
                    assert!(
                        response["headers"].get(header).is_some(),
                        "{method} {path} {status} lacks {header}"
                    );
                }
            }
        }
    }
}

/// Issue 13: "correct links for stateful testing". A created resource links to the
/// operations on it; every link names an operation of the document and fills exactly that
/// operation's path parameters, from fields the answer has.
#[test]
fn created_resources_link_to_the_operations_on_them() {
    let doc = serde_json::to_value(mentorat_api::openapi()).unwrap();
    let mut operations = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for op in item.as_object().unwrap().values() {
            operations.insert(op["operationId"].as_str().unwrap().to_owned(), (path, op));
        }
    }
    let schema_of = |response: &Value| {
        let r = response["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_default();
        doc["components"]["schemas"][r.rsplit('/').next().unwrap()].clone()
    };
    let mut links = 0;
    for (id, (_, op)) in &operations {
        for (status, response) in op["responses"].as_object().unwrap() {
            let Some(found) = response.get("links").and_then(Value::as_object) else {
                continue;
            };
            let schema = schema_of(response);
            for (name, link) in found {
                links += 1;
                let target = link["operationId"].as_str().unwrap();
                let (target_path, _) = operations
                    .get(target)
                    .unwrap_or_else(|| panic!("{id} {status} {name}: no operation {target}"));
                let wanted: Vec<&str> = target_path
                    .split('{')
                    .skip(1)
                    .map(|s| s.split('}').next().unwrap())
                    .collect();
                let parameters = link["parameters"].as_object().unwrap();
                let mut given: Vec<&str> = parameters.keys().map(String::as_str).collect();
                given.sort();
                let mut wanted_sorted = wanted.clone();
                wanted_sorted.sort();
                assert_eq!(given, wanted_sorted, "{id} {status} {name}");
                for expression in parameters.values() {
                    let field = expression
                        .as_str()
                        .unwrap()
                        .strip_prefix("$response.body#/")
                        .unwrap();
                    assert!(
                        schema["properties"].get(field).is_some(),
                        "{id} {status} {name}: the answer has no {field}"
                    );
                }
            }
        }
    }
    assert!(links >= 20, "{links} links");
    let created = &doc["paths"]["/api/v1/programs/{id}/pairs"]["post"]["responses"]["201"];
    assert_eq!(created["links"]["GetPair"]["operationId"], "get_pair");
    assert_eq!(
        created["links"]["GetPair"]["parameters"]["id"],
        "$response.body#/id"
    );
}

/// A text the domain trims and then refuses when empty is documented with a `pattern`
/// (`vocabulary::NOT_BLANK`), so a generator or fuzzer does not take `"\n"` for valid: the
/// schemathesis run of 2026-12-03 sent a charter `{"text": "\n"}` and was right to complain.
#[test]
fn texts_that_may_not_be_blank_say_so_in_their_schema() {
    fn walk(at: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                let is_string = map.get("type") == Some(&Value::from("string"))
                    || map
                        .get("type")
                        .and_then(Value::as_array)
                        .is_some_and(|t| t.contains(&Value::from("string")));
                let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0);
                if is_string
                    && min >= 1
                    && !map.contains_key("pattern")
                    && !map.contains_key("format")
                {
                    out.push(at.to_owned());
                }
                for (k, child) in map {
                    walk(&format!("{at}/{k}"), child, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(&format!("{at}/{i}"), child, out);
                }
            }
            _ => {}
        }
    }
    let doc = committed();
    let mut unguarded = Vec::new();
    walk(
        "#/components/schemas",
        &doc["components"]["schemas"],
        &mut unguarded,
    );
    walk("#/paths", &doc["paths"], &mut unguarded);
    assert!(
        unguarded.is_empty(),
        "strings with minLength and no pattern (a blank one would pass the schema): {unguarded:#?}"
    );
}

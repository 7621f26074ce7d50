//! What a request that matched no route gets: `405` with `Allow` when the path exists with
//! other methods, `404` otherwise — both as problem documents. The table of paths comes from
//! the OpenAPI document, so it knows every route without being kept by hand.

use actix_web::{HttpRequest, HttpResponse, dev::ResourceDef, web};

use crate::problem::ApiError;

pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(m, _)| m.to_owned())
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods of the resource whose path is written out in full as `path`
    /// (`/people/import`), if there is one.
    pub fn exact(&self, path: &str) -> Option<Vec<String>> {
        self.routes
            .iter()
            .find(|(def, _)| !def.is_prefix() && def.pattern() == Some(path))
            .map(|(_, methods)| methods.clone())
    }

    fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let matching: Vec<&(ResourceDef, Vec<String>)> = self
            .routes
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .collect();
        // A path written out in full (`/people/import`) is that resource, not an instance of
        // a template it also fits (`/people/{id}`): its methods only.
        let exact: Vec<_> = matching
            .iter()
            .copied()
            .filter(|(def, _)| !def.is_prefix() && def.pattern() == Some(path))
            .collect();
        let chosen = if exact.is_empty() { matching } else { exact };
        let mut allow: Vec<String> = chosen
            .into_iter()
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        if allow.is_empty() {
            return None;
        }
        allow.sort();
        allow.dedup();
        Some(allow)
    }
}

pub async fn not_routed(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if path.starts_with("/scim/v2/") && table.allowed(path).is_none() {
        // SCIM clients read SCIM error documents (RFC 7644 §3.12), Groups and /.search included.
        return Ok(crate::routes::scim::not_found(path));
    }
    let docs = path == "/openapi.json" || path.starts_with("/docs/");
    Err(match table.allowed(path) {
        Some(allow) => ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        },
        None if docs => ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow: vec!["GET".into()],
        },
        None => ApiError::NotFound(format!("there is no resource at {path}")),
    })
}

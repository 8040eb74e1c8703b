//! The contract as a served artifact (spec §4.3, §4.4): the OpenAPI document built into the
//! binary, and a Swagger UI page whose assets are built in too, so it works without internet;
//! also the AsyncAPI document of the event stream and the broker messages.
//! Every route here is public and touches no database.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::api::handlers::route_not_found_error;
use crate::error::ApiError;

/// `openapi/openapi.yaml` exactly as committed (generated from `typespec/`).
pub const YAML: &[u8] = include_bytes!("../../openapi/openapi.yaml");

/// The same document as compact JSON, rendered by `build.rs`.
pub const JSON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// `openapi/asyncapi.yaml` (the watch stream and the broker messages, written by hand: TypeSpec
/// does not emit AsyncAPI) as compact JSON, rendered by `build.rs`.
pub const ASYNCAPI_JSON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/asyncapi.json"));

/// Where the page loads the document and its assets from; absolute, so the page works under both
/// of its paths.
const DOCUMENT_PATH: &str = "/api/hyperfleet/v1/openapi";

/// The only assets served (§4.4); anything else under the assets path is an unknown route.
const ASSETS: &[(&str, &str)] = &[("swagger-ui-bundle.js", "application/javascript"), ("swagger-ui.css", "text/css")];

/// `validatorUrl: null` keeps Swagger UI from sending the document to the public validator.
const PAGE: &str = concat!(
    "<!DOCTYPE html>\n",
    "<html lang=\"en\">\n",
    "<head>\n",
    "<meta charset=\"utf-8\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<title>HyperFleet API</title>\n",
    "<link rel=\"stylesheet\" href=\"/api/hyperfleet/v1/swagger-ui/swagger-ui.css\">\n",
    "</head>\n",
    "<body>\n",
    "<div id=\"swagger-ui\"></div>\n",
    "<script src=\"/api/hyperfleet/v1/swagger-ui/swagger-ui-bundle.js\"></script>\n",
    "<script>\n",
    "window.ui = SwaggerUIBundle({\n",
    "  url: \"/api/hyperfleet/v1/openapi\",\n",
    "  dom_id: \"#swagger-ui\",\n",
    "  deepLinking: true,\n",
    "  validatorUrl: null,\n",
    "  presets: [SwaggerUIBundle.presets.apis],\n",
    "  layout: \"BaseLayout\"\n",
    "});\n",
    "</script>\n",
    "</body>\n",
    "</html>\n",
);

fn answer(content_type: &'static str, body: impl MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type))).body(body)
}

/// `GET /api/hyperfleet/v1/openapi` and `GET /openapi`.
pub async fn get_openapi() -> HttpResponse {
    answer("application/json", JSON)
}

/// `GET /api/hyperfleet/v1/asyncapi`.
pub async fn get_asyncapi() -> HttpResponse {
    answer("application/json", ASYNCAPI_JSON)
}

/// `GET /api/hyperfleet/v1/openapi.html` and `GET /openapi-ui`.
pub async fn get_openapi_ui() -> HttpResponse {
    answer("text/html", PAGE.as_bytes())
}

/// `GET /api/hyperfleet/v1/swagger-ui/{file}`.
pub async fn get_swagger_ui_asset(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let name = req.match_info().get("file").unwrap_or_default();
    let asset = ASSETS
        .iter()
        .find(|(file, _)| *file == name)
        .and_then(|(file, content_type)| asset_bytes(file).map(|bytes| (*content_type, bytes)));
    match asset {
        Some((content_type, Cow::Borrowed(bytes))) => Ok(answer(content_type, bytes)),
        Some((content_type, Cow::Owned(bytes))) => Ok(answer(content_type, bytes)),
        None => Err(route_not_found_error(&req)),
    }
}

/// A file of the Swagger UI distribution that `utoipa-swagger-ui` embeds (also in debug builds:
/// feature `debug-embed`), borrowed from the binary.
fn asset_bytes(file: &str) -> Option<Cow<'static, [u8]>> {
    let config = Arc::new(utoipa_swagger_ui::Config::new([DOCUMENT_PATH]));
    utoipa_swagger_ui::serve(file, config).ok().flatten().map(|f| f.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_json_is_the_embedded_yaml() {
        let json: serde_json::Value = serde_json::from_slice(JSON).unwrap();
        assert_eq!(json["openapi"], "3.0.0");
        assert_eq!(json["info"]["title"], "HyperFleet API");
        assert!(std::str::from_utf8(YAML).unwrap().starts_with("openapi: 3.0.0\n"));
    }

    #[test]
    fn the_page_loads_only_assets_the_service_serves() {
        assert!(PAGE.contains(&format!("url: \"{DOCUMENT_PATH}\"")));
        for (file, _) in ASSETS {
            assert!(PAGE.contains(&format!("\"/api/hyperfleet/v1/swagger-ui/{file}\"")), "{file}");
            let bytes = asset_bytes(file).expect("the asset is embedded");
            assert!(matches!(bytes, Cow::Borrowed(b) if b.len() > 1000), "{file} is borrowed from the binary");
        }
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"), "no external resources");
    }
}

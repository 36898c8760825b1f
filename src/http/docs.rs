//! Swagger UI at `/docs`, from the files vendored into utoipa-swagger-ui at build
//! time (nothing is fetched from the network), pointed at `/openapi.json`.

use std::sync::Arc;

use poem::error::NotFoundError;
use poem::http::{header, StatusCode};
use poem::web::{Data, Path, Redirect};
use poem::{handler, Endpoint, EndpointExt, IntoResponse, Response, Route};
use utoipa_swagger_ui::Config;

pub fn swagger_ui() -> impl Endpoint {
    let config = Arc::new(
        Config::new(["/openapi.json"])
            // Keep the bearer token across page reloads.
            .persist_authorization(true)
            .try_it_out_enabled(true)
            .display_request_duration(true),
    );
    Route::new().at("/*path", serve.data(config))
}

#[handler]
fn serve(
    Path(path): Path<String>,
    Data(config): Data<&Arc<Config<'static>>>,
) -> poem::Result<Response> {
    // The page's assets are relative links, so it must be loaded from its own URL.
    if path.is_empty() {
        return Ok(Redirect::permanent("/docs/index.html").into_response());
    }
    match utoipa_swagger_ui::serve(&path, config.clone()) {
        Ok(Some(file)) => Ok(Response::builder()
            .header(header::CONTENT_TYPE, file.content_type)
            .header(header::CACHE_CONTROL, "no-cache")
            .body(file.bytes.to_vec())),
        Ok(None) => Err(NotFoundError.into()),
        Err(e) => Err(poem::Error::from_string(
            format!("swagger ui: {e}"),
            StatusCode::INTERNAL_SERVER_ERROR,
        )),
    }
}

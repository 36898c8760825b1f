//! The framework floor for `make bench`: a bare poem server that answers the same
//! JSON bytes Bazaar answered for a product and for a list page, with nothing in
//! between (no pipeline, no storage, no serialisation). Bazaar's throughput as a
//! share of this one's is what the service itself costs.
//!
//! Usage: `bazaar-floor <addr> <product.json> <list.json>`

use poem::http::header::CONTENT_TYPE;
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{get, handler, EndpointExt, Response, Route, Server};

#[derive(Clone)]
struct Bodies {
    product: bytes::Bytes,
    list: bytes::Bytes,
}

fn json(body: bytes::Bytes) -> Response {
    Response::builder()
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body)
}

#[handler]
fn product(bodies: Data<&Bodies>) -> Response {
    json(bodies.product.clone())
}

#[handler]
fn list(bodies: Data<&Bodies>) -> Response {
    json(bodies.list.clone())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, product_file, list_file] = args.as_slice() else {
        anyhow::bail!("usage: bazaar-floor <addr> <product.json> <list.json>");
    };
    let bodies = Bodies {
        product: std::fs::read(product_file)?.into(),
        list: std::fs::read(list_file)?.into(),
    };
    let app = Route::new()
        .at("/api/v1/products/:id", get(product))
        .at("/api/v1/products", get(list))
        .data(bodies);
    Server::new(TcpListener::bind(addr.as_str()))
        .run(app)
        .await?;
    Ok(())
}

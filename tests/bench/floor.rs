//! The framework floor for `make bench`: a bare poem server that answers the same
//! JSON bytes Bazaar answered for a product, a list page and `/users/me`, with nothing in
//! between (no pipeline, no storage, no serialisation). Bazaar's throughput as a
//! share of this one's is what the service itself costs.
//!
//! Usage: `bazaar-floor <addr> <product.json> <list.json> <me.json>`

use poem::http::header::CONTENT_TYPE;
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{get, handler, EndpointExt, Response, Route, Server};

#[derive(Clone)]
struct Bodies {
    product: bytes::Bytes,
    list: bytes::Bytes,
    me: bytes::Bytes,
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

#[handler]
fn me(bodies: Data<&Bodies>) -> Response {
    json(bodies.me.clone())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, product_file, list_file, me_file] = args.as_slice() else {
        anyhow::bail!("usage: bazaar-floor <addr> <product.json> <list.json> <me.json>");
    };
    let bodies = Bodies {
        product: std::fs::read(product_file)?.into(),
        list: std::fs::read(list_file)?.into(),
        me: std::fs::read(me_file)?.into(),
    };
    let app = Route::new()
        .at("/api/v1/products/:id", get(product))
        .at("/api/v1/products", get(list))
        .at("/api/v1/users/me", get(me))
        .data(bodies);
    Server::new(TcpListener::bind(addr.as_str()))
        .run(app)
        .await?;
    Ok(())
}

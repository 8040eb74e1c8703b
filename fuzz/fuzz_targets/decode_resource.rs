//! Create and PATCH bodies of clusters and node pools: decoded, or refused with a 400 whose body
//! renders. Never a panic, never another status.
#![no_main]

use actix_web::ResponseError;
use hyperfleet::api::decode::resources::{decode_create, decode_patch};
use hyperfleet::search::ResourceKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in [ResourceKind::Cluster, ResourceKind::NodePool] {
        if let Err(error) = decode_create(data, kind) {
            assert_eq!(error.status_code().as_u16(), 400, "{error:?}");
            let _ = error.error_response();
        }
    }
    if let Err(error) = decode_patch(data) {
        assert_eq!(error.status_code().as_u16(), 400, "{error:?}");
        let _ = error.error_response();
    }
});

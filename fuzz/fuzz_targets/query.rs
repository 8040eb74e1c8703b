//! A list request's whole query string (page, pageSize/size, orderBy, order, search, and the
//! event list's filters): parsed into valid parameters and a bound statement, or a 400.
#![no_main]

use actix_web::ResponseError;
use hyperfleet::api::params::QueryParams;
use hyperfleet::api::params::ListParams;
use hyperfleet::search::ResourceKind;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let query = QueryParams::parse(text);
    for kind in [ResourceKind::Cluster, ResourceKind::NodePool] {
        match ListParams::parse(&query, kind) {
            Ok(params) => {
                assert!(params.paging.size >= 1 && params.paging.page >= 1);
                common::check_statement(
                    kind,
                    params.filter.as_ref(),
                    &params.ordering,
                    params.paging.size,
                    params.paging.offset(),
                );
            }
            Err(error) => assert_eq!(error.status_code().as_u16(), 400, "{error:?}"),
        }
    }
    if let Err(error) = hyperfleet::api::events::parse_filter(&query) {
        assert_eq!(error.status_code().as_u16(), 400, "{error:?}");
    }
});

//! Adapter status reports: decoded, or refused with a 400 whose body renders.
#![no_main]

use actix_web::ResponseError;
use hyperfleet::api::decode::statuses::decode_report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(error) = decode_report(data) {
        assert_eq!(error.status_code().as_u16(), 400, "{error:?}");
        let _ = error.error_response();
    }
});

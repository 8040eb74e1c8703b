//! Strict decoders of request bodies: JSON in, a validated input of `model::inputs` out, or the
//! 400 that lists every problem. The schema-only request types they mirror are in `views.rs`.

pub mod resources;
pub mod statuses;

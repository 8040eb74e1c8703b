//! Strict decoders of request bodies: JSON in, a validated input of `model::inputs` out, or the
//! 400 that lists every problem. The schema-only request types they mirror are in `views.rs`.

pub mod resources;
pub mod statuses;

/// The member names of a request schema, and of a decoder's list of accepted members, for the
/// tests that hold the two equal.
#[cfg(test)]
mod schema_members {
    use std::collections::BTreeSet;

    pub fn of_schema<T: utoipa::PartialSchema>() -> BTreeSet<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["properties"].as_object().unwrap().keys().cloned().collect()
    }

    pub fn of_list(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }
}

//! Domain facts shared by every layer, below all of them: the resource kinds, validated inputs,
//! the resource a request path names, the event vocabulary, and how hrefs and times are
//! rendered. Nothing here knows HTTP, SQL or the replica's runtime.

pub mod event;
pub mod format;
pub mod inputs;
pub mod kind;
pub mod path;

//! Builders for test data, created through the API like a client would.

//! Builders for test data, created through the API like a client would.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use crate::helpers::{Answer, TestApp};

static COUNTER: AtomicUsize = AtomicUsize::new(1);

/// A name no other factory call in this process has produced.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub struct ClusterFactory {
    name: String,
    spec: Value,
    labels: Option<Value>,
}

impl ClusterFactory {
    pub fn new() -> Self {
        ClusterFactory { name: unique_name("cluster"), spec: json!({"region": "us-east-1"}), labels: None }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    pub fn spec(mut self, spec: Value) -> Self {
        self.spec = spec;
        self
    }

    pub fn labels(mut self, labels: Value) -> Self {
        self.labels = Some(labels);
        self
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"kind": "Cluster", "name": self.name, "spec": self.spec});
        if let Some(labels) = &self.labels {
            body["labels"] = labels.clone();
        }
        body
    }

    /// Creates the cluster and returns the 201 body.
    pub async fn create(self, app: &TestApp) -> Value {
        let answer = Answer::of(app.post("/api/hyperfleet/v1/clusters", &self.body().to_string()).await).await;
        assert_eq!(answer.status, 201, "creating a cluster: {}", answer.text);
        answer.body
    }
}

pub struct NodePoolFactory {
    cluster_id: String,
    name: String,
    spec: Value,
    labels: Option<Value>,
}

impl NodePoolFactory {
    pub fn new(cluster_id: &str) -> Self {
        NodePoolFactory {
            cluster_id: cluster_id.to_owned(),
            name: unique_name("pool"),
            spec: json!({"replicas": 3}),
            labels: None,
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    pub fn labels(mut self, labels: Value) -> Self {
        self.labels = Some(labels);
        self
    }

    pub fn path(&self) -> String {
        format!("/api/hyperfleet/v1/clusters/{}/nodepools", self.cluster_id)
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"kind": "NodePool", "name": self.name, "spec": self.spec});
        if let Some(labels) = &self.labels {
            body["labels"] = labels.clone();
        }
        body
    }

    /// Creates the node pool and returns the 201 body.
    pub async fn create(self, app: &TestApp) -> Value {
        let answer = Answer::of(app.post(&self.path(), &self.body().to_string()).await).await;
        assert_eq!(answer.status, 201, "creating a node pool: {}", answer.text);
        answer.body
    }
}

/// A status report: `adapter` reporting `Available=<status>` at `generation`.
pub struct ReportFactory {
    adapter: String,
    generation: i64,
    conditions: Vec<Value>,
}

impl ReportFactory {
    pub fn new(adapter: &str, generation: i64) -> Self {
        ReportFactory { adapter: adapter.to_owned(), generation, conditions: Vec::new() }
    }

    /// Adds an `Available` condition with this status (`True`, `False`, `Unknown`).
    pub fn available(self, status: &str) -> Self {
        self.condition(json!({"type": "Available", "status": status}))
    }

    pub fn condition(mut self, condition: Value) -> Self {
        self.conditions.push(condition);
        self
    }

    pub fn body(&self) -> Value {
        json!({"adapter": self.adapter, "observed_generation": self.generation, "conditions": self.conditions})
    }

    /// Posts the report to `resource_href` (a cluster or node-pool href) and returns the answer.
    pub async fn post(&self, app: &TestApp, resource_href: &str) -> Answer {
        Answer::of(app.post(&format!("{resource_href}/statuses"), &self.body().to_string()).await).await
    }
}
